"""Answering: the pipeline the chat, the CLI and the evaluation share.

``Assistant.ask_stream(question, history)`` reads top to bottom:
  0. cached: a first question asked before of the same index and settings (rag.cache);
  1. standalone question: a follow-up or a non-English question is rewritten by the LLM into
     a standalone English search query (the documents are English);
  2. retrieve passages (hybrid search), for a translated question also as asked, and for
     documents in yet another language (Chinese notices, an English question) by the query
     translated into it;
  3. abstain if the best passage is too far from the question (``min_similarity``) or lacks
     its keywords (``min_coverage``);
  4. prompt the generator in the passages' language, with numbered passages and the grounding
     rules in the user turn (rag.prompts), fitted to the model's context;
  5. check each generated sentence (``Verifier``): reshaped to the question (rag.intent),
     grounded in the passages it cites (rag.grounding), addressing the question's focus; held
     back until one gives what a figure/who/where question asks for; sentences stream out one
     by one, only once verified;
  6. a question over passages in another language (Chinese or Korean over English, English over
     Chinese): each verified sentence translated and checked (rag.translation), else shown as
     verified with a note;
  7. abstain if nothing supported, or nothing that answers what was asked, is left.
A generator that fails to load is replaced by the extractive backend (retried after
``llm_retry_s``), one that fails on a question for that answer only, with a notice saying so.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from . import prompts
from .cache import AnswerCache
from .config import Settings, get_settings
from .generation import get_generator
from .generation.base import Generator, GeneratorError, Prompt
from .grounding import CITATION, CheckedSentence, check_sentence, claims, markers_before_stops
from .intent import Intent, addresses, analyse, delivers, reshape
from .languages import language, terms_in, to_english
from .retrieval import Hit, Retriever, open_retriever
from .text import clean_text, detect_language, drop_cjk, keyword_tokens, split_sentences
from .translation import Translation, Translator

log = logging.getLogger(__name__)


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    source: str
    chunk_id: str
    text: str
    publisher: str = ""
    date: str = ""
    page: int | None = None
    highlights: list[tuple[int, int]] = field(default_factory=list)  # spans in ``text`` to highlight

    def to_json(self) -> dict:
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "title": self.title,
            "source": self.source,
            "chunk_id": self.chunk_id,
            "text": self.text,
            "publisher": self.publisher,
            "date": self.date,
            "page": self.page,
            "highlights": [list(h) for h in self.highlights],
        }


@dataclass
class Answer:
    question: str
    answer: str = ""
    abstained: bool = False
    citations: list[Citation] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)  # offered as related reading when abstaining
    backend: str = ""
    model: str = ""
    language: str = "en"
    standalone_question: str = ""
    notices: list[str] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)  # sentences cut by the grounding check, with reasons
    retrieved: list[Hit] = field(default_factory=list)
    intent: Intent | None = None  # what the question asks for (rag.intent)
    source_answer: str = ""  # the verified answer as drafted, in the passages' language
    source_language: str = ""  # that language, when it is not the question's (the answer is translated)
    translations: list[Translation] = field(default_factory=list)  # per sentence, when translated
    cached: bool = False  # the stored answer to the same question (same index and settings), not a new run
    timings_ms: dict[str, float] = field(default_factory=lambda: {"retrieve": 0.0, "generate": 0.0, "total": 0.0})

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.to_json() for c in self.citations],
            "backend": self.backend,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "model": self.model,
            "language": self.language,
            "standalone_question": self.standalone_question,
            "related": [c.to_json() for c in self.related],
            # what was searched and found, for staff and logs (the passages themselves are in citations)
            "retrieved": [
                {
                    "rank": h.rank,
                    "doc_id": h.chunk.doc_id,
                    "chunk_id": h.chunk.chunk_id,
                    "score": round(float(h.score), 4),
                }
                for h in self.retrieved
            ],
            "notices": self.notices,
            "removed": self.removed,
            "intent": self.intent.to_json() if self.intent else None,
            "source_answer": self.source_answer,
            "source_language": self.source_language,
            "translations": [t.to_json() for t in self.translations],
            "cached": self.cached,
        }


@dataclass
class Event:
    """One streamed step: ``notice`` (shown once), ``delta`` (verified answer text), ``final``."""

    kind: str
    text: str = ""
    answer: Answer | None = None


@dataclass
class Reading:
    """One reading of the question searched (as asked, rewritten, or translated for documents in
    another language) with the passages it found and their evidence (``evidence``)."""

    query: str
    hits: list[Hit]
    similarity: float
    coverage: float


@dataclass
class Plan:
    """What answering a question will take, decided without the language model."""

    needs_model: bool  # False: the answer comes from retrieval alone (an abstention, the extractive backend)
    reason: str  # "extractive", "cached", "abstain", "rewrite" (a follow-up or translated question), "generate"


class Assistant:
    def __init__(self, settings: Settings | None = None, retriever: Retriever | None = None):
        self.settings = settings or get_settings()
        self._retriever = retriever
        self._lock = threading.Lock()
        # backend -> (why it failed to load, when): it is tried again after settings.llm_retry_s
        self._failed: dict[str, tuple[str, float]] = {}
        self._meaning = None  # cross-lingual similarity for the translation check, loaded on first use
        self.cache = AnswerCache(self.settings.answer_cache_size)

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

    def reload_index(self) -> None:
        """Use the index on disk now (after a re-index)."""
        from .index import load_index

        self.retriever.swap(load_index(self.settings.index_dir))

    def generator(self, backend: str | None = None) -> tuple[Generator, str | None]:
        """The backend's generator, or the extractive one and a notice saying why.

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
        notice = None
        if backend != "extractive":
            notice = (
                "The language model is unavailable right now, so this answer quotes the most relevant "
                "sentences of the documents instead."
            )
        return get_generator(self.settings, "extractive", embedder=self.retriever.embedder), notice

    def _cache_key(self, question: str, backend: str | None) -> tuple:
        index = self.retriever.index
        return self.cache.key(
            question, index.path.name if index.path else "", self.settings, backend or self.settings.backend
        )

    def _unavailable(self, backend: str) -> bool:
        failed = self._failed.get(backend)
        return failed is not None and time.monotonic() - failed[1] < self.settings.llm_retry_s

    # --- pipeline -------------------------------------------------------------------------------

    def plan(self, question: str, history: list[dict] | None = None, backend: str | None = None) -> Plan:
        """Whether answering will use the language model (cheap: a search, no model call), so a
        server can answer the others without making them wait for the model."""
        backend = backend or self.settings.backend
        question = clean_text(question)[: self.settings.max_question_chars]
        if not history and self._cache_key(question, backend) in self.cache:
            return Plan(False, "cached")
        if backend == "extractive" or self._unavailable(backend):
            return Plan(False, "extractive")
        if history or detect_language(question) != "en":
            return Plan(True, "rewrite")  # step 1 asks the model for a standalone English query
        if self._other_languages([question]):
            return Plan(True, "rewrite")  # step 2 asks the model for the query in the other documents' language
        if not question or not self._passes_gate(self.read(question, question)):
            return Plan(False, "abstain")
        return Plan(True, "generate")

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
        # 0. asked before, of this index with these settings: the stored verified answer
        key = None if history else self._cache_key(question, backend or s.backend)
        cached = self.cache.get(key) if key else None
        if cached is not None:
            cached.cached = True
            cached.timings_ms = {"retrieve": 0.0, "generate": 0.0, "total": (time.perf_counter() - t0) * 1000}
            yield Event("delta", cached.answer)
            yield Event("final", answer=cached)
            return
        generator, notice = self.generator(backend)
        answer = Answer(question=question, backend=generator.name, model=generator.model, language=lang)
        if notice:
            answer.notices.append(notice)
            yield Event("notice", notice)

        # 1. standalone question  2. retrieve
        answer.standalone_question = self.standalone_question(question, history or [], generator, lang)
        reading = self.read(question, answer.standalone_question, generator)
        hits = answer.retrieved = reading.hits
        answer.timings_ms["retrieve"] = (time.perf_counter() - t0) * 1000

        # 3. too little evidence: abstain without asking the model
        if not question or not self._passes_gate(reading):
            yield from self._abstain(answer, hits, t0)
            return

        # 4. generate in the passages' language, 5. verify sentence by sentence as the text streams in,
        # 6. translate each verified sentence when the question is in another language
        # the model sees each passage under its document title, so the check does too
        draft_lang = passages_language(hits, lang)
        hits = [h for h in hits if detect_language(h.chunk.text) == draft_lang]  # one language per draft
        prompt, hits = self.fit_prompt(question, answer.standalone_question, hits, draft_lang, generator)
        # each passage is checked as the investor sees it: under its document's title, publisher and date
        verifier = Verifier(
            [shown_passage(h.chunk) for h in hits],
            question,
            analyse(question, answer.standalone_question, (reading.query,)),
            answer.standalone_question,
        )
        answer.intent = verifier.intent
        t_gen = time.perf_counter()
        try:
            yield from self._shown(verifier.stream(generator.stream(prompt)), answer, generator, draft_lang)
        except GeneratorError as e:
            log.warning("generation failed on %s: %s", generator.name, e)
            if not verifier.shown and generator.name != "extractive":
                # this answer only: the next question tries the model again
                fallback = get_generator(self.settings, "extractive", embedder=self.retriever.embedder)
                note = (
                    "The language model failed on this question, so this answer quotes the most relevant "
                    "sentences of the documents instead."
                )
                answer.notices.append(note)
                answer.backend, answer.model = fallback.name, fallback.model
                yield Event("notice", note)
                yield from self._shown(verifier.stream(fallback.stream(prompt)), answer, fallback, draft_lang)
        answer.timings_ms["generate"] = (time.perf_counter() - t_gen) * 1000
        answer.removed = verifier.removed

        # 7. nothing supported, or not what was asked for: abstain
        kept = verifier.answer()
        if not kept:
            yield from self._abstain(answer, hits, t0)
            return
        answer.source_answer = " ".join(c.text for c in kept)
        answer.answer = _joined([t.text for t in answer.translations]) if answer.translations else answer.source_answer
        answer.citations = _citations(kept, hits)
        answer.timings_ms["total"] = (time.perf_counter() - t0) * 1000
        if key and not answer.notices and answer.backend == (backend or s.backend):
            self.cache.put(key, answer)
        yield Event("final", answer=answer)

    def _shown(
        self, released: Iterator[Event], answer: Answer, generator: Generator, draft_lang: str
    ) -> Iterator[Event]:
        """The verified sentences as the investor sees them: as drafted when the draft is in the
        question's language, else each translated (checked; ``rag.translation``) as it comes."""
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
            if generator.name == "extractive":  # no language model to translate with
                t = Translation(sentence, sentence, False, "no language model")
            else:
                t = self.translator(generator).translate(sentence, answer.language)
            if not t.translated:
                t.text = f"{sentence} {own.untranslated}"
            before = _joined([x.text for x in answer.translations])
            answer.translations.append(t)
            yield Event("delta", _joined([x.text for x in answer.translations])[len(before) :])

    def translator(self, generator: Generator) -> Translator:
        """A translator over ``generator``, with the multilingual encoder as its meaning test."""
        if self._meaning is None:
            from .embedding import get_embedder

            use = get_embedder(self.settings.model_copy(update={"embedder": "use-multilingual"}))

            def similarity(a: str, b: str) -> float:
                va, vb = use.encode([a, b], kind="query")
                return float(va @ vb)

            self._meaning = similarity
        return Translator(generator, self._meaning, self.settings.min_translation_similarity)

    def retrieve(
        self, question: str, standalone: str, generator: Generator | None = None
    ) -> tuple[list[Hit], float, float]:
        """The passages, similarity and coverage of the reading ``read`` chooses."""
        reading = self.read(question, standalone, generator)
        return reading.hits, reading.similarity, reading.coverage

    def read(self, question: str, standalone: str, generator: Generator | None = None) -> Reading:
        """Passages for the standalone query, and the evidence they give (see ``evidence``).

        A question that was translated for the search is also searched as asked: documents in
        the investor's own language (a Chinese notice, say) match the original words, English
        ones the rewrite. Documents in a language neither reading is in (Chinese notices for an
        English or Korean question) are searched by the English query translated into it, when a
        model is there to translate. The reading with the stronger evidence wins; a translated
        reading wins when it passes the evidence gate on its own and its best passage is closer
        (keyword coverage of Chinese bigrams and of English words are not comparable).
        """
        queries = [standalone] if detect_language(question) == "en" else list(dict.fromkeys([standalone, question]))
        asked = len(queries)
        for lang in self._other_languages(queries) if generator and generator.name != "extractive" else ():
            try:  # unchecked: a search query is never shown, and what it finds is checked as always
                translated = self.translator(generator).render(standalone, lang)
            except GeneratorError as e:
                log.warning("query translation failed: %s", e)
                continue
            if translated and detect_language(translated) == lang:
                queries.append(translated)
        found = []
        for query in queries:
            hits = self.retriever.search(query, k=self.settings.top_k)
            found.append(Reading(query, hits, *evidence(query, hits)))
        best = max(found[:asked], key=lambda r: (r.coverage, r.similarity))  # more keywords covered, then closer
        for translated in found[asked:]:
            if translated.similarity > best.similarity and self._passes_gate(translated):
                best = translated
        return best

    def _passes_gate(self, reading: Reading) -> bool:
        s = self.settings
        return reading.similarity >= s.min_similarity and reading.coverage >= s.min_coverage

    def _other_languages(self, queries: list[str]) -> list[str]:
        """Languages of indexed passages that none of the queries is written in."""
        asked = {detect_language(q) for q in queries}
        return sorted(self.retriever.index.languages - asked)

    def _abstain(self, answer: Answer, hits: list[Hit], t0: float) -> Iterator[Event]:
        s = self.settings
        answer.abstained = True
        default = type(s).model_fields["abstain_message"].default
        own = language(answer.language)
        answer.answer = (
            own.abstain if s.abstain_message == default and own.code == answer.language else s.abstain_message
        )
        answer.related = [_citation(h.rank, h) for h in hits[:3]]
        answer.timings_ms["total"] = (time.perf_counter() - t0) * 1000
        yield Event("delta", answer.answer)
        yield Event("final", answer=answer)

    def standalone_question(self, question: str, history: list[dict], generator: Generator, lang: str) -> str:
        """The question as a standalone English query (LLM rewrite; a plain join as fallback)."""
        turns = [(m.get("role"), _plain(m.get("content"))) for m in history if m.get("role") in ("user", "assistant")]
        turns = [(r, c) for r, c in turns if c][-4:]
        if not turns and lang == "en":
            return question
        previous_user = next((c for r, c in reversed(turns) if r == "user"), "")
        fallback = f"{previous_user} {question}".strip()
        if generator.name == "extractive":
            return fallback
        convo = "\n".join(f"{r}: {c[:400]}" for r, c in turns) or "(none)"
        if turns:  # a follow-up: one standalone query from the conversation
            text = prompts.render(
                "rewrite", names=_glossary_hint(f"{question} {convo}"), history=convo, question=question
            )
        else:  # a first question in Chinese or Korean: translated as a question, its form kept
            text = prompts.render("question", names=_glossary_hint(question), question=question)
        prompt = Prompt(
            messages=[{"role": "user", "content": text}],
            question=question,
            max_tokens=60,
            temperature=0.0,
        )
        try:
            rewritten = generator.generate(prompt).strip().splitlines()[0].strip().strip('"')
        except (GeneratorError, IndexError) as e:
            log.warning("question rewrite failed: %s", e)
            return fallback
        rewritten = english_query(rewritten) if lang != "en" else rewritten
        if not rewritten or len(rewritten) > 300:
            return fallback
        # keep the original words too: BM25 still matches names the rewrite may have dropped
        return rewritten if lang != "en" or not turns else f"{rewritten} {question}"

    def fit_prompt(
        self, question: str, standalone: str, hits: list[Hit], lang: str, generator: Generator
    ) -> tuple[Prompt, list[Hit]]:
        """The prompt, made to fit the model's context with room for the answer: a long question
        is cut first, then the weakest passages are left out (they are not cited then either)."""
        budget = self.settings.llm_context - self.settings.max_new_tokens - 64  # chat template and margin

        def size(p: Prompt) -> int:
            return sum(generator.count_tokens(m["content"]) + 8 for m in p.messages)

        prompt = self.build_prompt(question, standalone, hits, lang)
        if size(prompt) <= budget:
            return prompt, hits
        question, standalone = _cut(question, 600), _cut(standalone, 300)
        prompt = self.build_prompt(question, standalone, hits, lang)
        while size(prompt) > budget and len(hits) > 1:
            hits = hits[:-1]
            prompt = self.build_prompt(question, standalone, hits, lang)
        log.info("prompt cut to fit %d tokens: %d passages", budget, len(hits))
        return prompt, hits

    def build_prompt(self, question: str, standalone: str, hits: list[Hit], lang: str) -> Prompt:
        s = self.settings
        blocks = "\n\n".join(f"[{i}] ({h.chunk.title})\n{h.chunk.text}" for i, h in enumerate(hits, start=1))
        # a follow-up's search query ends with the question itself (for BM25); say it once
        meaning = standalone[: -len(question)].strip() if standalone.endswith(question) else standalone
        asked = question if meaning in ("", question) else f"{question}\n(Meaning: {meaning})"
        own = language(lang)
        user = prompts.render(
            "answer", passages=blocks, language=own.name, sentences="4", question=asked, answer_in=own.answer_in
        )
        return Prompt(
            messages=[{"role": "system", "content": prompts.template("system")}, {"role": "user", "content": user}],
            # the extractive backend matches sentences against this: the investor's own words when
            # they are English (a follow-up names what is new), else the English rewrite
            question=question if lang == "en" else standalone,
            passages=[h.chunk.text for h in hits],
            max_tokens=s.max_new_tokens,
            temperature=s.temperature,
        )


def shown_passage(chunk) -> str:
    """A passage as a citation shows it: its document's title, publisher and date, then its text."""
    meta = " · ".join(x for x in (chunk.publisher, chunk.date) if x)
    return f"{chunk.title}\n{meta}\n{chunk.text}" if meta else f"{chunk.title}\n{chunk.text}"


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:chars].rsplit(" ", 1)[0] + " …"


def passages_language(hits: list[Hit], fallback: str) -> str:
    """The language of the best passage: the model drafts its answer in it from the passages in
    that language, so the grounding check compares like with like; ``fallback`` when there are none."""
    return detect_language(hits[0].chunk.text) if hits else fallback


def _joined(sentences: list[str]) -> str:
    """Sentences joined as their language writes them (no space after a Chinese full stop)."""
    out = ""
    for s in sentences:
        out += s if not out or out.endswith(("。", "！", "？")) else " " + s
    return out


def english_query(rewritten: str) -> str:
    """The LLM's English rewrite with names it left in Chinese or Korean put into English, and
    any other Chinese or Korean words dropped: they would count as keywords the English
    documents never contain. (The question as asked is searched separately.)"""
    rewritten = to_english(rewritten)
    return drop_cjk(rewritten) if _LATIN_WORD.search(rewritten) else ""


def _glossary_hint(text: str) -> str:
    """The glossary lines for the Chinese/Korean names in ``text``, for the rewrite prompt."""
    lines = []
    for lang in ("zh", "ko"):
        for term in terms_in(text, lang):
            if "en" in term.forms:
                lines.append(f"{term.preferred(lang)} = {term.preferred('en')}")
    return ("\nNames: " + "; ".join(dict.fromkeys(lines)) + ".\n") if lines else ""


_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def evidence(query: str, hits: list[Hit]) -> tuple[float, float]:
    """How well the passages back the question: the best cosine similarity of a passage, and
    the share of the question's keywords found in the passages at all. A question about a tax
    rate retrieves passages about the right zone (high similarity) that never say "tax"."""
    similarity = max((h.dense_score for h in hits if h.dense_score is not None), default=0.0)
    wanted = set(keyword_tokens(query))
    found = set().union(*(keyword_tokens(h.chunk.text) for h in hits)) if hits else set()
    coverage = len(wanted & found) / len(wanted) if wanted else 0.0
    return similarity, coverage


def _plain(content) -> str:
    """Text of a chat message (a string or a list of parts), without citation markers."""
    if isinstance(content, list):
        content = " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    text = str(content or "")
    return CITATION.sub("", text).strip()


class Verifier:
    """Checks streamed answer sentences and releases the ones that may be shown.

    Each sentence is reshaped to the question (a "Yes," opening a what-question is dropped),
    grounded (``rag.grounding.check_sentence``) and must address the question's focus
    (``rag.intent.addresses``). A question wanting a figure, a person or a place holds its
    sentences back until one delivers it (``rag.intent.delivers``); if none does, nothing is
    shown and the assistant abstains.
    """

    def __init__(self, passages: list[str], question: str, intent: Intent, standalone: str = ""):
        self.passages = passages
        self.question_text = f"{question} {standalone}".strip()
        self.intent = intent
        self.kept: list[CheckedSentence] = []
        self.removed: list[dict] = []
        self.shown = 0  # sentences released to the investor
        self.delivered = not intent.wants

    def stream(self, pieces: Iterator[str]) -> Iterator[Event]:
        for sentence in _sentences(pieces):
            checked = self.check(sentence)
            if checked is None:
                continue
            self.kept.append(checked)
            self.delivered = self.delivered or delivers(self.intent, checked.text, self._cited(checked))
            if self.delivered:
                for pending in self.kept[self.shown :]:
                    yield Event("delta", ("" if self.shown == 0 else " ") + pending.text)
                    self.shown += 1

    def check(self, sentence: str) -> CheckedSentence | None:
        """The sentence as it may be shown, or None (recorded in ``removed`` with the reason)."""
        reshaped = reshape(sentence, self.intent)
        checked = check_sentence(reshaped, self.passages, self.question_text)
        if not checked.kept:
            if checked.reason != "empty":
                reason = "says the documents do not answer" if checked.reason == "refusal" else checked.reason
                self.removed.append({"sentence": checked.text, "reason": reason})
            return None
        evidence = " ".join(
            self.passages[n - 1][a:b]
            for n in checked.citations
            for a, b in supporting_spans(self.passages[n - 1], [checked.text])
        )
        if not addresses(self.intent, checked.text, evidence):
            self.removed.append({"sentence": checked.text, "reason": "does not address the question"})
            return None
        return checked

    def answer(self) -> list[CheckedSentence]:
        """The kept sentences, or none when the question wanted something none of them gives."""
        if self.delivered:
            return self.kept
        for c in self.kept:
            self.removed.append({"sentence": c.text, "reason": f"gives no {self.intent.wants_label}"})
        return []

    def _cited(self, checked: CheckedSentence) -> str:
        return " ".join(self.passages[n - 1] for n in checked.citations)


def _sentences(pieces: Iterator[str]) -> Iterator[str]:
    """Regroup streamed text pieces into whole sentences, each yielded once it is complete."""
    buffer = ""
    for piece in pieces:
        buffer = markers_before_stops(buffer + piece)
        spans = split_sentences(buffer)
        # the last span may still be growing, and a "[" opening it may be the previous one's marker
        done = len(spans) - (2 if spans and spans[-1].text.startswith("[") else 1)
        if done > 0:
            for span in spans[:done]:
                yield span.text
            buffer = buffer[spans[done].start :]
    for span in split_sentences(markers_before_stops(buffer)):
        yield span.text


def _citation(n: int, hit: Hit, highlights: list[tuple[int, int]] | None = None) -> Citation:
    c = hit.chunk
    return Citation(n, c.doc_id, c.title, c.source, c.chunk_id, c.text, c.publisher, c.date, c.page, highlights or [])


def _citations(kept: list[CheckedSentence], hits: list[Hit]) -> list[Citation]:
    """One Citation per cited passage, in passage order, with its supporting sentences marked."""
    by_passage: dict[int, list[str]] = {}
    for s in kept:
        for n in s.citations:
            by_passage.setdefault(n, []).append(s.text)
    return [
        _citation(n, hits[n - 1], supporting_spans(hits[n - 1].chunk.text, by_passage[n])) for n in sorted(by_passage)
    ]


def supporting_spans(passage: str, answer_sentences: list[str]) -> list[tuple[int, int]]:
    """For each answer sentence, the passage sentence sharing the most words and claims with it."""
    spans = split_sentences(passage)
    chosen: list[tuple[int, int]] = []
    for sentence in answer_sentences:
        words = set(keyword_tokens(sentence)) | set(claims(sentence))
        best, best_score = None, 0.0
        for span in spans:
            score = len(words & (set(keyword_tokens(span.text)) | set(claims(span.text))))
            if score > best_score:
                best, best_score = span, score
        if best is not None and (best.start, best.end) not in chosen:
            chosen.append((best.start, best.end))
    return sorted(chosen)
