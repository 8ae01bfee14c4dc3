"""Translation: verified answer sentences into the investor's language, checked, or not at all.

The model answers in the language of the passages (English for the English documents), the
grounding and intent checks run on that answer against the passages, and then each verified
sentence is translated into the question's language by the same language model, with the
glossary's spellings for the terms it contains. A translation is shown only when it keeps:
  * the sentence's ``[n]`` citation markers, in order;
  * its numbers (a date in any spelling; "May" may become 5月/5월) and no number of its own;
  * its Latin-script names, letter for letter (people's names stay in Latin script: a small
    model garbles them in Han or Hangul), unless the glossary gives the name's spelling;
  * every glossary term of the sentence in a spelling the glossary gives;
  * a negation, or its absence;
  * its meaning: the multilingual sentence encoder (USE) puts the two sentences close
    (``min_meaning``, calibrated on hand-made cases: tests/test_translation.py);
  * the target script.
A sentence that fails is shown as written, with a short note in the investor's language, so a
wrong term never reaches the investor as if it were the document's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..generation.base import Generator, GeneratorError, Prompt
from ..glossary import terms_in
from ..text import HAN, HANGUL, MONTH_NAMES, MONTHS, detect_language
from . import prompts
from .grounding import CITATION, NEGATIONS, cited_numbers, claims, iso_dates
from .languages import language

log = logging.getLogger(__name__)

_MONTH_WORD = re.compile(rf"\b({MONTH_NAMES})\b", re.I)


@dataclass
class Translation:
    source: str  # the verified sentence
    text: str  # what is shown: the translation, or the source when it failed the check
    translated: bool
    reason: str = ""  # why the translation was not shown

    def to_json(self) -> dict:
        return {"source": self.source, "text": self.text, "translated": self.translated, "reason": self.reason}


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


def _numbers(text: str) -> list[str]:
    return [c for c in claims(arabic(text)) if not any(ch.isalpha() for ch in c)]


# words of a name a translation renders rather than keeps (titles, months, generic words)
_RENDERED = frozenset(
    """
    director deputy general manager president professor dr mr ms mrs chairman secretary mayor chief head
    municipal provincial city province national international department office bureau affairs overseas foreign
    zone district area center centre university company co ltd
    """.split()
) | frozenset(MONTHS)


_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)")


def _latin_names(text: str) -> list[str]:
    """The Latin-script names of a sentence, each reduced to the words a translation must keep."""
    body = CITATION.sub("", text)
    out = []
    for c in claims(body):
        if any(ch.isalpha() for ch in c) and c.isascii():
            words = [w for w in re.split(r"[\s()]+", c) if w and w not in _RENDERED and not _ORDINAL.fullmatch(w)]
            if words:
                out.append(" ".join(words))
    return out


# scripts a sentence in the target language does not contain (left from the source, untranslated)
_FOREIGN_SCRIPTS = {"en": (HAN, HANGUL), "zh": (HANGUL,), "ko": (HAN,)}
# what the model sometimes writes before the translation itself
_PREAMBLE = re.compile(
    r"^\s*(?:here is |here's )?(?:the )?(?:\w+ )?translation\b[^:：\n]*[:：]\s*|^\s*(?:翻译|译文|번역)\s*[:：]\s*",
    re.I,
)


def check(
    source: str,
    translated: str,
    target: str,
    meaning: Callable[[str, str], float] | None = None,
    min_meaning: float = 0.5,
    source_lang: str | None = None,
) -> str:
    """Why ``translated`` is not a faithful rendering of ``source`` into ``target`` ("" when it is);
    ``source_lang``: the source's language, when the caller has detected it."""
    src_lang = source_lang or detect_language(CITATION.sub("", source))
    if not translated.strip():
        return "empty"
    if detect_language(CITATION.sub("", translated)) != target:
        return f"not in {language(target).name}"
    if any(script.search(CITATION.sub("", translated)) for script in _FOREIGN_SCRIPTS[target]):
        return "text left untranslated"
    if cited_numbers(source) != cited_numbers(translated):
        return "citation markers changed"
    # numbers: the same ones, dates compared in ISO form; a month name may become its number
    want = _numbers(iso_dates(CITATION.sub("", source)))
    have = _numbers(iso_dates(CITATION.sub("", translated)))
    months = {str(MONTHS.index(m.lower()) + 1) for m in _MONTH_WORD.findall(source)}
    missing = [n for n in want if n not in have]
    extra = [n for n in have if n not in want and n not in months]
    if missing or extra:
        return f"numbers changed ({', '.join(missing + extra)})"
    if bool(NEGATIONS.search(CITATION.sub("", source))) != bool(NEGATIONS.search(CITATION.sub("", translated))):
        return "negation added or lost"
    # glossary terms: the glossary's spelling in the target language
    found = set()
    for term in terms_in(source, src_lang):
        forms = term.forms.get(target)
        if not forms:
            continue
        if not any((f.lower() in translated.lower()) if target == "en" else (f in translated) for f in forms):
            return f"term not rendered as the glossary says: {term.preferred(src_lang)} -> {forms[0]}"
        found.update(term.forms.get(src_lang, ()))
    # Latin names not covered by a glossary term stay letter for letter
    low = translated.lower()
    covered = " ".join(found).lower()
    for name in _latin_names(source):
        for part in name.split():
            if part not in covered and part not in low:
                return f"name changed: {name}"
    if meaning is not None:
        score = meaning(CITATION.sub("", source), CITATION.sub("", translated))
        if score < min_meaning:
            return f"meaning drifted (similarity {score:.2f})"
    return ""


def meaning_similarity(settings) -> Callable[[str, str], float]:
    """The translation check's meaning test: cosine of two sentences by multilingual USE (loaded
    once per process by ``rag.embedders.get_embedder``, whatever the configured embedder)."""
    from ..embedders import get_embedder

    use = get_embedder(settings.model_copy(update={"embedder": "use-multilingual"}))

    def similarity(a: str, b: str) -> float:
        va, vb = use.encode([a, b], kind="query")
        return float(va @ vb)

    return similarity


class Translator:
    """Translates one verified sentence at a time with the answering model, checked."""

    def __init__(
        self, generator: Generator, meaning: Callable[[str, str], float] | None = None, min_meaning: float = 0.5
    ):
        self.generator = generator
        self.meaning = meaning
        self.min_meaning = min_meaning

    def prompt(self, sentence: str, source_lang: str, target: str) -> Prompt:
        terms = [
            f"{term.preferred(source_lang)} = {term.preferred(target)}"
            for term in terms_in(sentence, source_lang)
            if target in term.forms
        ]
        hint = ("\nUse these translations: " + "; ".join(terms) + ".") if terms else ""
        text = prompts.render("translate", target=language(target).name, terms=hint, sentence=sentence)
        return Prompt(messages=[{"role": "user", "content": text}], question=sentence, max_tokens=200, temperature=0.0)

    def render(self, sentence: str, target: str, source_lang: str | None = None) -> str:
        """The model's translation as it wrote it, less any preamble: unchecked (GeneratorError
        when the model fails)."""
        source_lang = source_lang or detect_language(CITATION.sub("", sentence))
        out = self.generator.generate(self.prompt(sentence, source_lang, target)).strip()
        lines = [line.strip() for line in _PREAMBLE.sub("", out).splitlines() if line.strip()]
        return lines[0].strip('"“”') if lines else ""

    def translate(self, sentence: str, target: str) -> Translation:
        source_lang = detect_language(CITATION.sub("", sentence))
        if source_lang == target:
            return Translation(sentence, sentence, False)
        try:
            out = self.render(sentence, target, source_lang)
        except GeneratorError as e:
            log.warning("translation failed: %s", e)
            return Translation(sentence, sentence, False, "the model failed")
        reason = check(sentence, out, target, self.meaning, self.min_meaning, source_lang)
        if reason:
            log.info("translation not shown (%s): %r -> %r", reason, sentence, out)
            return Translation(sentence, sentence, False, reason)
        return Translation(sentence, out, True)
