"""Compression: only the sentences of each passage that matter to this question go into the prompt.

The model's time is mostly reading the prompt (issue 19: about 4.4 s of 6.4 s for a 700-token
prompt on two cores), and most of a retrieved passage is about something else. Query-aware
extractive compression (as RECOMP and LongLLMLingua do) keeps, within each passage, the sentences
that carry the question's focus terms, a figure of the kind it asks for, or a name it states, and
the ones closest to it in meaning; a sentence that leans on the one before it ("They ...",
"This ...") keeps that one too. Every passage keeps at least its best sentence, under its
document's title as before; a sentence an earlier passage already gave (passages overlap) is not
given again. Dropped stretches are marked "…".

Only the model reads the compressed text: the checks, the quotes and the sources panel still see
each whole passage, so nothing the model may cite is lost to the check.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from ..text import split_sentences
from .intent import Intent, figures_in, focus_share

GAP = " … "
MIN_MEANING = 0.45  # a sentence at least this close in meaning to the question is kept
# a sentence opening on a word that points back needs the sentence before it
_LEANS_BACK = re.compile(r"^(?:they|them|this|these|that|those|it|its|he|she|his|her|such|also|meanwhile)\b", re.I)


def compress(
    texts: list[str],
    intent: Intent,
    query: str,
    encode: Callable[[list[str]], np.ndarray] | None = None,
    titles: list[str] | None = None,
) -> list[str]:
    """Each passage text cut to the sentences that matter to the question (see the module docstring);
    a line repeating the passage's ``titles`` entry is left out (the prompt's heading says it)."""
    titles = titles or [""] * len(texts)
    spans = [_body(t, title) for t, title in zip(texts, titles, strict=True)]
    closeness = _closeness(spans, query, encode)
    out, shown = [], set()
    for sentences, close in zip(spans, closeness, strict=True):
        # passages overlap (chunk_overlap): a sentence an earlier passage already gave is said once
        new = [i for i, s in enumerate(sentences) if s not in shown]
        keep = {i for i in new if _matters(sentences[i], intent) or close[i] >= MIN_MEANING}
        # the passage's best new sentence: the closest in meaning, else the one with most of the focus
        best = close if encode is not None else np.array([focus_share(intent, s) for s in sentences])
        if new:
            keep.add(max(new, key=lambda i: best[i]))
        keep |= {i - 1 for i in keep if i > 0 and _LEANS_BACK.match(sentences[i]) and i - 1 in new}
        shown.update(sentences[i] for i in keep)
        out.append(_joined(sentences, sorted(keep)) or GAP.strip())
    return out


def _body(text: str, title: str) -> list[str]:
    """The passage's sentences, without a line that repeats its document's title."""
    sentences = [s.text for s in split_sentences(text)] or [text]
    return [s for s in sentences if s != title.strip()] or sentences


def _matters(sentence: str, intent: Intent) -> bool:
    """Whether the sentence carries a focus term, a figure of the kind asked for, or a name the
    question states."""
    if focus_share(intent, sentence) > 0:
        return True
    if intent.wants == "figure" and any(figures_in(sentence).get(kind) for kind in intent.figures):
        return True
    low = sentence.lower()
    return any(name in low for name in intent.names)


def _closeness(spans: list[list[str]], query: str, encode) -> list[np.ndarray]:
    """Each sentence's cosine to the question (zeros without an encoder)."""
    if encode is None:
        return [np.zeros(len(s)) for s in spans]
    flat = [s for sentences in spans for s in sentences]
    vectors = np.asarray(encode([query, *flat]), dtype=np.float32)
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    scores = vectors[1:] @ vectors[0]
    out, start = [], 0
    for sentences in spans:
        out.append(scores[start : start + len(sentences)])
        start += len(sentences)
    return out


def _joined(sentences: list[str], keep: list[int]) -> str:
    """The kept sentences in order, with "…" where sentences were left out."""
    parts: list[str] = []
    for j, i in enumerate(keep):
        if (j == 0 and i > 0) or (j > 0 and i != keep[j - 1] + 1):
            parts.append(GAP.strip())
        parts.append(sentences[i])
    if keep and keep[-1] < len(sentences) - 1:
        parts.append(GAP.strip())
    return " ".join(parts)
