"""Answering: the pipeline the chat, the CLI and the evaluation share.

``Assistant.ask_stream(question, history)`` reads top to bottom:
  0. curated: a first question meaning the same as one staff answered, with that answer marked as
     reviewed (``curated.py``); cached: a first question asked before of the same index and
     settings (``cache.py``);
  1. standalone question: a follow-up or a non-English question is rewritten by the LLM into
     a standalone English search query (the documents are English; ``reading.py``);
  2. retrieve passages (hybrid search), for a translated question also as asked, and for
     documents in yet another language (Chinese notices, an English question) by the query
     translated into it (``reading.py``);
  3. abstain if the best passage is too far from the question (``min_similarity``) or lacks
     its keywords (``min_coverage``);
  4. prompt the generator in the passages' language, with numbered passages and the grounding
     rules in the user turn (``prompts.py``), fitted to the model's context;
  5. check each generated sentence (``verify.py``): reshaped to the question (``intent.py``),
     grounded in the passages it cites (``grounding.py``), addressing the question's focus; held
     back until one gives what a figure/who/where question asks for; sentences stream out one
     by one, only once verified;
  6. a question over passages in another language (Chinese or Korean over English, English over
     Chinese): each verified sentence translated and checked (``translation.py``), else shown as
     verified with a note;
  7. abstain if nothing supported, or nothing that answers what was asked, is left.
A generator that fails to load is replaced by the extractive backend (retried after
``llm_retry_s``), one that fails on a question for that answer only, with a notice in the
question's language saying so. What comes out is ``records.Answer``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from ..config import Settings, get_settings
from ..generation import get_generator
from ..generation.base import Generator, GeneratorError, Prompt
from ..search.retrieval import Hit, Retriever, open_retriever
from ..text import clean_text, detect_language, join_sentences
from .cache import AnswerCache
from .compress import compress
from .curated import Curator
from .grounding import CheckedSentence
from .intent import analyse
from .languages import language
from .prompts import fit_answer_prompt, prompt_tokens
from .quotes import completions, quote_for
from .reading import QueryReader
from .records import Answer, Event, Plan
from .translation import Translator, meaning_similarity
from .verify import Verifier, citations_for, shown_passage

log = logging.getLogger(__name__)


class Assistant:
    """The pipeline over one retriever (opened on first use) and the configured generator."""

    def __init__(self, settings: Settings | None = None, retriever: Retriever | None = None):
        self.settings = settings or get_settings()
        self._retriever = retriever
        self._lock = threading.Lock()
        # backend -> (why it failed to load, when): it is tried again after settings.llm_retry_s
        self._failed: dict[str, tuple[str, float]] = {}
        self.cache = AnswerCache(self.settings.answer_cache_size)
        self.curator = Curator(self.settings)

    # --- parts ----------------------------------------------------------------------------------

    @property
    def retriever(self) -> Retriever:
        with self._lock:
            if self._retriever is None:
                self._retriever = open_retriever(self.settings)
            return self._retriever

    @property
    def retriever_loaded(self) -> bool:
        return self._retriever is not None

    @property
    def reader(self) -> QueryReader:
        """Steps 1-3 over this assistant's retriever (``rag.answer.reading``)."""
        return QueryReader(self.retriever, self.settings)

    def reload_index(self) -> None:
        """Use the index on disk now (after a re-index)."""
        from ..ingest.store import load_index

        self.retriever.swap(load_index(self.settings.index_dir))

    def generator(self, backend: str | None = None, lang: str = "en") -> tuple[Generator, str | None]:
        """The backend's generator, or the extractive one and a notice (in ``lang``) saying why.

        A backend that failed to load is tried again ``llm_retry_s`` seconds later; the reason
        (which may hold a file path or a server address) goes to the log, not to the investor.
        """
        backend = backend or self.settings.backend
        if backend != "extractive" and not self._unavailable(backend):
            try:
                generator = get_generator(self.settings, backend, embedder=self.retriever.embedder)
                self._failed.pop(backend, None)
                return generator, None
            except GeneratorError as e:
                log.warning("backend %s unavailable (retry in %.0f s): %s", backend, self.settings.llm_retry_s, e)
                self._failed[backend] = (str(e), time.monotonic())
        notice = language(lang).model_unavailable if backend != "extractive" else None
        return get_generator(self.settings, "extractive", embedder=self.retriever.embedder), notice

    def translator(self, generator: Generator) -> Translator:
        """A translator over ``generator``, with the multilingual encoder as its meaning test."""
        memory = self.curator.store(create=True).memory  # the same store as the ratings and the log
        return Translator(
            generator, meaning_similarity(self.settings), self.settings.min_translation_similarity, memory
        )

    def _cache_key(self, question: str, backend: str | None) -> tuple:
        index = self.retriever.index
        return self.cache.key(
            question, index.path.name if index.path else "", self.settings, backend or self.settings.backend
        )

    def _stored(self, question: str, lang: str, backend: str) -> tuple[Answer | None, tuple]:
        """Step 0: the curated answer to a question meaning the same, else the cached answer to
        the same question; and the cache key the new answer is kept under."""
        key = self._cache_key(question, backend)
        found = self.curated(question, lang)
        if found is None and (found := self.cache.get(key)) is not None:
            found.cached = True
        return found, key

    def curated(self, question: str, lang: str) -> Answer | None:
        """Step 0: the curated answer for a question meaning the same as one staff answered."""
        found = self.curator.match(question, self.retriever)
        return self.curator.answer(*found, question, lang, self.retriever.index) if found else None

    def _unavailable(self, backend: str) -> bool:
        failed = self._failed.get(backend)
        return failed is not None and time.monotonic() - failed[1] < self.settings.llm_retry_s

    # --- pipeline -------------------------------------------------------------------------------

    def plan(self, question: str, history: list[dict] | None = None, backend: str | None = None) -> Plan:
        """Whether answering will use the language model (cheap: one search, no model call), so a
        server can answer the others without making them wait for the model, and what that search
        found (``Plan.found``: the page shows it at once, while the answer is being written)."""
        backend = backend or self.settings.backend
        question = clean_text(question)[: self.settings.max_question_chars]
        if not history and self.curated(question, detect_language(question)) is not None:
            return Plan(False, "curated")
        if not history and self._cache_key(question, backend) in self.cache:
            return Plan(False, "cached")
        lang, reader = detect_language(question), self.reader
        reading = reader.read(question, question, lang=lang) if question else None
        found = reading.hits if reading else []
        if backend == "extractive" or self._unavailable(backend):
            return Plan(False, "extractive", found)
        if history or lang != "en":
            return Plan(True, "rewrite", found)  # step 1 asks the model for a standalone English query
        if reader.other_languages({lang}):
            return Plan(True, "rewrite", found)  # step 2 asks the model for the query in the other documents' language
        if reading is None or not reader.passes_gate(reading):
            return Plan(False, "abstain", found)
        return Plan(True, "generate", found)

    def ask(self, question: str, history: list[dict] | None = None, backend: str | None = None) -> Answer:
        answer = None
        for event in self.ask_stream(question, history, backend):
            if event.kind == "final":
                answer = event.answer
        if answer is None:  # ask_stream ends every path with a final event
            raise RuntimeError("the answer pipeline ended without an answer")
        return answer

    def ask_stream(
        self, question: str, history: list[dict] | None = None, backend: str | None = None
    ) -> Iterator[Event]:
        t0 = time.perf_counter()
        s = self.settings
        question = clean_text(question)[: s.max_question_chars]
        lang = detect_language(question)
        # 0. answered once by staff (the same meaning, any language), or asked before of this
        # index with these settings: the stored verified answer
        stored, key = self._stored(question, lang, backend or s.backend) if not history else (None, None)
        if stored is not None:
            stored.timings_ms = {"retrieve": 0.0, "generate": 0.0, "total": (time.perf_counter() - t0) * 1000}
            yield Event("delta", stored.answer)
            yield Event("final", answer=stored)
            return
        generator, notice = self.generator(backend, lang)
        answer = Answer(question=question, backend=generator.name, model=generator.model, language=lang)
        if notice:
            answer.notices.append(notice)
            yield Event("notice", notice)

        # 1. standalone question  2. retrieve
        reader = self.reader
        answer.standalone_question = reader.standalone(question, history or [], generator, lang)
        reading = reader.read(question, answer.standalone_question, generator, lang)
        hits = answer.retrieved = reading.hits
        answer.timings_ms["retrieve"] = (time.perf_counter() - t0) * 1000

        # 3. too little evidence: abstain without asking the model
        if not question or not reader.passes_gate(reading):
            yield from self._abstain(answer, hits, t0, "gate")
            return

        # 4. the prompt in the passages' language (one language per draft), each passage under its
        # document title; the check reads each passage as the investor sees it (title, publisher, date)
        draft_lang = hits[0].chunk.lang if hits else lang
        hits = [h for h in hits if h.chunk.lang == draft_lang]
        intent = answer.intent = analyse(question, answer.standalone_question, (reading.query,), lang=lang)
        encode = _encoder(self.retriever.embedder)
        # the model reads only the sentences that matter to the question (compress.py); the checks read all
        query, titles = (question if draft_lang == lang else answer.standalone_question), [h.chunk.title for h in hits]
        texts = compress([h.chunk.text for h in hits], intent, query, encode, titles) if s.prompt_compression else None
        prompt, hits = fit_answer_prompt(question, answer.standalone_question, hits, draft_lang, generator, s, texts)
        answer.prompt_tokens = prompt_tokens(prompt, generator)
        passages, docs = [shown_passage(h.chunk) for h in hits], [h.chunk.doc_id for h in hits]
        verifier = Verifier(passages, question, intent, answer.standalone_question, docs, encode)
        # 5. verify sentence by sentence as the text streams in, 6. translate each verified sentence
        t_gen = time.perf_counter()
        yield from self._draft(verifier, prompt, answer, generator, draft_lang)
        answer.removed, answer.placements = verifier.removed, verifier.placements()

        # 7. nothing supported, or not what was asked for: the documents' own sentence that delivers
        # it, quoted (quotes.py); when there is none, abstain. A list answer naming only some items of
        # its passage's enumeration gets that sentence quoted in full.
        kept = verifier.answer()
        quotes = completions(intent, kept, hits) if kept else quote_for(intent, question, hits, encode, prompt.question)
        if not kept and not quotes:
            yield from self._abstain(answer, hits, t0, "check")
            return
        answer.quoted = not kept
        if answer.quoted:
            yield Event("delta", language(lang).quoted + " ")
        for q in quotes:  # a list's completion is extra: left out when it cannot be shown in the investor's language
            event = Event("delta", " " + q.marked())
            shown = list(_shown(iter([event]), answer, generator, draft_lang, self.translator, bool(kept)))
            if shown:
                kept.append(CheckedSentence(q.marked(), [q.n], True, placement="quote"))
            yield from shown
        answer.timings_ms["generate"] = (time.perf_counter() - t_gen) * 1000
        answer.source_answer = " ".join(c.text for c in kept)
        translated = [t.text for t in answer.translations]
        body = join_sentences(translated) if translated else answer.source_answer
        answer.answer = f"{language(lang).quoted} {body}" if answer.quoted else body
        answer.citations = citations_for(kept, hits)
        if answer.source_language:  # the supporting sentences in the investor's language, when the memory has them
            _remembered(answer.citations, self.translator(generator), lang)
        answer.timings_ms["total"] = (time.perf_counter() - t0) * 1000
        if key and not answer.notices and answer.backend == (backend or s.backend):
            self.cache.put(key, answer)
        yield Event("final", answer=answer)

    def _draft(
        self, verifier: Verifier, prompt: Prompt, answer: Answer, generator: Generator, draft_lang: str
    ) -> Iterator[Event]:
        """Steps 5-6 over the model's draft. A generation failure before anything was shown falls
        back to the extractive backend for this answer only (the next question tries the model)."""
        pieces: list[str] = []

        def recorded(stream: Iterator[str]) -> Iterator[str]:  # the raw draft, kept for the record
            for piece in stream:
                pieces.append(piece)
                yield piece

        try:
            yield from _shown(
                verifier.stream(recorded(generator.stream(prompt))), answer, generator, draft_lang, self.translator
            )
            answer.draft = "".join(pieces)
        except GeneratorError as e:
            log.warning("generation failed on %s: %s", generator.name, e)
            if verifier.shown or generator.name == "extractive":
                return
            fallback = get_generator(self.settings, "extractive", embedder=self.retriever.embedder)
            note = language(answer.language).model_failed
            answer.notices.append(note)
            answer.backend, answer.model = fallback.name, fallback.model
            yield Event("notice", note)
            yield from _shown(verifier.stream(fallback.stream(prompt)), answer, fallback, draft_lang, self.translator)

    def _abstain(self, answer: Answer, hits: list[Hit], t0: float, where: str) -> Iterator[Event]:
        """Steps 3 and 7 (``where``: "gate" or "check"): the abstention message in the question's
        language (unless staff set their own), the passages found offered as related reading."""
        answer.abstained_at = where
        s = self.settings
        default = type(s).model_fields["abstain_message"].default
        own = language(answer.language)
        custom = s.abstain_message != default or own.code != answer.language
        answer.abstain(s.abstain_message if custom else own.abstain, hits)
        answer.timings_ms["total"] = (time.perf_counter() - t0) * 1000
        yield Event("delta", answer.answer)
        yield Event("final", answer=answer)


def _encoder(embedder) -> Callable[[list[str]], np.ndarray]:
    """Meaning similarity for attributing sentences, compressing passages and choosing quotes: the
    retriever's own embedder (loaded already), each text encoded as a query in its language's model."""
    return lambda texts: embedder.encode(texts, kind="query")


def _shown(
    released: Iterator[Event],
    answer: Answer,
    generator: Generator,
    draft_lang: str,
    translator: Callable[[Generator], Translator],
    optional: bool = False,
) -> Iterator[Event]:
    """Step 6: the verified sentences as the investor sees them: as drafted when the draft is in
    the question's language, else each translated (checked; ``translation.py``) as it comes.
    An ``optional`` sentence whose translation fails is left out instead of shown untranslated."""
    if draft_lang == answer.language:
        yield from released
        return
    answer.source_language = draft_lang
    own = language(answer.language)
    # the model drafts to the end before it translates: a backend runs one generation at a
    # time (llama.cpp's context is not re-entrant; a server may cut a running answer short)
    drafted = list(released)
    for event in drafted:
        sentence = event.text.strip()
        # no language model (the extractive backend): only what the translation memory holds
        t = translator(generator).translate(sentence, answer.language, ask_model=generator.name != "extractive")
        if not t.translated and optional:
            continue
        if not t.translated:
            t.text = f"{sentence} {own.untranslated}"
        before = join_sentences([x.text for x in answer.translations])
        answer.translations.append(t)
        yield Event("delta", join_sentences([x.text for x in answer.translations])[len(before) :])


def _remembered(citations: list, translator: Translator, lang: str) -> None:
    """Each citation's supporting sentences as the translation memory has them in ``lang`` ("" for
    one it lacks): the sources panel shows them, the passage as written one click away."""
    for c in citations:
        found = [translator.translate(c.text[a:b], lang, ask_model=False) for a, b in c.highlights]
        c.translated = [t.text if t.translated else "" for t in found]
