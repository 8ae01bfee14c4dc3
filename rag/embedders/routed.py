"""Two embedders over one index, a query routed by its language (registry name ``minilm+use``,
the default: English questions by MiniLM, Chinese and Korean ones by multilingual USE)."""

from __future__ import annotations

import numpy as np

from ..text import detect_language
from .base import Embedder


class RoutedEmbedder(Embedder):
    """Two embedders in one vector space of both their dimensions: a passage is embedded by both
    (each half of length 1/sqrt 2, so the whole is unit-length), a query by the one for its
    language (English: ``english``, any other: ``multilingual``) at length sqrt 2, the other half
    zero. The inner product of a query with a passage is then the cosine in that model's half, so
    one FAISS index serves both, and an English question is searched exactly as by ``english``
    alone. (Query vectors are the one exception to unit length.)"""

    def __init__(self, name: str, english: Embedder, multilingual: Embedder):
        self.name = name
        self.english, self.multilingual = english, multilingual
        self.dim = english.dim + multilingual.dim
        self.batch_size = english.batch_size

    def _half(self, text: str) -> int:
        return 0 if detect_language(text) == "en" else 1

    def encode(self, texts, kind="passage", progress=False):
        if kind == "passage":
            halves = [self.english.encode(texts, kind, progress), self.multilingual.encode(texts, kind)]
            return (np.hstack(halves) / np.sqrt(2)).astype(np.float32)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for half, model, start in ((0, self.english, 0), (1, self.multilingual, self.english.dim)):
            rows = [i for i, t in enumerate(texts) if self._half(t) == half]
            if rows:
                out[rows, start : start + model.dim] = model.encode([texts[i] for i in rows], kind) * np.sqrt(2)
        return out

    def count_tokens(self, text):
        return self.english.count_tokens(text)  # chunk sizes are measured as the English model counts
