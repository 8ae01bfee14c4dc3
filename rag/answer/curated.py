"""Curated answers: answer a question once, for everyone (step 0 of ``Assistant.ask_stream``,
beside the answer cache, so the chat, the CLI and any API get it alike).

Staff approve an answer from the question log or write a corrected one, citing passages of the
index by their chunk ids (``Curator.save``). On saving, each language staff give is put through the
answer check every generated answer passes (``grounding.check_answer``: every sentence's figures and
names in the passages it cites); a sentence the check would drop refuses the whole answer, with the
reason. A language staff did not give is translated from one they did by the translation path
(``translation.Translator``, checked the same way) when a language model is there; without one it is
left out, and questions in that language get the usual pipeline (the entry says so).

A later question is matched by meaning: the multilingual encoder (USE: one vector space for
English, Chinese and Korean) puts it within ``curated_min_similarity`` (cosine) of a curated
question (threshold measured on ``eval/paraphrases.jsonl``: ``python -m eval curated``). The answer is
served at once, marked as reviewed by staff (``Answer.curated``), with its citations read from the
current index. Before any match, every active answer is checked against the index manifest: a cited
document whose sha256 changed, or that was removed, or a cited passage no longer in the index,
suspends the answer (``review``), so it is listed for staff and never served stale.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

import numpy as np

from ..config import Settings
from ..embedders import english_encoder, multilingual_encoder
from ..generation.base import Generator
from ..ingest.store import LoadedIndex
from ..search.retrieval import Hit, Retriever
from ..store import FeedbackUnavailable, Store, existing_store, open_store
from ..text import detect_language, split_sentences
from .grounding import CITATION, check_answer
from .intent import analyse
from .languages import LANGUAGES
from .records import Answer, Citation
from .translation import Translator, meaning_similarity
from .verify import shown_passage

log = logging.getLogger(__name__)


USUAL = "{name} questions get the usual answer"


class CurationError(ValueError):
    """A curated answer that cannot be saved; the message says why, for staff."""


def renumbered(text: str, citations: list[dict]) -> tuple[str, list[str]]:
    """An answer's text with its ``[n]`` markers renumbered 1, 2, ... in the order of its
    ``citations`` (each with ``n`` and ``chunk_id``, as an answer or a log entry keeps them), and
    the chunk ids in that order: the form ``Curator.save`` takes."""
    numbers = {int(c["n"]): i for i, c in enumerate(citations, start=1)}

    def mark(m) -> str:
        ns = [str(numbers.get(int(n), n)) for n in re.findall(r"\d+", m.group(1))]
        return m.group(0).replace(m.group(1), ", ".join(ns))

    return CITATION.sub(mark, text), [c["chunk_id"] for c in citations]


def stale_reason(entry: dict, index: LoadedIndex) -> str:
    """Why a curated answer may no longer be served from ``index`` ("" when it may)."""
    files = index.manifest.get("files", {})
    chunk_ids = {c.chunk_id for c in index.chunks}
    for c in entry["citations"]:
        f = files.get(c.get("file", ""))
        if f is None:
            return f"{c.get('file')} was removed"
        if f.get("sha256") != c.get("sha256"):
            return f"{c.get('file')} changed"
        if c.get("chunk_id") not in chunk_ids:
            return f"passage {c.get('chunk_id')} is no longer in the index"
    return ""


@dataclass
class Candidate:
    """One curated entry against a question: its similarity (MiniLM when both are English, else
    multilingual USE), whether it asks for the same kind of thing (``rag.answer.intent``: a place, a
    person, a figure of the same kind ...) and whether the curated question's best passage is among
    the passages found for the question."""

    entry: dict
    similarity: float
    english: bool
    same_intent: bool
    same_passage: bool


def decide(candidates: list[Candidate], min_english: float, min_any: float) -> tuple[dict, float] | None:
    """The best candidate passing both gates and its threshold (``min_english`` for two English
    questions, ``min_any`` otherwise), or None."""
    passing = [
        c
        for c in candidates
        if c.same_intent and c.same_passage and c.similarity >= (min_english if c.english else min_any)
    ]
    best = max(passing, key=lambda c: c.similarity, default=None)
    return (best.entry, best.similarity) if best else None


def _wanted(question: str) -> tuple:
    intent = analyse(question)
    return intent.wants, tuple(sorted(intent.figures))


class Curator:
    """Curated answers over the store the settings name (see the module docstring)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._store: Store | None = None
        self._cache: dict[tuple, object] = {}  # vectors per model, id and text; best passages per index
        self._lock = threading.Lock()

    def store(self, create: bool = False) -> Store | None:
        """The store; None while a SQLite file does not exist (then nothing is curated), unless
        ``create``."""
        if self._store is None:
            self._store = open_store(self.settings) if create else existing_store(self.settings)
        return self._store

    # --- serving (step 0) -----------------------------------------------------------------------

    def review(self, index: LoadedIndex) -> list[dict]:
        """The active curated answers still true to ``index``; the others are suspended (with
        the reason) and left out."""
        store = self.store()
        if store is None:
            return []
        fresh = []
        for entry in store.curated.all("active"):
            reason = stale_reason(entry, index)
            if reason:
                store.curated.set_status(entry["id"], "suspended", reason)
                log.warning("curated answer %d suspended: %s", entry["id"], reason)
            else:
                fresh.append(entry)
        return fresh

    def match(self, question: str, retriever: Retriever) -> tuple[dict, float] | None:
        """The curated answer whose question means the same as ``question`` (and its similarity),
        or None. A store that cannot be read is no curated answer: the pipeline answers as usual."""
        try:
            entries = self.review(retriever.index)
        except FeedbackUnavailable as e:
            log.warning("curated answers not checked: %s", e)
            return None
        if not entries or not question.strip():
            return None
        s = self.settings
        return decide(
            self.candidates(question, entries, retriever), s.curated_min_similarity_en, s.curated_min_similarity
        )

    def candidates(self, question: str, entries: list[dict], retriever: Retriever) -> list[Candidate]:
        """Every curated entry scored against ``question``; the gates (intent, passage) are only
        worked out for entries close enough to matter."""
        english = detect_language(question) == "en"
        en_scores: dict = {}
        use_scores: dict = {}
        english_entries = [e for e in entries if detect_language(e["question"]) == "en"] if english else []
        if english_entries:
            vectors = self._vectors("en", [e["question"] for e in english_entries], [e["id"] for e in english_entries])
            sims = vectors @ self._vectors("en", [question])[0]
            en_scores = {e["id"]: float(x) for e, x in zip(english_entries, sims, strict=True)}
        others = [e for e in entries if e["id"] not in en_scores]  # the multilingual encoder only when needed
        if others:
            vectors = self._vectors("use", [e["question"] for e in others], [e["id"] for e in others])
            use_scores = dict(
                zip([e["id"] for e in others], vectors @ self._vectors("use", [question])[0], strict=True)
            )
        lowest = min(self.settings.curated_min_similarity, self.settings.curated_min_similarity_en) - 0.1
        intent, found = None, None
        out = []
        for e in entries:
            pair_en = e["id"] in en_scores
            similarity = float(en_scores[e["id"]] if pair_en else use_scores[e["id"]])
            if similarity < lowest:
                out.append(Candidate(e, similarity, pair_en, False, False))
                continue
            if intent is None:
                intent = _wanted(question)
                found = {h.chunk.chunk_id for h in retriever.search(question, k=self.settings.top_k)}
            out.append(
                Candidate(
                    e, similarity, pair_en, _wanted(e["question"]) == intent, self._best_passage(e, retriever) in found
                )
            )
        return out

    def _best_passage(self, entry: dict, retriever: Retriever) -> str:
        key = ("passage", entry["id"], entry["question"], retriever.index.path)
        with self._lock:
            if key not in self._cache:
                hits = retriever.search(entry["question"], k=1)
                self._cache[key] = hits[0].chunk.chunk_id if hits else ""
            return self._cache[key]

    def _vectors(self, model: str, texts: list[str], ids: list | None = None) -> np.ndarray:
        """Unit vectors of ``texts`` by the multilingual encoder (``use``) or MiniLM (``en``); with
        ``ids`` (curated questions) kept per id and text, without (a new question) not kept."""
        encoder = multilingual_encoder(self.settings) if model == "use" else english_encoder(self.settings)
        if ids is None:
            return encoder.encode(texts, kind="query")
        keys = [(model, i, t) for i, t in zip(ids, texts, strict=True)]
        with self._lock:
            missing = [k for k in keys if k not in self._cache]
        if missing:
            vectors = encoder.encode([k[2] for k in missing], kind="query")
            with self._lock:
                self._cache.update(zip(missing, vectors, strict=True))
        with self._lock:
            return np.stack([self._cache[k] for k in keys])

    def answer(self, entry: dict, score: float, question: str, lang: str, index: LoadedIndex) -> Answer | None:
        """The curated answer for a question in ``lang`` (None when staff gave no text in it)."""
        text = entry["answers"].get(lang)
        if not text:
            return None
        chunks = {c.chunk_id: c for c in index.chunks}
        citations = [
            Citation.of(c["n"], Hit(c["n"], 1.0, chunks[c["chunk_id"]]), c.get("highlights") or [])
            for c in entry["citations"]
        ]
        return Answer(
            question=question,
            answer=text,
            citations=citations,
            backend="curated",
            model=f"curated #{entry['id']} (similarity {score:.2f})",
            language=lang,
            curated=True,
            curated_id=entry["id"],
        )

    # --- saving -----------------------------------------------------------------------------

    def save(
        self,
        question: str,
        texts: dict[str, str],
        chunk_ids: list[str],
        index: LoadedIndex,
        generator: Generator | None = None,
        source_entry: str = "",
    ) -> tuple[int, list[str]]:
        """Check and store a curated answer; returns its id and notes for staff (translations
        made or not made). ``texts``: {language: answer} with ``[n]`` markers naming
        ``chunk_ids[n - 1]``. CurationError when it cannot be saved."""
        question = (question or "").strip()
        texts = {lang: t.strip() for lang, t in texts.items() if t and t.strip()}
        if not question:
            raise CurationError("Give the question this answer is for.")
        if not texts:
            raise CurationError("Give the answer in at least one language.")
        unknown = sorted(set(texts) - set(LANGUAGES))
        if unknown:
            raise CurationError(f"Unknown language: {', '.join(unknown)}.")
        chunks = {c.chunk_id: c for c in index.chunks}
        chunk_ids = list(dict.fromkeys(c.strip() for c in chunk_ids if c and c.strip()))
        if not chunk_ids:
            raise CurationError("Cite at least one passage of the index (its chunk id, e.g. zone-notes#3).")
        missing = [c for c in chunk_ids if c not in chunks]
        if missing:
            raise CurationError(f"Not in the index: {', '.join(missing)}.")
        passages = [shown_passage(chunks[c]) for c in chunk_ids]
        checked = {lang: self._checked(text, passages, question, lang) for lang, text in texts.items()}
        notes = self._translate_missing(checked, passages, question, generator)
        files = {f["doc_id"]: (name, f["sha256"]) for name, f in index.manifest.get("files", {}).items()}
        citations = []
        for n, cid in enumerate(chunk_ids, start=1):
            name, sha = files.get(chunks[cid].doc_id, ("", ""))
            citations.append({"n": n, "chunk_id": cid, "doc_id": chunks[cid].doc_id, "file": name, "sha256": sha})
        store = self.store(create=True)
        curated_id = store.curated.add(
            question=question,
            language=detect_language(question),
            answers=checked,
            citations=citations,
            reason="; ".join(notes),
            source_entry=source_entry,
        )
        return curated_id, notes

    def _checked(self, text: str, passages: list[str], question: str, lang: str) -> str:
        """``text`` as the answer check keeps it, or CurationError naming what it would drop."""
        if detect_language(text) != lang:
            raise CurationError(f"The {LANGUAGES[lang].name} answer is not written in {LANGUAGES[lang].name}.")
        result = check_answer(text, passages, question)
        dropped = [s for s in result.sentences if not s.kept and s.reason != "empty"]
        if dropped:
            why = "; ".join(f"“{s.text}” ({s.reason})" for s in dropped)
            raise CurationError(f"The {LANGUAGES[lang].name} answer does not pass the answer check: {why}")
        return " ".join(s.text for s in result.sentences if s.kept)

    def _translate_missing(
        self, checked: dict[str, str], passages: list[str], question: str, generator: Generator | None
    ) -> list[str]:
        """Fill the languages staff did not give through the checked translation path; notes."""
        notes = []
        source_lang = "en" if "en" in checked else next(iter(checked))
        for lang in LANGUAGES:
            if lang in checked:
                continue
            name = LANGUAGES[lang].name
            if generator is None or generator.name == "extractive":
                notes.append(f"{name} not given and no language model to translate it: {USUAL.format(name=name)}")
                continue
            translator = Translator(
                generator, meaning_similarity(self.settings), self.settings.min_translation_similarity
            )
            sentences = [translator.translate(s.text, lang) for s in split_sentences(checked[source_lang])]
            failed = [t.reason for t in sentences if not t.translated]
            if failed:
                notes.append(f"{name} translation failed its check ({failed[0]}): {USUAL.format(name=name)}")
                continue
            checked[lang] = " ".join(t.text for t in sentences)
            notes.append(f"{name} translated from {LANGUAGES[source_lang].name} and checked")
        return notes
