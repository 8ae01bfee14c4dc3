"""Verification: step 5 of ``Assistant.ask_stream``, the drafted sentences checked one by one
before an investor sees any of them, and the citations of what was kept.

``Verifier(passages, question, intent)`` regroups the streamed draft into sentences
(``sentences_of``) and releases the ones that may be shown: each is reshaped to the question (a
"Yes," opening a what-question is dropped: ``rag.answer.intent.reshape``), grounded in the
passages it cites (``rag.answer.grounding.check_sentence``) and must address the question's focus
(``rag.answer.intent.addresses``). A question wanting a figure, a person or a place holds its
sentences back until one delivers it (``rag.answer.intent.delivers``); if none does, nothing is
shown and the assistant abstains. ``citations_for`` turns the kept sentences into one
``Citation`` per cited passage with its supporting sentences marked (``supporting_spans``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator

import numpy as np

from ..glossary import respell
from ..search.retrieval import Hit
from ..text import detect_language, keyword_tokens, split_sentences
from .grounding import ATTRIBUTION, Attribution, CheckedSentence, check_sentence, claims, markers_before_stops
from .intent import Intent, about_the_passage, addresses, delivers, reshape
from .records import Citation, Event


def shown_passage(chunk) -> str:
    """A passage as a citation shows it: its document's title, what the document is about (when
    the title does not say), publisher and date, then its text."""
    meta = " · ".join(x for x in (chunk.publisher, chunk.date) if x)
    return "\n".join(x for x in (chunk.title, chunk.about and f"About: {chunk.about}", meta, chunk.text) if x)


class Verifier:
    """Checks streamed answer sentences and releases the ones that may be shown (see the module
    docstring). ``passages[n - 1]`` is passage ``[n]`` as the investor sees it."""

    def __init__(
        self,
        passages: list[str],
        question: str,
        intent: Intent,
        standalone: str = "",
        docs: list[str] | None = None,
        encode: Callable[[list[str]], np.ndarray] | None = None,
        rules: Attribution = ATTRIBUTION,
    ):
        self.passages = passages
        self.langs = [detect_language(p) for p in passages]  # once per answer, not once per sentence
        self.docs = docs
        self.rules = rules
        self.question_text = f"{question} {standalone}".strip()
        self.intent = intent
        self.kept: list[CheckedSentence] = []
        self.removed: list[dict] = []
        self.shown = 0  # sentences released to the investor
        self.delivered = not intent.wants
        self._meaning = _Meaning(passages, encode) if encode is not None else None
        self._titles = {_plain(p.split("\n", 1)[0]) for p in passages}  # each passage opens with its title

    def stream(self, pieces: Iterator[str]) -> Iterator[Event]:
        for sentence in sentences_of(pieces):
            checked = self.check(sentence)
            if checked is None:
                continue
            self.kept.append(checked)
            self.delivered = self.delivered or delivers(self.intent, checked.text, self._cited(checked))
            if self.delivered:
                for pending in self.kept[self.shown :]:
                    yield Event("delta", ("" if self.shown == 0 else " ") + pending.text)
                    self.shown += 1

    def check(self, sentence: str) -> CheckedSentence | None:
        """The sentence as it may be shown, or None (recorded in ``removed`` with the reason)."""
        reshaped = respell(reshape(sentence, self.intent), "\n".join(self.passages))
        if about_the_passage(reshaped):
            self.removed.append({"sentence": reshaped, "reason": "talks about the passage, not the zone"})
            return None
        if _plain(reshaped) in self._titles:  # a heading copied from the passages says nothing
            self.removed.append({"sentence": reshaped, "reason": "repeats a document title"})
            return None
        meaning = self._meaning.of(reshaped) if self._meaning is not None else None
        checked = check_sentence(
            reshaped, self.passages, self.question_text, self.langs, meaning, self.docs, self.rules
        )
        if not checked.kept:
            if checked.reason != "empty":
                reason = "says the documents do not answer" if checked.reason == "refusal" else checked.reason
                self.removed.append({"sentence": checked.text, "reason": reason})
            return None
        evidence = " ".join(
            self.passages[n - 1][a:b]
            for n in checked.citations
            for a, b in supporting_spans(self.passages[n - 1], [checked.text])
        )
        # a yes restating the question counts only when its passage itself holds what was asked about
        if not addresses(self.intent, "" if checked.restates else checked.text, evidence):
            self.removed.append({"sentence": checked.text, "reason": "does not address the question"})
            return None
        return checked

    def placements(self) -> dict[str, int]:
        """How the kept sentences' citations came about: as the model cited, placed, corrected."""
        return dict(Counter(c.placement for c in self.kept))

    def answer(self) -> list[CheckedSentence]:
        """The kept sentences, or none when the question wanted something none of them gives."""
        if self.delivered:
            return self.kept
        for c in self.kept:
            self.removed.append({"sentence": c.text, "reason": f"gives no {self.intent.wants_label}"})
        return []

    def _cited(self, checked: CheckedSentence) -> str:
        return " ".join(self.passages[n - 1] for n in checked.citations)


class _Meaning:
    """How close a sentence is in meaning to each passage: the cosine to the passage's closest
    sentence, with the passages' sentences encoded once per answer."""

    def __init__(self, passages: list[str], encode: Callable[[list[str]], np.ndarray]):
        self.encode = encode
        spans = [[sp.text for sp in split_sentences(p)] or [p] for p in passages]
        self.owner = np.array([i for i, ss in enumerate(spans) for _ in ss])
        self.vectors = _unit(encode([t for ss in spans for t in ss]))
        self.n = len(passages)

    def of(self, sentence: str) -> list[float]:
        scores = self.vectors @ _unit(self.encode([sentence]))[0]
        return [float(scores[self.owner == i].max()) if (self.owner == i).any() else 0.0 for i in range(self.n)]


def _plain(text: str) -> str:
    """Text without markers, punctuation, case or spacing differences (for comparing headings)."""
    return " ".join(re.sub(r"\[\d+\]|[^\w\s]", " ", text).lower().split())


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def sentences_of(pieces: Iterator[str]) -> Iterator[str]:
    """Regroup streamed text pieces into whole sentences, each yielded once it is complete."""
    buffer = ""
    for piece in pieces:
        buffer = markers_before_stops(buffer + piece)
        spans = split_sentences(buffer)
        # the last span may still be growing, and a "[" opening it may be the previous one's marker
        done = len(spans) - (2 if spans and spans[-1].text.startswith("[") else 1)
        if done > 0:
            for span in spans[:done]:
                yield span.text
            buffer = buffer[spans[done].start :]
    for span in split_sentences(markers_before_stops(buffer)):
        yield span.text


def citations_for(kept: list[CheckedSentence], hits: list[Hit]) -> list[Citation]:
    """One Citation per cited passage, in passage order, with its supporting sentences marked."""
    by_passage: dict[int, list[str]] = {}
    for s in kept:
        for n in s.citations:
            by_passage.setdefault(n, []).append(s.text)
    return [
        Citation.of(n, hits[n - 1], supporting_spans(hits[n - 1].chunk.text, by_passage[n])) for n in sorted(by_passage)
    ]


def supporting_spans(passage: str, answer_sentences: list[str]) -> list[tuple[int, int]]:
    """For each answer sentence, the passage sentence sharing the most words and claims with it."""
    spans = split_sentences(passage)
    chosen: list[tuple[int, int]] = []
    for sentence in answer_sentences:
        words = set(keyword_tokens(sentence)) | set(claims(sentence))
        best, best_score = None, 0.0
        for span in spans:
            score = len(words & (set(keyword_tokens(span.text)) | set(claims(span.text))))
            if score > best_score:
                best, best_score = span, score
        if best is not None and (best.start, best.end) not in chosen:
            chosen.append((best.start, best.end))
    return sorted(chosen)
