"""Glossary: zone names, organisations and policy terms in every language, read from
``rag/data/glossary.tsv`` (staff can edit it: one line per term, one column per language,
spellings separated by `` ; ``, the preferred one first).

The question rewrite names terms in English with it (``to_english``), the relevance check
counts a Chinese or Korean term by its English name, the prompt and the translation check ask
for the glossary's spelling in the target language (``terms_in``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Term:
    kind: str  # "zone" (a zone or place), "name" (an organisation) or "term" (a policy term)
    forms: dict[str, tuple[str, ...]]  # language -> spellings, the preferred one first

    def preferred(self, lang: str) -> str:
        return self.forms[lang][0]


GLOSSARY_FILE = Path(__file__).parent.parent / "data" / "glossary.tsv"


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
