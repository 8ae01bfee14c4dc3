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
Before the model sees a sentence, its names, numbers, dates, terms and markers are swapped for
placeholders and put back afterwards (``protect.py``). A translation that passed is kept in the
translation memory (``rag.store.memory``) and reused; a staff correction there wins. A sentence
that fails is shown as written, with a short note in the investor's language, so a wrong term
never reaches the investor as if it were the document's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..generation.base import Generator, GeneratorError, Prompt
from ..glossary import VERSION as GLOSSARY_VERSION
from ..glossary import terms_in
from ..store import FeedbackUnavailable
from ..text import HAN, HANGUL, MONTH_NAMES, MONTHS, detect_language
from . import prompts
from .grounding import CITATION, NEGATIONS, cited_numbers, claims, iso_dates
from .languages import language
from .protect import arabic, latin_names, protect

log = logging.getLogger(__name__)

_MONTH_WORD = re.compile(rf"\b({MONTH_NAMES})\b", re.I)


@dataclass
class Translation:
    source: str  # the verified sentence
    text: str  # what is shown: the translation, or the source when it failed the check
    translated: bool
    reason: str = ""  # why the translation was not shown
    memory: str = ""  # taken from the translation memory: "model" (a checked translation) or "corrected" (by staff)

    def to_json(self) -> dict:
        return {
            "source": self.source,
            "text": self.text,
            "translated": self.translated,
            "reason": self.reason,
            "memory": self.memory,
        }


def _numbers(text: str) -> list[str]:
    return [c for c in claims(arabic(text)) if not any(ch.isalpha() for ch in c)]


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
    stray = _stray_latin(source, translated, target, src_lang)
    if stray:
        return f"text left untranslated: {stray}"
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
    for name in latin_names(source):
        for part in name.split():
            if part not in covered and part not in low:
                return f"name changed: {name}"
    if meaning is not None:
        score = meaning(CITATION.sub("", source), CITATION.sub("", translated))
        if score < min_meaning:
            return f"meaning drifted (similarity {score:.2f})"
    return ""


_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z']*")


def _stray_latin(source: str, translated: str, target: str, src_lang: str) -> str:
    """The first Latin word of a Chinese or Korean translation that is no name of the source ("The
    시범구는 ... Pursue하고" is English left in the sentence): a name is a source word written with a
    capital (not merely the sentence's first word: "IGBT", "Jingyue", "IoT"), of one of its Latin
    names (``protect.latin_names``: "Chen Yunwu said ...") or of the
    glossary's form in the target language; "" when there is none."""
    if target not in ("zh", "ko"):
        return ""
    words = _LATIN_WORD.findall(CITATION.sub("", source))
    names = {w.lower() for i, w in enumerate(words) if any(ch.isupper() for ch in w[1 if i == 0 else 0 :])}
    names.update(w.lower() for name in latin_names(source) for w in _LATIN_WORD.findall(name))  # "Chen Yunwu ..."
    for term in terms_in(source, src_lang):
        names.update(w.lower() for form in term.forms.get(target, ()) for w in _LATIN_WORD.findall(form))
    return next((w for w in _LATIN_WORD.findall(CITATION.sub("", translated)) if w.lower() not in names), "")


def meaning_similarity(settings) -> Callable[[str, str], float]:
    """The translation check's meaning test: cosine of two sentences by multilingual USE (loaded
    once per process by ``rag.embedders.get_embedder``, whatever the configured embedder)."""
    from ..embedders import get_embedder

    use = get_embedder(settings.model_copy(update={"embedder": "use-multilingual"}))

    def similarity(a: str, b: str) -> float:
        va, vb = use.encode([a, b], kind="query")
        return float(va @ vb)

    return similarity


_QUOTE = re.compile(r"“(.+)”\s*(\[\d+\])")  # a quote of the documents, as rag.answer.quotes marks it


class Translator:
    """Translates one verified sentence at a time with the answering model, protected
    (``protect.py``) and checked."""

    def __init__(
        self,
        generator: Generator,
        meaning: Callable[[str, str], float] | None = None,
        min_meaning: float = 0.5,
        memory=None,
    ):
        self.generator = generator
        self.meaning = meaning
        self.min_meaning = min_meaning
        self.memory = memory  # rag.store.memory.TranslationMemory, or None (every sentence translated anew)

    def prompt(self, sentence: str, source_lang: str, target: str, template: str = "translate", **fields) -> Prompt:
        terms = [
            f"{term.preferred(source_lang)} = {term.preferred(target)}"
            for term in terms_in(sentence, source_lang)
            if target in term.forms
        ]
        hint = ("\nUse these translations: " + "; ".join(terms) + ".") if terms else ""
        fields = {"terms": hint, **fields}  # a caller's own hint replaces the glossary's
        text = prompts.render(template, target=language(target).name, sentence=sentence, **fields)
        return Prompt(messages=[{"role": "user", "content": text}], question=sentence, max_tokens=200, temperature=0.0)

    def render(
        self, sentence: str, target: str, source_lang: str | None = None, template: str = "translate", **fields
    ) -> str:
        """The model's translation as it wrote it, less any preamble: unchecked (GeneratorError
        when the model fails)."""
        source_lang = source_lang or detect_language(CITATION.sub("", sentence))
        out = self.generator.generate(self.prompt(sentence, source_lang, target, template, **fields)).strip()
        lines = [line.strip() for line in _PREAMBLE.sub("", out).splitlines() if line.strip()]
        return lines[0].strip('"“”') if lines else ""

    def translate(self, sentence: str, target: str, ask_model: bool = True) -> Translation:
        """The sentence in ``target``: its names, numbers, dates, terms and markers protected, the
        model asked once more when it loses a placeholder (another prompt; a lost term written out
        with its glossary translation as a hint), the result checked. A quote of the documents
        ("“...” [n]") is translated as the passage's own sentence (the memory keeps it under that,
        where the sources panel finds it) and quoted again. Without ``ask_model`` only the
        translation memory is asked."""
        quote = _QUOTE.fullmatch(sentence.strip())
        if quote:
            t = self.translate(quote.group(1), target, ask_model)
            shown = f"“{CITATION.sub('', t.text).strip()}” {quote.group(2)}" if t.translated else sentence
            return Translation(sentence, shown, t.translated, t.reason, t.memory)
        source_lang = detect_language(CITATION.sub("", sentence))
        if source_lang == target:
            return Translation(sentence, sentence, False)
        kept = self._recall(sentence, target)
        if kept is not None:  # translated and checked before, or corrected by staff
            return Translation(sentence, kept["text"], True, memory=kept["status"])
        if not ask_model:
            return Translation(sentence, sentence, False, "no language model")
        protected = protect(sentence, source_lang, target)
        try:
            restored, reason = protected.restore(self.render(protected.text, target, source_lang))
            if reason.startswith("placeholder"):  # once more, the lost ones written out
                lost = [t for t in protected.parts if t in reason]
                retry, hint = protected.without(lost)
                terms = "".join(f"\nTranslate {a} as {b}." for a, b in hint.items())
                fields = {"placeholders": ", ".join(retry.parts) or "(none)", "terms": terms}
                restored, reason = retry.restore(
                    self.render(retry.text, target, source_lang, "translate_retry", **fields)
                )
        except GeneratorError as e:
            log.warning("translation failed: %s", e)
            return Translation(sentence, sentence, False, "the model failed")
        reason = reason or check(sentence, restored, target, self.meaning, self.min_meaning, source_lang)
        if reason:
            log.info("translation not shown (%s): %r", reason, sentence)
            return Translation(sentence, sentence, False, reason)
        self._keep(sentence, target, restored)
        return Translation(sentence, restored, True)

    def _recall(self, sentence: str, target: str) -> dict | None:
        try:
            return self.memory.lookup(sentence, target, GLOSSARY_VERSION) if self.memory is not None else None
        except FeedbackUnavailable as e:  # the memory is a shortcut: without it, translate
            log.warning("translation memory unavailable: %s", e)
            return None

    def _keep(self, sentence: str, target: str, text: str) -> None:
        try:
            if self.memory is not None:
                self.memory.remember(sentence, target, GLOSSARY_VERSION, self.generator.model, text)
        except FeedbackUnavailable as e:
            log.warning("translation not kept in the memory: %s", e)
