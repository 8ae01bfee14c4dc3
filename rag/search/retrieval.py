"""Retrieval: from a question to ranked passages.

Hybrid by default: dense search (FAISS, cosine) and keyword search (BM25 over
``rag.text.keyword_tokens``, which splits Chinese and Korean into character bigrams) each
propose ``candidates`` chunks; every candidate of either list is then scored by both, and the
two scores are fused (``rag.search.fusion``: ``convex`` by default, weighted by
``dense_weight``, or ``rrf``). ``retrieval_mode`` switches to dense-only or BM25-only for
comparison (``rag.config.RETRIEVAL_MODES``).

``Retriever.search`` reads one snapshot of the index for every step (a re-index swapping in a
new one mid-search cannot mix two versions), gathers the fused candidates, passes them through
the optional ``stages`` (``Stage.run(query, hits) -> hits``, e.g. a reranker) and cuts to ``k``.
``search_timed`` also says how long each step took (benchmarks/bench.py reads it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

import numpy as np

from ..config import Settings
from ..embedders import Embedder
from ..ingest.chunking import Chunk
from ..ingest.store import LoadedIndex
from ..text import keyword_tokens
from .fusion import convex, rrf


@dataclass
class Hit:
    rank: int  # 1-based
    score: float  # fused score, or the single retriever's score
    chunk: Chunk
    dense_score: float | None = None  # cosine similarity to the question
    bm25_score: float | None = None  # None in dense-only mode

    def to_json(self) -> dict:
        c = self.chunk
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "doc_id": c.doc_id,
            "title": c.title,
            "source": c.source,
            "chunk_id": c.chunk_id,
            "page": c.page,
            "text": c.text,
        }


@runtime_checkable
class Stage(Protocol):
    """A step after fusion (a reranker, a filter): gets every fused candidate, best first, and
    returns them in its own order; ``Retriever.search`` then cuts to ``k`` and renumbers ranks."""

    def run(self, query: str, hits: list[Hit]) -> list[Hit]: ...


STAGE_TIMINGS = ("embed", "dense", "bm25", "fusion", "stages", "total")  # keys of search_timed's timings, ms


class Retriever:
    """Searches one loaded index. Thread-safe; ``swap`` installs a rebuilt index, and a search
    already running keeps the index it started with (every step reads one snapshot)."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: Settings, stages: Sequence[Stage] = ()):
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.stages = list(stages)
        self._lock = threading.Lock()

    def swap(self, index: LoadedIndex) -> None:
        with self._lock:
            self.index = index

    def search(self, query: str, k: int | None = None, mode: str | None = None) -> list[Hit]:
        return self.search_timed(query, k, mode)[0]

    def search_timed(self, query: str, k: int | None = None, mode: str | None = None) -> tuple[list[Hit], dict]:
        """``search``, and how long each step took (``STAGE_TIMINGS``, milliseconds)."""
        t0 = time.perf_counter()
        k = k or self.settings.top_k
        mode = mode or self.settings.retrieval_mode
        with self._lock:
            index, stages = self.index, list(self.stages)
        timings = dict.fromkeys(STAGE_TIMINGS, 0.0)
        if index.size == 0 or not query.strip():
            return [], timings
        hits = self.candidates(index, query, max(self.settings.candidates, k), mode, timings)
        t = time.perf_counter()
        for stage in stages:
            hits = stage.run(query, hits)
        hits = [replace(h, rank=rank) for rank, h in enumerate(hits[:k], start=1)]
        timings["stages"] = _ms(t)
        timings["total"] = _ms(t0)
        return hits, timings

    def candidates(self, index: LoadedIndex, query: str, n: int, mode: str, timings: dict) -> list[Hit]:
        """Up to ``n`` candidates of each retriever, fused, best first, all from ``index``."""
        s = self.settings
        t = time.perf_counter()
        qvec = self.embedder.encode([query], kind="query")[0]
        timings["embed"] = _ms(t)
        t = time.perf_counter()
        dense = dense_search(index, qvec, n) if mode != "bm25" else []
        timings["dense"] = _ms(t)
        t = time.perf_counter()
        bm25 = bm25_scores(index, query) if mode != "dense" else None
        keyword = top_n(bm25, n) if bm25 is not None else []
        timings["bm25"] = _ms(t)
        t = time.perf_counter()
        cosine = dict(dense)
        weights = [s.dense_weight, 1 - s.dense_weight]
        if mode == "dense":
            ranked = dense
        elif mode == "bm25":
            ranked = keyword
        elif s.fusion == "rrf":
            ranked = rrf([dense, keyword], s.rrf_k, weights)
        else:  # convex fusion needs both scores of every candidate
            rows = list(dict.fromkeys([r for r, _ in dense] + [r for r, _ in keyword]))
            cosine |= _cosines(index, qvec, [r for r in rows if r not in cosine])
            ranked = convex(rows, [cosine, {r: float(bm25[r]) for r in rows}], weights)
        cosine |= _cosines(index, qvec, [r for r, _ in ranked if r not in cosine])
        hits = [
            Hit(rank, score, index.chunks[row], cosine[row], None if bm25 is None else float(bm25[row]))
            for rank, (row, score) in enumerate(ranked, start=1)
        ]
        timings["fusion"] = _ms(t)
        return hits


def dense_search(index: LoadedIndex, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]:
    """The ``n`` nearest chunks of ``index`` as (row, cosine similarity), best first."""
    n = min(n, index.size)
    if n == 0:
        return []
    scores, rows = index.dense.search(query_vec.reshape(1, -1), n)
    return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]


def bm25_scores(index: LoadedIndex, query: str) -> np.ndarray:
    """BM25 score of every chunk of ``index`` for the query (zeros when it has no keywords)."""
    tokens = keyword_tokens(query)
    if not tokens or index.size == 0:
        return np.zeros(index.size, dtype=np.float32)
    return np.asarray(index.bm25.get_scores(tokens), dtype=np.float32)[: index.size]


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def open_retriever(settings: Settings, embedder: Embedder | None = None, progress=None) -> Retriever:
    """Load the index, building or updating it first if it is missing or unusable."""
    from ..embedders import get_embedder
    from ..ingest.build import build_index
    from ..ingest.store import IndexUnavailable, expected_identity, load_index

    embedder = embedder or get_embedder(settings)
    identity = expected_identity(settings, embedder)
    try:
        index = load_index(settings.index_dir)
        stale = any(index.manifest.get(key) != value for key, value in identity.items())
    except IndexUnavailable:
        stale = True
    if stale:
        build_index(settings, embedder, progress=progress)
        index = load_index(settings.index_dir)
    return Retriever(index, embedder, settings)


def _cosines(index: LoadedIndex, qvec: np.ndarray, rows: list[int]) -> dict[int, float]:
    """Cosine similarity of the question to chunks the dense search did not return (their
    similarity still counts in fusion and in the abstention check)."""
    if not rows:
        return {}
    vectors = index.dense.reconstruct_batch(np.asarray(rows, dtype=np.int64))
    return {r: float(v) for r, v in zip(rows, vectors @ qvec, strict=True)}


def top_n(scores: np.ndarray, n: int) -> list[tuple[int, float]]:
    """The ``n`` best-scoring rows with a positive score, as (row, score), best first."""
    n = min(n, len(scores))
    if n == 0:
        return []
    rows = np.argpartition(-scores, n - 1)[:n]
    rows = rows[np.argsort(-scores[rows], kind="stable")]
    return [(int(r), float(scores[r])) for r in rows if scores[r] > 0]
