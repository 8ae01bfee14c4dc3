"""Records: what the pipeline hands out, from the core to the page, the CLI and the evaluation.

- ``Citation``: one numbered passage as an answer cites it (document title, publisher, date,
  page, the passage, the spans of it that support the answer);
- ``Answer``: one answer with its citations, or an abstention with related reading, and
  everything that explains it (the standalone query, the passages searched, the intent, the
  sentences the checks removed, the translation, timings). The web page renders this type and
  nothing else: its constructors ``refused`` (a busy server, a question asked before the last was
  answered) and ``failed`` (answering raised) are answers too, only ones that never ran the
  pipeline;
- ``Event``: one streamed step of ``Assistant.ask_stream``;
- ``Plan``: what answering a question will take, decided without the language model;
- ``OUTCOMES``: what became of a question (``Answer.outcome``), as the question log keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..search.retrieval import Hit
from .intent import Intent
from .translation import Translation

# what became of a question (``Answer.outcome``): answered by the model's checked draft, abstained,
# quoted from the documents, answered from the cache or by a curated answer, refused (busy), failed
OUTCOMES = ("answered", "abstained", "quoted", "cached", "curated", "busy", "failed")


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    source: str
    chunk_id: str
    text: str
    publisher: str = ""
    date: str = ""
    page: int | None = None
    highlights: list[tuple[int, int]] = field(default_factory=list)  # spans in ``text`` to highlight
    about: str = ""  # what the document is about, when its title does not say (``Chunk.about``)
    translated: list[str] = field(default_factory=list)  # each highlight in the investor's language ("": none)

    @classmethod
    def of(cls, n: int, hit: Hit, highlights: list[tuple[int, int]] | None = None) -> Citation:
        """Passage ``hit`` cited as number ``n``."""
        c = hit.chunk
        return cls(
            n, c.doc_id, c.title, c.source, c.chunk_id, c.text, c.publisher, c.date, c.page, highlights or [], c.about
        )

    def to_json(self) -> dict:
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "title": self.title,
            "source": self.source,
            "chunk_id": self.chunk_id,
            "text": self.text,
            "publisher": self.publisher,
            "date": self.date,
            "page": self.page,
            "highlights": [list(h) for h in self.highlights],
            "about": self.about,
            "translated": self.translated,
        }


@dataclass
class Answer:
    question: str
    answer: str = ""
    abstained: bool = False
    citations: list[Citation] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)  # offered as related reading when abstaining
    backend: str = ""
    model: str = ""
    language: str = "en"
    standalone_question: str = ""
    notices: list[str] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)  # sentences cut by the grounding check, with reasons
    retrieved: list[Hit] = field(default_factory=list)
    intent: Intent | None = None  # what the question asks for (rag.answer.intent)
    source_answer: str = ""  # the verified answer as drafted, in the passages' language
    source_language: str = ""  # that language, when it is not the question's (the answer is translated)
    translations: list[Translation] = field(default_factory=list)  # per sentence, when translated
    cached: bool = False  # the stored answer to the same question (same index and settings), not a new run
    curated: bool = False  # an answer staff reviewed, served to a question meaning the same (rag.answer.curated)
    curated_id: int | None = None  # which curated answer
    quoted: bool = False  # no drafted sentence survived: the answer quotes the documents (rag.answer.quotes)
    abstained_at: str = ""  # "gate" (too little evidence to ask the model) or "check" (nothing survived)
    placements: dict[str, int] = field(default_factory=dict)  # kept sentences' citations: model/placed/corrected
    draft: str = ""  # the model's draft as written, before the checks (for staff and the evaluation)
    prompt_tokens: int = 0  # the answer prompt's length in the model's tokens
    busy: bool = False  # not answered: the server was busy, or the conversation had a question in flight
    error: str = ""  # not answered: answering failed with this kind of error (its class name)
    timings_ms: dict[str, float] = field(default_factory=lambda: {"retrieve": 0.0, "generate": 0.0, "total": 0.0})

    @classmethod
    def refused(cls, question: str, text: str, language: str = "en") -> Answer:
        """A question the server did not take (busy, one at a time ...): kept out of the history."""
        return cls(question=question, answer=text, abstained=True, language=language, busy=True)

    @classmethod
    def failed(cls, question: str, text: str, language: str = "en", error: str = "") -> Answer:
        """A question whose answering failed (``text`` says so); ``error`` names the kind of failure."""
        return cls(question=question, answer=text, abstained=True, language=language, error=error)

    @property
    def outcome(self) -> str:
        """What became of the question, one of ``OUTCOMES`` (the question log keeps it)."""
        if self.busy:
            return "busy"
        if self.error:
            return "failed"
        if self.curated:
            return "curated"
        if self.cached:
            return "cached"
        if self.abstained:
            return "abstained"
        return "quoted" if self.quoted else "answered"

    def abstain(self, message: str, related: list[Hit]) -> None:
        """Make this an abstention: ``message`` instead of an answer, the passages found offered
        as related reading (at most three)."""
        self.abstained = True
        self.answer = message
        self.related = [Citation.of(h.rank, h) for h in related[:3]]

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.to_json() for c in self.citations],
            "backend": self.backend,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "model": self.model,
            "language": self.language,
            "standalone_question": self.standalone_question,
            "related": [c.to_json() for c in self.related],
            # what was searched and found, for staff and logs (the passages themselves are in citations)
            "retrieved": [
                {
                    "rank": h.rank,
                    "doc_id": h.chunk.doc_id,
                    "chunk_id": h.chunk.chunk_id,
                    "score": round(float(h.score), 4),
                }
                for h in self.retrieved
            ],
            "notices": self.notices,
            "removed": self.removed,
            "intent": self.intent.to_json() if self.intent else None,
            "source_answer": self.source_answer,
            "source_language": self.source_language,
            "translations": [t.to_json() for t in self.translations],
            "cached": self.cached,
            "curated": self.curated,
            "curated_id": self.curated_id,
            "outcome": self.outcome,
            "quoted": self.quoted,
            "abstained_at": self.abstained_at,
            "placements": self.placements,
            "draft": self.draft,
            "prompt_tokens": self.prompt_tokens,
            "busy": self.busy,
            "error": self.error,
        }


@dataclass
class Event:
    """One streamed step: ``notice`` (shown once), ``delta`` (verified answer text), ``final``."""

    kind: str
    text: str = ""
    answer: Answer | None = None


@dataclass
class Plan:
    """What answering a question will take, decided without the language model."""

    needs_model: bool  # False: the answer comes from retrieval alone (an abstention, the extractive backend)
    # "extractive", "curated", "cached", "abstain", "rewrite" (a follow-up or translated question), "generate"
    reason: str
    found: list[Hit] = field(default_factory=list)  # what a search for the question as asked found
