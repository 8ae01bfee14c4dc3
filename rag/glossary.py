"""Glossary: zone names, organisations and policy terms in every language, read from
``rag/data/glossary.tsv`` (staff can edit it: one line per term, one column per language,
spellings separated by `` ; ``, the preferred one first).

The question rewrite names terms in English with it (``to_english``), the relevance check
counts a Chinese or Korean term by its English name, the prompt and the translation check ask
for the glossary's spelling in the target language (``terms_in``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True, eq=False)  # one object per line of the file: compared and hashed by identity
class Term:
    kind: str  # "zone" (a zone or place), "name" (an organisation) or "term" (a policy term)
    forms: dict[str, tuple[str, ...]]  # language -> spellings, the preferred one first

    def preferred(self, lang: str) -> str:
        return self.forms[lang][0]


GLOSSARY_FILE = Path(__file__).with_name("data") / "glossary.tsv"


def _read_glossary(path: Path) -> tuple[Term, ...]:
    rows = [
        line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")
    ]
    header, body = rows[0], rows[1:]
    langs = header[1:]
    terms = []
    for row in body:
        cells = zip(langs, row[1:], strict=False)  # a row may leave its last languages empty
        forms = {lang: tuple(v.strip() for v in cell.split(" ; ") if v.strip()) for lang, cell in cells}
        terms.append(Term(row[0].strip(), {k: v for k, v in forms.items() if v}))
    return tuple(terms)


GLOSSARY: tuple[Term, ...] = _read_glossary(GLOSSARY_FILE)
# which glossary a translation was made under: a changed term spelling means translating again
VERSION = hashlib.sha256(GLOSSARY_FILE.read_bytes()).hexdigest()[:12]


def terms_in(text: str, lang: str) -> list[Term]:
    """Glossary terms whose ``lang`` spelling occurs in ``text``, longest spelling first, each
    occurrence counted once (a longer term hides the shorter ones inside it)."""
    found: list[Term] = []
    rest = text.lower() if lang == "en" else text
    spellings = sorted(
        ((form, term) for term in GLOSSARY for form in term.forms.get(lang, ())), key=lambda ft: -len(ft[0])
    )
    for form, term in spellings:
        key = form.lower() if lang == "en" else form
        if key and key in rest:
            if term not in found:
                found.append(term)
            rest = rest.replace(key, " ")
    return found


def to_english(text: str) -> str:
    """Chinese and Korean glossary spellings in ``text`` replaced by their English ones."""
    for lang in ("zh", "ko"):
        spellings = sorted(((f, t) for t in GLOSSARY for f in t.forms.get(lang, ())), key=lambda ft: -len(ft[0]))
        for form, term in spellings:
            if form in text and "en" in term.forms:
                text = text.replace(form, f" {term.preferred('en')} ")
    return " ".join(text.split())


def occurrences(text: str, lang: str) -> dict[Term, int]:
    """How often each glossary term's ``lang`` spellings occur in ``text``, longest spelling first,
    each occurrence counted once (a longer term hides the shorter ones inside it)."""
    counts: dict[Term, int] = {}
    rest = text.lower() if lang == "en" else text
    for form, term in _spellings(lang):
        key = form.lower() if lang == "en" else form
        n = rest.count(key) if key else 0
        if n:
            counts[term] = counts.get(term, 0) + n
            rest = rest.replace(key, " ")
    return counts


def _contains(outer: Term, inner: Term, lang: str) -> bool:
    """Whether a spelling of ``inner`` is part of a longer spelling of ``outer`` ("Jingyue" in
    "Jingyue High-tech Zone"): a mention of ``inner`` on its own may mean ``outer``."""
    return outer is not inner and any(
        i.lower() in o.lower() and len(i) < len(o) for i in inner.forms.get(lang, ()) for o in outer.forms.get(lang, ())
    )


def subject_of(title: str, text: str, lang: str) -> tuple[str, ...]:
    """What a document is about, in its own language's preferred spellings: the zone it mentions
    most (a short mention such as "Jingyue" or "the demonstration zone" counts for the zones whose
    full names contain it), then the organisations its title names. Every passage of the document
    carries this, so a fact in the middle of an article is known to be about its zone."""
    counts = occurrences(f"{title}\n{text}", lang)
    zones = [t for t in GLOSSARY if t.kind == "zone" and lang in t.forms]
    specific = [z for z in zones if not any(_contains(other, z, lang) for other in zones)]
    score = {z: counts.get(z, 0) + sum(n for t, n in counts.items() if _contains(z, t, lang)) for z in specific}
    out = []
    if score and max(score.values()) > 0:
        out.append(max(score, key=lambda z: (score[z], counts.get(z, 0))).preferred(lang))
    named = occurrences(title, lang)
    out += [t.preferred(lang) for t in GLOSSARY if t.kind == "name" and t in named and not _contained(t, named, lang)]
    return tuple(dict.fromkeys(out))


def named_in(name: str, text: str) -> bool:
    """Whether ``text`` names ``name`` in any spelling the glossary gives it (or as written)."""
    low = text.lower()
    forms = next((f for t in GLOSSARY for f in t.forms.values() if name in f), (name,))
    return any(f.lower() in low for f in forms)


def _contained(term: Term, found: dict[Term, int], lang: str) -> bool:
    return any(_contains(other, term, lang) for other in found)


@cache
def _spellings(lang: str) -> tuple[tuple[str, Term], ...]:
    return tuple(sorted(((f, t) for t in GLOSSARY for f in t.forms.get(lang, ())), key=lambda ft: -len(ft[0])))


def respell(text: str, available: str, lang: str = "en") -> str:
    """``text`` with each glossary spelling that ``available`` lacks replaced by a spelling of the
    same term that ``available`` has ("Chinese-ROK Demonstration Zone" -> "China-ROK International
    Cooperation Demonstration Zone", "3D printing" -> "additive printing"): an answer names things
    as the cited documents do, so its names can be checked against them."""
    have = available.lower() if lang == "en" else available
    for form, term in _spellings(lang):
        key = form.lower() if lang == "en" else form
        where = text.lower() if lang == "en" else text
        if not key or key not in where or key in have:
            continue
        there = next((f for f in term.forms.get(lang, ()) if (f.lower() if lang == "en" else f) in have), None)
        if there is None:
            continue
        start = where.index(key)
        text = text[:start] + there + text[start + len(form) :]
    return text


def synonyms(text: str, lang: str) -> tuple[str, list[tuple[str, ...]]]:
    """``text`` without the glossary spellings it contains, and for each one found the term's
    spellings in ``lang`` (longest first, each occurrence once): "electric cars" -> every spelling
    of "new energy vehicles", so a passage saying it either way covers the question's words."""
    rest = text.lower() if lang == "en" else text
    found: list[tuple[str, ...]] = []
    for form, term in _spellings(lang):
        key = form.lower() if lang == "en" else form
        if key and key in rest:
            found.append(term.forms[lang])
            rest = rest.replace(key, " ")
    return rest, found


def expand(text: str, lang: str) -> str:
    """``text`` with the preferred spelling of each glossary term it names another way appended
    (for keyword search: "electric cars" also finds "new energy vehicles")."""
    _, found = synonyms(text, lang)
    low = text.lower() if lang == "en" else text
    extra = [forms[0] for forms in found if (forms[0].lower() if lang == "en" else forms[0]) not in low]
    return " ".join([text, *extra]) if extra else text
