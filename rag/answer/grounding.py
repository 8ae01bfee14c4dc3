"""Grounding: checking a generated answer against the passages it was given.

Run on every answer sentence before an investor sees it:
- citation markers ``[n]`` must name a passage that was given; others are dropped;
- every checkable claim in the sentence (numbers, percentages, money amounts, years and
  dates, Latin-script proper names and acronyms) must appear in the passages the sentence
  cites, allowing for formatting ("30%" = "30 percent", "10,000" = "10000");
- a sentence without a citation is attributed to the one passage that supports all of its
  claims and most of its words, or dropped;
- a sentence whose claims no given passage supports is dropped, and so is one that only
  restates the question ("The phone number of the bureau is [1].").
If nothing supported is left, the caller abstains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..text import MONTH_NAMES, MONTHS, detect_language, keyword_tokens, split_sentences
from .languages import LANGUAGES

CITATION = re.compile(r"\s*\[(\d+(?:\s*[,，、]\s*\d+)*)\]")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s*(%|percent\b|per cent\b|％)?", re.I)
# capitalised words that start no proper name on their own
_COMMON_CAPS = frozenset(
    "The A An This That These Those It Its In On At For From With By Of And Or But If When While As To Is Are "
    "Was Were Be Yes No Not There They Their He She We You Your Our I Also However According Based Sources "
    "Source Passage Passages Document Documents Answer Note Please Here Other More Some All Each Both "
    # question words: a query translated for the search is checked like an answer sentence
    "What Which Who Whom Whose Where Why How Does Do Did Can Could Will Would Should Has Have".split()
)
_NAME = re.compile(
    r"\b(?:[A-Z][a-zA-Z&'-]*|[A-Z0-9]{2,}[a-zA-Z0-9+-]*)(?:[ -](?:[A-Z][a-zA-Z&'-]*|of|and|for|the|de))*"
)
_REFUSAL = re.compile("|".join(f"(?:{lang.refusal})" for lang in LANGUAGES.values() if lang.refusal), re.I)


# an affirmative restatement with a citation answers a yes/no question; a "no" restating the
# question is more often the documents' silence read as a denial, so it gets no such pass
_YES = re.compile(r"^(?:yes\b|是的|是|네|예)", re.I)


_MONTHS = {m: i for i, m in enumerate(MONTHS, start=1)}
_MONTH = f"({MONTH_NAMES})"
_DATES = (
    (
        re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I),
        lambda m: (m[3], _MONTHS[m[1].lower()], m[2]),
    ),
    (
        re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH},?\s+(\d{{4}})\b", re.I),
        lambda m: (m[3], _MONTHS[m[2].lower()], m[1]),
    ),
    (re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"), lambda m: (m[1], m[2], m[3])),
    (re.compile(r"(\d{4})\s*년\s*(\d{1,2})\s*월\s*(\d{1,2})\s*일"), lambda m: (m[1], m[2], m[3])),
    (re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b"), lambda m: (m[1], m[2], m[3])),
)


def iso_dates(text: str) -> str:
    """Full dates in any common spelling become ISO (``July 2, 2020`` -> ``2020-07-02``)."""
    for pattern, parts in _DATES:
        text = pattern.sub(lambda m, parts=parts: "{}-{:02d}-{:02d}".format(*(int(x) for x in parts(m))), text)
    return text


def normalise(text: str) -> str:
    """Lower-case text with dates in ISO form, thousands separators dropped and percent
    spellings unified."""
    t = iso_dates(text.lower()).replace("％", "%")
    t = re.sub(r"(?<=\d),(?=\d{3}\b)", "", t)
    t = re.sub(r"(?<=\d)\s*(?:percent|per cent)\b", "%", t)
    t = re.sub(r"(?<=\d)\s+%", "%", t)
    return t


def claims(sentence: str) -> list[str]:
    """The checkable facts of a sentence, normalised: numbers (with % when given) and names."""
    body = CITATION.sub("", sentence)
    body = re.sub(r"^\s*(?:\d{1,2}[.)、]|[-*•])\s+", "", body)  # a list item's number is no claim
    found: list[str] = []
    # whole dates first, as one ISO claim each, so "July 2, 2020" matches "2020-07-02"
    body = iso_dates(body)
    for m in re.finditer(r"\b\d{4}-\d{2}-\d{2}\b", body):
        found.append(m.group())
    body = re.sub(r"\b\d{4}-\d{2}-\d{2}\b", " ", body)
    for m in _NUMBER.finditer(body):
        whole = m.group(1).replace(",", "")
        number = whole + (f".{m.group(2)}" if m.group(2) else "")
        found.append(number + ("%" if m.group(3) else ""))
    for m in _NAME.finditer(body):
        words = m.group().split()
        while words and (words[0] in _COMMON_CAPS or words[0].lower() in ("of", "and", "for", "the", "de")):
            words.pop(0)
        while words and words[-1].lower() in ("of", "and", "for", "the", "de"):
            words.pop()
        name = re.sub(r"['’]s$", "", " ".join(words))
        if name and not name.isdigit() and not _NUMBER.fullmatch(name):
            found.append(name.lower())
    return found


NEGATION = "<negation>"  # a claim that something is not so: the passage must say so too
NEGATIONS = re.compile(
    r"\b(?:not|no|never|none|without|cannot)\b|n't|没有|不是|不会|不能|不支持|不提供|无法|않|없|아니", re.I
)


def _is_name(claim: str) -> bool:
    return claim != NEGATION and not (
        claim.endswith("%") or claim.replace(".", "").isdigit() or re.fullmatch(r"\d{4}-\d{2}-\d{2}", claim)
    )


def supports(passage: str, claim: str) -> bool:
    if claim == NEGATION:
        return NEGATIONS.search(passage) is not None
    text = normalise(passage)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", claim):
        return claim in text
    if not _is_name(claim):
        return re.search(rf"(?<![\d.]){re.escape(claim)}(?![\d]|\.\d)", text) is not None
    return claim in text or all(part in text for part in claim.split())


def cited_numbers(sentence: str) -> list[int]:
    out: list[int] = []
    for m in CITATION.finditer(sentence):
        out.extend(int(n) for n in re.split(r"\s*[,，、]\s*", m.group(1)))
    return out


def is_refusal(text: str) -> bool:
    return bool(_REFUSAL.search(text))


@dataclass
class CheckedSentence:
    text: str  # the sentence as shown, with its (corrected) citation markers
    citations: list[int]
    kept: bool
    reason: str = ""
    # how its citation came about: "model" (as the model cited), "placed" (the model cited nothing),
    # "corrected" (the model cited another passage)
    placement: str = ""
    restates: bool = False  # a yes restating the question: the passage alone must hold its focus


@dataclass
class GroundingResult:
    sentences: list[CheckedSentence] = field(default_factory=list)

    @property
    def kept(self) -> list[CheckedSentence]:
        return [s for s in self.sentences if s.kept]

    @property
    def removed(self) -> list[CheckedSentence]:
        return [s for s in self.sentences if not s.kept]

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.kept)

    @property
    def citations(self) -> list[int]:
        seen: list[int] = []
        for s in self.kept:
            seen.extend(n for n in s.citations if n not in seen)
        return seen


def _overlap(sentence: str, passage: str, same_language: bool) -> float | None:
    """Share of the sentence's keywords found in the passage; None when the two are in
    different scripts (a Korean answer over an English passage) and share no Latin words."""
    words = set(keyword_tokens(normalise(sentence)))
    if not same_language:
        words = {w for w in words if w.isascii()}
    if not words:
        return None
    return len(words & set(keyword_tokens(normalise(passage)))) / len(words)


@dataclass(frozen=True)
class Attribution:
    """How sentences are matched to passages (``check_sentence``). A passage may carry a sentence
    when it holds every figure and name of it; among those the best support wins: the share of the
    sentence's words found in the passage (``tokens``) plus ``meaning_weight`` times the closest
    passage sentence's meaning similarity (when the caller measured it), plus ``hint`` for a
    passage the model cited. Enough support: ``min_cited_overlap`` of the words in a cited passage,
    ``min_overlap`` in another, or a meaning similarity of ``min_meaning``."""

    min_overlap: float = 0.5
    min_cited_overlap: float = 0.3
    meaning_weight: float = 0.5
    min_meaning: float = 0.6  # measured with `python -m eval replay`: 0.45 to 0.6 the same, 0.7 and 0.8 refuse more
    hint: float = 0.1
    # a sentence whose words a passage of another document supports this much better than the
    # passage holding its names mixes two documents' subjects (one zone's fact under another's name)
    mixed_margin: float = 0.25


ATTRIBUTION = Attribution()


def check_sentence(
    sentence: str,
    passages: list[str],
    question: str = "",
    langs: list[str] | None = None,
    meaning: list[float] | None = None,
    docs: list[str] | None = None,
    rules: Attribution = ATTRIBUTION,
) -> CheckedSentence:
    """Keep and attribute, or drop, one answer sentence (see module docstring).

    Every claim needs support in the passages the sentence is attributed to, names the question
    states too: the investor reads the cited passage (with its document's title, subject,
    publisher and date), so "the Chinese government supports ..." needs "Chinese" there. The
    model's markers are a hint: the passage with the best support wins (``Attribution``).
    ``langs``: each passage's language; ``meaning``: the sentence's meaning similarity to each
    passage; ``docs``: each passage's document (a sentence whose words come from one document and
    whose names from another is dropped).
    """
    body = CITATION.sub("", sentence).strip()
    if not body or re.fullmatch(r"[\W_]+", body):
        return CheckedSentence(sentence, [], False, "empty")
    given = [n for n in dict.fromkeys(cited_numbers(sentence)) if 1 <= n <= len(passages)]
    facts = claims(body)
    if NEGATIONS.search(body):
        facts.append(NEGATION)
    if is_refusal(body):
        return CheckedSentence(body, [], False, "refusal")
    # a sentence adding nothing to the question is no answer, unless it is a yes (its passage must
    # then hold what the question asks about: the caller checks that on the passage alone)
    restates = bool(question) and len(set(keyword_tokens(body)) - set(keyword_tokens(question))) < 2
    if restates and not _YES.match(body):
        return CheckedSentence(body, [], False, "restates the question")
    lang = detect_language(body)
    langs = langs or [detect_language(p) for p in passages]
    tokens = [_overlap(body, p, lang == langs[i]) for i, p in enumerate(passages)]
    meaning = meaning or [0.0] * len(passages)
    support = [(t or 0.0) + rules.meaning_weight * m for t, m in zip(tokens, meaning, strict=True)]
    holds = [all(supports(p, f) for f in facts) for p in passages]

    def enough(i: int) -> bool:
        cited = i + 1 in given
        if tokens[i] is None:  # another script and no shared Latin word: only the model's own citation
            return cited
        return tokens[i] >= (rules.min_cited_overlap if cited else rules.min_overlap) or meaning[i] >= rules.min_meaning

    eligible = [i for i in range(len(passages)) if holds[i] and enough(i)]
    if eligible:
        best = max(eligible, key=lambda i: (support[i] + (rules.hint if i + 1 in given else 0.0), -i))
        if docs and _mixed(best, support, docs, rules.mixed_margin):
            return CheckedSentence(body, [best + 1], False, "its subject and its fact come from different documents")
        cited = [best + 1]
        how = "model" if given == cited else ("corrected" if given else "placed")
        return CheckedSentence(
            _with_citations(body, cited), cited, True, "" if how == "model" else "re-attributed", how, restates
        )
    # several cited passages that hold the claims together (a sentence joining two passages)
    if len(given) > 1:
        cited_text = " ".join(passages[n - 1] for n in given)
        overlap = _overlap(body, cited_text, lang == detect_language(cited_text))
        if all(supports(cited_text, f) for f in facts) and (overlap is None or overlap >= rules.min_cited_overlap):
            return CheckedSentence(_with_citations(body, given), given, True, "", "model", restates)
    missing = [f for f in facts if not any(supports(p, f) for p in passages)]
    reason = f"unsupported: {', '.join(missing)}" if missing else "no passage supports it"
    return CheckedSentence(body, given, False, reason)


def _mixed(best: int, support: list[float], docs: list[str], margin: float) -> bool:
    """Whether a passage of another document supports the sentence's words far better than the
    passage that holds its names and figures."""
    others = [i for i in range(len(support)) if docs[i] != docs[best]]
    return bool(others) and max(support[i] for i in others) > support[best] + margin


def _with_citations(body: str, numbers: list[int]) -> str:
    """``body`` with ``[n]`` markers placed before its final punctuation."""
    marks = "".join(f"[{n}]" for n in numbers)
    m = re.search(r"[.!?。！？]+$", body)
    end = m.start() if m else len(body)
    head = body[:end].rstrip()
    space = " " if head and head[-1].isascii() else ""
    return f"{head}{space}{marks}{body[end:]}"


_MARK_AFTER_STOP = re.compile(r"([.!?。！？])[ \t]*((?:\[\d+(?:\s*[,，、]\s*\d+)*\][ \t]*)+)")


def markers_before_stops(text: str) -> str:
    """ "claim.[1] Next" -> "claim [1]. Next": a marker after a full stop belongs to the sentence before it."""
    return _MARK_AFTER_STOP.sub(lambda m: f" {m.group(2).strip()}{m.group(1)} ", text)


def check_answer(answer: str, passages: list[str], question: str = "") -> GroundingResult:
    """Check every sentence of ``answer`` against ``passages`` (passage n = passages[n-1])."""
    result = GroundingResult()
    langs = [detect_language(p) for p in passages]
    for span in split_sentences(markers_before_stops(answer)):
        result.sentences.append(check_sentence(span.text, passages, question, langs=langs))
    return result
