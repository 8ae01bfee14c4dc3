"""The extractive backend: no language model. It answers with the passage sentences that best
match the question, each followed by its citation marker ``[n]``. It is the fallback when an
LLM backend fails and the choice for machines too small for one.

Sentences are scored by cosine similarity to the question when an embedder is given, else by
the share of the question's keywords they contain.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..text import keyword_tokens, split_sentences
from .base import Generator, Prompt

MIN_KEYWORDS = 3  # shorter spans are headings or fragments, not answers
RELATIVE_FLOOR = 0.6  # drop sentences scoring under this share of the best one


class ExtractiveGenerator(Generator):
    name = "extractive"
    model = "none"

    def __init__(self, embedder=None, max_sentences: int = 3):
        self.embedder = embedder
        self.max_sentences = max_sentences

    def _scores(self, question: str, sentences: list[str]) -> np.ndarray:
        if self.embedder is not None:
            q = self.embedder.encode([question], kind="query")[0]
            return self.embedder.encode(sentences, kind="passage") @ q
        wanted = set(keyword_tokens(question))
        if not wanted:
            return np.zeros(len(sentences), dtype=np.float32)
        return np.array([len(wanted & set(keyword_tokens(s))) / len(wanted) for s in sentences], dtype=np.float32)

    def select(self, question: str, passages: list[str]) -> list[tuple[str, int]]:
        """The best (sentence, passage number) pairs, most relevant first."""
        seen: set[str] = set()
        candidates: list[tuple[str, int]] = []
        for n, passage in enumerate(passages, 1):
            for span in split_sentences(passage):
                if span.text not in seen:  # neighbouring chunks overlap
                    seen.add(span.text)
                    candidates.append((span.text, n))
        if not candidates:
            return []
        long_enough = [c for c in candidates if len(keyword_tokens(c[0])) >= MIN_KEYWORDS]
        candidates = long_enough or candidates
        scores = self._scores(question, [text for text, _ in candidates])
        best = float(scores.max())
        if best <= 0:
            return []
        order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))  # stable: earlier passages win ties
        return [candidates[i] for i in order[: self.max_sentences] if scores[i] >= RELATIVE_FLOOR * best]

    def stream(self, prompt: Prompt) -> Iterator[str]:
        for sentence, n in self.select(prompt.question, prompt.passages):
            yield f"{sentence} [{n}]\n"  # one line each: a heading without a full stop stays alone
