"""Text utilities shared by chunking, retrieval and grounding: language detection,
sentence spans and keyword tokens (Chinese and Korean aware)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pysbd

HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_LATIN = re.compile(r"[A-Za-z]")
_CJK_RUN = re.compile(f"(?:{HAN.pattern}|{HANGUL.pattern})+")
# month names, the one list: dates are read in any spelling by the grounding check, the intent
# reader and the translation check
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")  # fmt: skip
MONTH_NAMES = "|".join(MONTHS)  # as a regular-expression alternation


def detect_language(text: str) -> str:
    """'zh', 'ko' or 'en' by script: enough to pick the answer language and tokenisers."""
    han, hangul, latin = len(HAN.findall(text)), len(HANGUL.findall(text)), len(_LATIN.findall(text))
    # a Hangul syllable carries about as much as a short word's letters; an English answer with a
    # Korean note is English, a Korean question naming IGBT modules is Korean
    if hangul and hangul >= han and hangul * 3 >= latin:
        return "ko"
    if han and han * 3 >= latin:  # one Han character carries about as much as a short word
        return "zh"
    return "en"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


@lru_cache(maxsize=4)
def _segmenter(lang: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=lang, clean=False, char_span=True)


def split_sentences(text: str) -> list[Span]:
    """Sentence spans with character offsets into ``text`` (pysbd; whitespace trimmed).

    Paragraph breaks always end a sentence, so a heading never merges with the next line.
    """
    spans: list[Span] = []
    for para in re.finditer(r"[^\n]+", text):
        block = para.group()
        if not block.strip():
            continue
        lang = "zh" if detect_language(block) == "zh" else "en"  # pysbd has no Korean; its rules fit
        for piece in _segmenter(lang).segment(block):
            raw = piece.sent
            lead = len(raw) - len(raw.lstrip())
            body = raw.strip()
            if body:
                start = para.start() + piece.start + lead
                spans.append(Span(start, start + len(body), body))
    return spans


_WORD = re.compile(r"[A-Za-z0-9]+(?:[.'%-][A-Za-z0-9]+)*%?|[\uac00-\ud7af]+|[\u4e00-\u9fff\u3400-\u4dbf]+")
_STOP = frozenset(
    "a an and are as at be by for from has have in is it its of on or that the this to was were will with "
    "what which who whom how does do did can could should would shall may might there their they them".split()
)


def keyword_tokens(text: str) -> list[str]:
    """Tokens for BM25: lower-cased English words without stop words, Han runs as character
    bigrams (plus single characters for one-character runs), Hangul words as character bigrams.

    Character bigrams are the standard tokenisation for Chinese retrieval without a dictionary;
    Korean gets the same because its particles glue onto words ("반도체는").
    """
    out: list[str] = []
    for m in _WORD.finditer(text.lower()):
        tok = m.group()
        if HAN.match(tok) or HANGUL.match(tok):
            if len(tok) == 1:
                out.append(tok)
            else:
                out.extend(tok[i : i + 2] for i in range(len(tok) - 1))
        elif tok not in _STOP:
            out.append(tok)
    return out


# invisible characters that carry no meaning in a question but count as characters and tokens:
# format characters (zero-width, bidi controls, tags), variation selectors, private use, unassigned
_VARIATION = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")


def clean_text(text: str) -> str:
    """Text as typed, without control, format, private-use and unassigned characters or
    variation selectors; whitespace runs collapsed to one space. A question padded with
    hundreds of invisible characters becomes the question itself."""
    import unicodedata

    text = _VARIATION.sub("", text or "")
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cc":
            kept.append(" ")  # line breaks and tabs separate words
        elif category not in ("Cf", "Co", "Cn", "Cs"):
            kept.append(ch)
    return " ".join("".join(kept).split())


def drop_cjk(text: str) -> str:
    """The text without its Chinese and Korean characters, whitespace collapsed."""
    return " ".join(_CJK_RUN.sub(" ", text).split())


def join_sentences(sentences: list[str]) -> str:
    """Sentences joined as their language writes them (no space after a Chinese full stop)."""
    out = ""
    for s in sentences:
        out += s if not out or out.endswith(("。", "！", "？")) else " " + s
    return out
