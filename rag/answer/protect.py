"""Protected translation: what must not change is taken out of the model's hands.

Before a verified sentence is translated, each part that must be copied rather than translated is
swapped for a numbered placeholder:
  * a glossary term (a zone, an organisation, a policy term), put back in its target-language
    spelling from the glossary (``rag.glossary``);
  * a date, put back written the target language's way ("May 18th" -> 5月18日 / 5월 18일);
  * a number, with its percent sign (put back as written);
  * a name in Latin letters the glossary does not know (put back letter for letter).
The citation markers are taken off and put back at the sentence's end. The model translates the
sentence with its placeholders and is told to keep them; ``restore`` then puts back the exact
parts. A placeholder lost or written twice fails the sentence (``restore`` says which), and the
caller retries once with another prompt before falling back. The usual check of the translation
(``translation.check``) then runs on the restored sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..glossary import GLOSSARY
from ..text import MONTH_NAMES, MONTHS
from .grounding import CITATION, cited_numbers, claims

PLACEHOLDER = "[T{}]"  # the format the model kept best (eval/README.md, issue 18)
_PLACEHOLDER = re.compile(r"\[T(\d+)\]")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:[.,]\d+)*(?:\s?%)?(?![A-Za-z0-9_])")
_DATE = re.compile(
    rf"\b(?:(?P<m1>{MONTH_NAMES})\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y1>\d{{4}}))?"
    rf"|(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m2>{MONTH_NAMES})(?:,?\s+(?P<y2>\d{{4}}))?"
    r"|(?P<y3>\d{4})-(?P<m3>\d{2})-(?P<d3>\d{2}))\b",
    re.I,
)
# how a date is written in each language, from (year or None, month, day)
_DATE_FORMS = {
    "zh": lambda y, m, d: (f"{y}年" if y else "") + f"{m}月{d}日",
    "ko": lambda y, m, d: (f"{y}년 " if y else "") + f"{m}월 {d}일",
    "en": lambda y, m, d: f"{MONTHS[m - 1].capitalize()} {d}" + (f", {y}" if y else ""),
}


# words of a name a translation renders rather than keeps (titles, months, generic words)
_RENDERED = frozenset(
    """
    director deputy general manager president professor dr mr ms mrs chairman secretary mayor chief head
    municipal provincial city province national international department office bureau affairs overseas foreign
    zone district area center centre university company co ltd
    """.split()
) | frozenset(MONTHS)


_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)")


def latin_names(text: str) -> list[str]:
    """The Latin-script names of a sentence, each reduced to the runs of words a translation must
    keep letter for letter: titles, months, generic words and the small words between names are
    translated ("Director Xue Chunzhi and Deputy Director Ou Shuo" -> "Xue Chunzhi", "Ou Shuo").
    A single capitalised word opening the sentence is no name ("Enterprises and institutions
    ...", "Support ..."): a one-word name the documents use is in the glossary, which has its
    spelling in every language."""
    body = CITATION.sub("", text)
    first = re.match(r"^\W*([A-Za-z][\w-]*)", body)
    opening = first.group(1).lower() if first else ""
    out = []
    for c in claims(body):
        if not (any(ch.isalpha() for ch in c) and c.isascii()) or (c == opening and not first.group(1).isupper()):
            continue
        run: list[str] = []
        for w in [*re.split(r"[\s()]+", c), ""]:
            if w and w not in _RENDERED and w not in _CONNECTORS and not _ORDINAL.fullmatch(w):
                run.append(w)
            elif run:
                out.append(" ".join(run))
                run = []
    return list(dict.fromkeys(out))


_CONNECTORS = frozenset("of and for the de".split())


# Chinese numerals that are numbers (五十万, 四个, 百分之三十), not words that hold one (一次性, 一些)
_CN_NUMBER = re.compile(
    r"百分之[零〇一二两三四五六七八九十百千]+|[零〇一二两三四五六七八九十百千万亿]{2,}"
    r"|[一二两三四五六七八九十](?=[个家名所项座年月日天元种类])"
)


def arabic(text: str) -> str:
    """Chinese numerals written as digits ("五十万元" -> "500000元", "百分之三十" -> "30%") via cn2an."""
    import cn2an

    def convert(m: re.Match) -> str:
        try:
            return cn2an.transform(m.group(), "cn2an")
        except (ValueError, KeyError):
            return m.group()

    return _CN_NUMBER.sub(convert, text)


@dataclass
class Protected:
    text: str  # the sentence with placeholders, without its markers
    parts: dict[str, str] = field(default_factory=dict)  # placeholder -> what goes back, in the target language
    markers: str = ""  # the sentence's citation markers, put back at its end
    sources: dict[str, str] = field(default_factory=dict)  # placeholder -> the words it stands for

    def without(self, tokens: list[str]) -> tuple[Protected, dict[str, str]]:
        """The sentence with ``tokens`` (lost once) written out again, and what they should become
        ({source words: target words}, a glossary hint for the model): a term the model dropped
        as a placeholder it may keep as words."""
        text, hint = self.text, {}
        for token in tokens:
            text = text.replace(token, self.sources[token])
            hint[self.sources[token]] = self.parts[token]
        kept = {t: v for t, v in self.parts.items() if t not in tokens}
        return Protected(text, kept, self.markers, {t: self.sources[t] for t in kept}), hint

    def restore(self, translated: str) -> tuple[str, str]:
        """The translation with every part put back, and why it cannot be used ("" when it can):
        a placeholder the model lost, wrote more often than the sentence has it, or made up."""
        found = _PLACEHOLDER.findall(translated)
        lost = [p for p in self.parts if translated.count(p) == 0]
        twice = [p for p in self.parts if translated.count(p) > self.text.count(p)]
        made_up = [PLACEHOLDER.format(n) for n in found if PLACEHOLDER.format(n) not in self.parts]
        if lost or twice or made_up:
            what = "lost" if lost else ("written twice" if twice else "made up")
            return translated, f"placeholder {what}: {', '.join(lost or twice or made_up)}"
        out = _PLACEHOLDER.sub(lambda m: self.parts[m.group()], translated)
        return _with_markers(out.strip(), self.markers), ""


def protect(sentence: str, source_lang: str, target: str) -> Protected:
    """``sentence`` with its glossary terms, dates, numbers and Latin names swapped for placeholders."""
    markers = "".join(f"[{n}]" for n in cited_numbers(sentence))
    text = CITATION.sub("", sentence).strip()
    if source_lang == "zh":
        text = arabic(text)  # 五十万元 -> 500000元: the number is copied, not translated
    spans: list[tuple[int, int, str]] = []  # (start, end, what goes back), no two overlapping

    def take(start: int, end: int, back: str) -> None:
        if end > start and not any(s < end and start < e for s, e, _ in spans):
            spans.append((start, end, back))

    for form, target_form in _glossary(source_lang, target):  # longest spelling first
        for m in re.finditer(re.escape(form), text, re.I if source_lang == "en" else 0):
            take(m.start(), m.end(), target_form)
    for m in _DATE.finditer(text):
        take(m.start(), m.end(), _date(m, target))
    for m in _NUMBER.finditer(text):
        take(m.start(), m.end(), m.group())
    for name in latin_names(text):
        for m in re.finditer(re.escape(name), text, re.I):
            take(m.start(), m.end(), m.group())
    # one placeholder per distinct part, numbered in reading order ("vocational ... vocational": one)
    tokens: dict[str, str] = {}
    sources: dict[str, str] = {}
    for start, end, back in sorted(spans):
        token = tokens.setdefault(back, PLACEHOLDER.format(len(tokens) + 1))
        sources.setdefault(token, text[start:end])
    out = text
    for start, end, back in sorted(spans, reverse=True):
        out = out[:start] + tokens[back] + out[end:]
    return Protected(out, {token: back for back, token in tokens.items()}, markers, sources)


def _glossary(source_lang: str, target: str) -> list[tuple[str, str]]:
    pairs = [
        (form, term.preferred(target))
        for term in GLOSSARY
        if target in term.forms
        for form in term.forms.get(source_lang, ())
    ]
    return sorted(pairs, key=lambda p: -len(p[0]))


def _date(m: re.Match, target: str) -> str:
    if m.group("y3"):
        year, month, day = int(m.group("y3")), int(m.group("m3")), int(m.group("d3"))
    else:
        month_name = (m.group("m1") or m.group("m2")).lower()
        year = m.group("y1") or m.group("y2")
        year, month, day = (
            int(year) if year else None,
            MONTHS.index(month_name) + 1,
            int(m.group("d1") or m.group("d2")),
        )
    return _DATE_FORMS.get(target, _DATE_FORMS["en"])(year, month, day)


def _with_markers(text: str, markers: str) -> str:
    """``text`` with ``markers`` before its final punctuation."""
    if not markers:
        return text
    m = re.search(r"[.!?。！？]+[”\"]?$", text)
    end = m.start() if m else len(text)
    head = text[:end].rstrip()
    space = " " if head and head[-1].isascii() else ""
    return f"{head}{space}{markers}{text[end:]}"
