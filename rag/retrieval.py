"""Retrieval: from a question to ranked passages.

Hybrid by default: dense search (FAISS, cosine) and keyword search (BM25 over
``rag.text.keyword_tokens``, which splits Chinese and Korean into character bigrams) each
propose ``candidates`` chunks; every candidate of either list is then scored by both, and the
two scores are fused:

- ``fusion="convex"`` (default): each score min-max normalised over the candidates, then
  ``dense_weight * dense + (1 - dense_weight) * bm25``. Scores carry how sure each retriever is,
  which ranks alone lose: on CMRC 2018 this beats BM25 alone, while equal-weight RRF fell
  below it (eval/README.md).
- ``fusion="rrf"``: reciprocal rank fusion, sum of 1/(rrf_k + rank), weighted the same way.

``retrieval_mode`` switches to dense-only or BM25-only for comparison.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .chunking import Chunk
from .config import Settings
from .embedding import Embedder
from .index import LoadedIndex
from .text import keyword_tokens


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


class Retriever:
    """Searches one loaded index. Thread-safe; ``swap`` installs a rebuilt index."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: Settings):
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self._lock = threading.Lock()

    def swap(self, index: LoadedIndex) -> None:
        with self._lock:
            self.index = index

    def dense(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]:
        """The ``n`` nearest chunks as (row, cosine similarity), best first."""
        index = self.index
        n = min(n, index.size)
        if n == 0:
            return []
        scores, rows = index.dense.search(query_vec.reshape(1, -1), n)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]

    def bm25_scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for the query (zeros when it has no keywords)."""
        index = self.index
        tokens = keyword_tokens(query)
        if not tokens or index.size == 0:
            return np.zeros(index.size, dtype=np.float32)
        return np.asarray(index.bm25.get_scores(tokens), dtype=np.float32)[: index.size]

    def search(self, query: str, k: int | None = None, mode: str | None = None) -> list[Hit]:
        k = k or self.settings.top_k
        mode = mode or self.settings.retrieval_mode
        with self._lock:
            index = self.index
        if index.size == 0 or not query.strip():
            return []
        s = self.settings
        n = max(s.candidates, k)
        qvec = self.embedder.encode([query], kind="query")[0]
        dense = self.dense(qvec, n) if mode != "bm25" else []
        bm25 = self.bm25_scores(query) if mode != "dense" else None
        keyword = top_n(bm25, n) if bm25 is not None else []
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
        cosine |= _cosines(index, qvec, [r for r, _ in ranked[:k] if r not in cosine])
        return [
            Hit(rank, score, index.chunks[row], cosine[row], None if bm25 is None else float(bm25[row]))
            for rank, (row, score) in enumerate(ranked[:k], start=1)
        ]


def open_retriever(settings: Settings, embedder: Embedder | None = None, progress=None) -> Retriever:
    """Load the index, building or updating it first if it is missing or unusable."""
    from .embedding import get_embedder
    from .index import IndexUnavailable, build_index, expected_identity, load_index

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
    return {r: float(v) for r, v in zip(rows, vectors @ qvec)}


def top_n(scores: np.ndarray, n: int) -> list[tuple[int, float]]:
    """The ``n`` best-scoring rows with a positive score, as (row, score), best first."""
    n = min(n, len(scores))
    if n == 0:
        return []
    rows = np.argpartition(-scores, n - 1)[:n]
    rows = rows[np.argsort(-scores[rows], kind="stable")]
    return [(int(r), float(scores[r])) for r in rows if scores[r] > 0]


def rrf(
    rankings: list[list[tuple[int, float]]], k: int = 60, weights: list[float] | None = None
) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of several ranked lists of (row, score), optionally weighted."""
    weights = weights or [1.0] * len(rankings)
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, (row, _) in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda item: -item[1])


def convex(rows: list[int], scores: list[dict[int, float]], weights: list[float]) -> list[tuple[int, float]]:
    """Convex combination of min-max normalised scores of the same candidate rows."""
    if not rows:
        return []
    fused = dict.fromkeys(rows, 0.0)
    for by_row, weight in zip(scores, weights):
        values = np.array([by_row[r] for r in rows], dtype=np.float64)
        low, span = values.min(), np.ptp(values)
        normalised = (values - low) / span if span > 0 else np.ones_like(values)
        for r, v in zip(rows, normalised):
            fused[r] += weight * float(v)
    return sorted(fused.items(), key=lambda item: -item[1])
