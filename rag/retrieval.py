"""Retrieval: from a question to ranked passages.

Hybrid by default: dense search (FAISS, cosine) and keyword search (BM25 over
``rag.text.keyword_tokens``, which splits Chinese and Korean into character bigrams), each
taking ``candidates`` results, fused by reciprocal rank fusion (score = sum 1/(rrf_k + rank)).
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
    score: float  # fused score (RRF), or the single retriever's score
    chunk: Chunk
    dense_score: float | None = None  # cosine similarity to the question, when known
    bm25_score: float | None = None

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
        index = self.index
        n = min(n, index.size)
        if n == 0:
            return []
        scores, rows = index.dense.search(query_vec.reshape(1, -1), n)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]

    def keyword(self, query: str, n: int) -> list[tuple[int, float]]:
        index = self.index
        tokens = keyword_tokens(query)
        n = min(n, index.size)
        if not tokens or n == 0:
            return []
        rows, scores = index.bm25.retrieve([tokens], k=n, show_progress=False, n_threads=1)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if s > 0]

    def search(self, query: str, k: int | None = None, mode: str | None = None) -> list[Hit]:
        k = k or self.settings.top_k
        mode = mode or self.settings.retrieval_mode
        with self._lock:
            index = self.index
        if index.size == 0 or not query.strip():
            return []
        n = max(self.settings.candidates, k)
        qvec = self.embedder.encode([query], kind="query")[0]
        dense = self.dense(qvec, n) if mode != "bm25" else []
        keyword = self.keyword(query, n) if mode != "dense" else []
        if mode == "dense":
            ranked = dense
        elif mode == "bm25":
            ranked = keyword
        else:
            ranked = rrf([dense, keyword], self.settings.rrf_k)
        dense_scores = dict(dense)
        bm25_scores = dict(keyword)
        hits = []
        for rank, (row, score) in enumerate(ranked[:k], start=1):
            cos = dense_scores.get(row)
            if cos is None:  # keyword-only hit: its similarity is still needed for abstention
                cos = float(np.dot(index.dense.reconstruct(row), qvec)) if _reconstructable(index) else None
            hits.append(Hit(rank, score, index.chunks[row], cos, bm25_scores.get(row)))
        return hits


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


def _reconstructable(index: LoadedIndex) -> bool:
    return index.manifest.get("index", {}).get("type") in ("flat", "hnsw")


def rrf(rankings: list[list[tuple[int, float]]], k: int = 60) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of several ranked lists of (row, score)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (row, _) in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda item: -item[1])
