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
import threading

import numpy as np

from ..config import Settings
from ..generation.base import Generator
from ..ingest.store import LoadedIndex
from ..search.retrieval import Hit
from ..store import FeedbackUnavailable, Store, existing_store, open_store
from ..text import detect_language, split_sentences
from .grounding import check_answer
from .languages import LANGUAGES
from .records import Answer, Citation
from .translation import Translator, meaning_similarity
from .verify import shown_passage

log = logging.getLogger(__name__)


USUAL = "{name} questions get the usual answer"


class CurationError(ValueError):
    """A curated answer that cannot be saved; the message says why, for staff."""


def multilingual_encoder(settings: Settings):
    """The multilingual USE encoder (loaded once per process by ``rag.embedders.get_embedder``)."""
    from ..embedders import get_embedder

    return get_embedder(settings.model_copy(update={"embedder": "use-multilingual"}))


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


class Curator:
    """Curated answers over the store the settings name (see the module docstring)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._store: Store | None = None
        self._vectors: dict[tuple[int, str], np.ndarray] = {}
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

    def match(self, question: str, index: LoadedIndex) -> tuple[dict, float] | None:
        """The curated answer whose question means the same as ``question`` (and its cosine), or
        None. A store that cannot be read is no curated answer: the pipeline answers as usual."""
        try:
            entries = self.review(index)
        except FeedbackUnavailable as e:
            log.warning("curated answers not checked: %s", e)
            return None
        if not entries or not question.strip():
            return None
        scores = self.similarities(question, [e["question"] for e in entries], [e["id"] for e in entries])
        best = int(np.argmax(scores))
        if scores[best] < self.settings.curated_min_similarity:
            return None
        return entries[best], float(scores[best])

    def similarities(self, question: str, curated: list[str], ids: list | None = None) -> np.ndarray:
        """Cosine of ``question`` to each curated question (their vectors kept per id and text)."""
        encoder = multilingual_encoder(self.settings)
        keys = [(i, q) for i, q in zip(ids or range(len(curated)), curated, strict=True)]
        with self._lock:
            missing = [k for k in keys if k not in self._vectors]
        if missing:
            vectors = encoder.encode([q for _, q in missing], kind="query")
            with self._lock:
                self._vectors.update(zip(missing, vectors, strict=True))
        matrix = np.stack([self._vectors[k] for k in keys])
        return matrix @ encoder.encode([question], kind="query")[0]

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
