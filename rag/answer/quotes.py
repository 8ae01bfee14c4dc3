"""Quotes: the documents' own sentences, put in the answer by the pipeline, not by the model.

Two cases where the draft gives too little:
  * ``quote_for``: before an abstention. The evidence gate passed but no drafted sentence
    survived the checks. The passage sentences that deliver what was asked are quoted with their
    citation, marked as a quote. That means the figure of the kind asked for, a contact, a
    person or organisation, a place, and the question's focus terms (the intent already read,
    ``rag.answer.intent``). Only when no sentence delivers it does the assistant abstain.
  * ``completions``: a list question ("which fields ...") whose answer names only some of the
    items its passage sentence enumerates gets that sentence quoted in full.
A quote is a passage's sentence as written, so it is grounded by construction. What it must earn
is relevance: its focus coverage must be high, so that an unanswerable question is not answered
with a near-miss sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..glossary import respell
from ..search.retrieval import Hit
from ..text import keyword_tokens, split_sentences
from .grounding import CheckedSentence
from .intent import Intent, delivers, focus_share, focus_terms
from .verify import shown_passage, supporting_spans

MIN_WORDS = 4  # shorter spans are headings or fragments
MIN_FOCUS = 0.66  # share of the question's focus terms a quoted sentence must hold (all of one or two)
MIN_ITEMS = 3  # an enumeration worth completing
_ITEM_SPLIT = re.compile(r"\s*(?:,|，|、|;|；|\band\b|\bas well as\b|\bsuch as\b|\bincluding\b|和|及|以及)\s*")


@dataclass
class Quote:
    text: str  # the passage sentence as written
    n: int  # its passage number

    def marked(self) -> str:
        """The quote as it stands in an answer: in quotation marks, with its citation."""
        return f"“{self.text.rstrip()}” [{self.n}]"


def quote_for(
    intent: Intent,
    question: str,
    hits: list[Hit],
    encode: Callable[[list[str]], np.ndarray] | None = None,
    query: str = "",
) -> list[Quote]:
    """The passage sentence that best delivers what the question asks for, or none. Its focus is
    read from the question as the investor asked it (with the glossary's English names), not
    from the model's rewrite, which adds words of its own ("the name of the chief officer");
    ``query``: the question in the passages' language, for ranking by meaning."""
    candidates: list[Quote] = []
    shares: list[float] = []
    for n, hit in enumerate(hits, start=1):
        shown = shown_passage(hit.chunk)
        # the question's words as this passage writes them ("tour operator" -> "tourism agencies")
        own = focus_terms(respell(question, hit.chunk.text, intent.lang), intent.lang)
        if not any(t.isascii() == (hit.chunk.lang == "en") for t in own):
            own |= intent.focus  # none in the passage's script: the rewrite's words stand in
        focus = replace(intent, focus=frozenset(own))
        if not focus.focus:
            continue  # nothing to hold a quote to: a question with no focus gets no near miss
        for span in split_sentences(hit.chunk.text):
            text = span.text
            share = focus_share(focus, text)
            if len(keyword_tokens(text)) < MIN_WORDS or share < MIN_FOCUS or not delivers(intent, text, shown):
                continue
            candidates.append(Quote(text, n))
            shares.append(share)
    if not candidates:
        return []
    scores = list(shares)
    if encode is not None:  # ties on focus broken by meaning: the sentence closest to the question
        vectors = encode([query or question] + [q.text for q in candidates])
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        scores = [s + 0.5 * float(v @ vectors[0]) for s, v in zip(scores, vectors[1:], strict=True)]
    best = max(range(len(candidates)), key=lambda i: (scores[i], -i))
    return [candidates[best]]


def completions(intent: Intent, kept: list[CheckedSentence], hits: list[Hit]) -> list[Quote]:
    """For a list question: each cited passage sentence enumerating more items than the answer
    names, to be quoted in full after it."""
    if not intent.lists:
        return []
    answer = " ".join(c.text for c in kept)
    said = set(keyword_tokens(answer))
    out: list[Quote] = []
    for c in kept:
        for n in c.citations:
            passage = hits[n - 1].chunk.text
            for a, b in supporting_spans(passage, [c.text]):
                sentence = passage[a:b]
                items = [set(keyword_tokens(i)) for i in _ITEM_SPLIT.split(sentence) if keyword_tokens(i)]
                if len(items) < MIN_ITEMS:
                    continue
                named = sum(len(i & said) * 2 >= len(i) for i in items)
                if 0 < named < len(items) and all(q.text != sentence for q in out):
                    out.append(Quote(sentence, n))
    return out
