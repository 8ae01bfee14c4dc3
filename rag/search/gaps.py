"""What the documents miss: the questions the assistant abstained on, or whose answer investors
rated down, grouped by meaning, largest group first, for staff deciding what to publish next.

``gap_report(entries, retriever, settings)`` embeds the questions with the multilingual encoder
(USE: English, Chinese and Korean in one vector space, so one topic is one group whatever the
language) and groups them by average-link hierarchical clustering on cosine distance (scipy),
cut at ``gap_max_distance`` (measured on ``eval/paraphrases.jsonl``: ``python -m eval curated``).
Each ``Gap`` has its size, counts per language, example questions (the most central first, each
text once) and the passages the retriever finds nearest to its central question, with their
dense, BM25 and fused scores: close passages that still did not answer point at a document that
says too little; far ones at a topic no document covers. ``write_csv`` and ``eval_questions``
export it (the latter in the JSONL schema of ``eval/questions.jsonl``).
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import Settings
from ..embedders import multilingual_encoder
from .retrieval import Hit, Retriever

MAX_EXAMPLES = 5
PASSAGES = 3


@dataclass
class Gap:
    size: int
    languages: dict[str, int]
    examples: list[dict]  # log entries, the most central first, each question text once
    passages: list[Hit] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)  # every entry of the group

    def to_json(self) -> dict:
        return {
            "size": self.size,
            "languages": self.languages,
            "examples": [_example(e) for e in self.examples],
            "passages": [
                {
                    "chunk_id": h.chunk.chunk_id,
                    "title": h.chunk.title,
                    "text": h.chunk.text,
                    "fused": round(float(h.score), 4),
                    "dense": None if h.dense_score is None else round(float(h.dense_score), 4),
                    "bm25": None if h.bm25_score is None else round(float(h.bm25_score), 4),
                }
                for h in self.passages
            ],
        }


def _example(entry: dict) -> dict:
    keys = ("id", "question", "language", "outcome", "rating", "created_at")
    return {k: entry.get(k) for k in keys}


def cluster(vectors: np.ndarray, max_distance: float) -> np.ndarray:
    """Group labels (1..n) of unit ``vectors``: average-link clustering on cosine distance, cut at
    ``max_distance``."""
    if len(vectors) == 0:
        return np.zeros(0, dtype=int)
    if len(vectors) == 1:
        return np.ones(1, dtype=int)
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(np.asarray(vectors, dtype=np.float64), method="average", metric="cosine")
    return fcluster(tree, t=max_distance, criterion="distance")


def gap_report(entries: list[dict], retriever: Retriever | None, settings: Settings) -> list[Gap]:
    """The log ``entries`` (abstained or rated down) grouped by meaning, largest group first."""
    if not entries:
        return []
    encoder = multilingual_encoder(settings)
    vectors = encoder.encode([e["question"] for e in entries], kind="query")
    labels = cluster(vectors, settings.gap_max_distance)
    gaps = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        centre = vectors[members].mean(axis=0)
        order = members[np.argsort(-(vectors[members] @ centre), kind="stable")]
        group = [entries[i] for i in order]
        seen, examples = set(), []
        for e in group:
            key = " ".join(e["question"].casefold().split())
            if key not in seen and len(examples) < MAX_EXAMPLES:
                seen.add(key)
                examples.append(e)
        counts = Counter(e.get("language") or "?" for e in group)
        languages = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))  # most first, then by code
        passages = retriever.search(group[0]["question"], k=PASSAGES) if retriever is not None else []
        gaps.append(Gap(len(group), languages, examples, passages, group))
    gaps.sort(key=lambda g: (-g.size, g.examples[0]["question"]))
    return gaps


CSV_COLUMNS = (
    "group",
    "size",
    "languages",
    "question",
    "language",
    "outcome",
    "rating",
    "asked_at",
    "nearest_passage",
    "dense",
    "bm25",
    "fused",
)


def write_csv(gaps: list[Gap], path: str | Path) -> Path:
    """One row per question (every entry of every group), with its group's numbers and nearest passage."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as f:  # a BOM: Excel reads it as UTF-8
        out = csv.writer(f)
        out.writerow(CSV_COLUMNS)
        for n, g in enumerate(gaps, start=1):
            top = g.passages[0] if g.passages else None
            for e in g.entries:
                out.writerow(
                    [
                        n,
                        g.size,
                        " ".join(f"{k}:{v}" for k, v in g.languages.items()),
                        e["question"],
                        e.get("language"),
                        e.get("outcome"),
                        e.get("rating") or "",
                        e.get("created_at"),
                        top.chunk.chunk_id if top else "",
                        "" if top is None or top.dense_score is None else round(float(top.dense_score), 4),
                        "" if top is None or top.bm25_score is None else round(float(top.bm25_score), 4),
                        "" if top is None else round(float(top.score), 4),
                    ]
                )
    return path


def eval_questions(gaps: list[Gap]) -> list[dict]:
    """The groups' example questions as evaluation questions (``eval/questions.jsonl``'s schema):
    not answerable by today's documents; staff set ``answerable``, ``facts`` and ``doc`` once a
    document answers them. ``group``, ``outcome`` and ``asked_at`` are for the reviewer."""
    out = []
    for n, g in enumerate(gaps, start=1):
        for k, e in enumerate(g.examples, start=1):
            out.append(
                {
                    "id": f"gap-{n}-{k}",
                    "question": e["question"],
                    "lang": e.get("language") or "en",
                    "answerable": False,
                    "facts": [],
                    "doc": None,
                    "group": n,
                    "outcome": e.get("outcome"),
                    "rating": e.get("rating") or "",
                    "asked_at": e.get("created_at"),
                }
            )
    return out
