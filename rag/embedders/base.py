"""The embedder interface: text to unit-length vectors, and the helpers every model shares
(batching with one progress bar per long job, normalisation)."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Literal

import numpy as np

Kind = Literal["query", "passage"]


class Embedder(ABC):
    name: str
    dim: int
    batch_size: int = 32

    @abstractmethod
    def encode(self, texts: list[str], kind: Kind = "passage", progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Length of ``text`` in this model's tokens (chunk sizes are measured in these)."""

    def shows_bar(self, n: int, kind: Kind, progress: bool) -> bool:
        """Whether encoding ``n`` texts shows a progress bar: only passage jobs of several batches."""
        return progress and kind == "passage" and n > self.batch_size


def unit(vecs: np.ndarray) -> np.ndarray:
    vecs = np.asarray(vecs, dtype=np.float32)
    return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)


def batched(embed: Callable[[list[str]], np.ndarray], texts: list[str], size: int, dim: int, bar: bool) -> np.ndarray:
    """``embed`` over ``texts`` in batches of ``size``, with one progress bar when ``bar``."""
    from tqdm.auto import tqdm

    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    starts = range(0, len(texts), size)
    return np.vstack(
        [embed(texts[i : i + size]) for i in tqdm(starts, desc="Embedding", unit="batch", disable=not bar)]
    )


class BatchedEmbedder(Embedder):
    """A model that encodes a list at a time: batches, one lock, one progress bar, unit rows."""

    def __init__(self, model, batch_size: int):
        self._model, self.batch_size = model, batch_size
        self._lock = threading.Lock()

    @abstractmethod
    def _embed(self, texts: list[str], kind: Kind) -> np.ndarray:
        """Vectors of one batch (any length, any float type)."""

    def encode(self, texts, kind="passage", progress=False):
        texts = list(texts)

        def locked(batch: list[str]) -> np.ndarray:
            with self._lock:
                return np.asarray(self._embed(batch, kind), dtype=np.float32)

        return unit(batched(locked, texts, self.batch_size, self.dim, self.shows_bar(len(texts), kind, progress)))
