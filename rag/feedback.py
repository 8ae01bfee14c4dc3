"""Feedback: investors' thumbs up / down on answers, kept in one SQLite file.

``FeedbackStore(path)`` records each rating with everything needed to reproduce and judge
the answer (question, standalone question, answer, citations as JSON, backend, model,
language, time, rating, optional comment). ``export_questions`` turns rated answers into
evaluation questions (the JSONL format of ``eval/``) so that a bad answer becomes a
regression test once staff fill in its ``facts`` and ``doc``; the CLI is
``python -m rag feedback export --out FILE [--only down|up|all]``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

from .text import detect_language

RATINGS = ("up", "down")

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    standalone_question TEXT NOT NULL DEFAULT '',
    answer TEXT NOT NULL,
    abstained INTEGER NOT NULL DEFAULT 0,
    citations TEXT NOT NULL DEFAULT '[]',
    backend TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT ''
);
"""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class FeedbackStore:
    """A small thread-safe SQLite store; every call opens its own short connection."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        return db

    def add(
        self,
        *,
        rating: str,
        question: str,
        answer: str,
        citations: list[dict] | None = None,
        backend: str = "",
        model: str = "",
        comment: str = "",
        standalone_question: str = "",
        abstained: bool = False,
        language: str = "",
    ) -> int:
        """Store one rating; returns its id (used to attach a comment or change the rating)."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, not {rating!r}")
        row = (
            _now(),
            rating,
            comment or "",
            question or "",
            standalone_question or "",
            answer or "",
            int(bool(abstained)),
            json.dumps(citations or [], ensure_ascii=False),
            backend or "",
            model or "",
            language or detect_language(question or ""),
        )
        with self._lock, closing(self._connect()) as db, db:
            cur = db.execute(
                "INSERT INTO feedback (created_at, rating, comment, question, standalone_question, answer,"
                " abstained, citations, backend, model, language) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                row,
            )
            return int(cur.lastrowid)

    def update(self, feedback_id: int, *, rating: str | None = None, comment: str | None = None) -> bool:
        """Change the rating and/or comment of a stored entry; False if there is no such entry."""
        sets, args = [], []
        if rating is not None:
            if rating not in RATINGS:
                raise ValueError(f"rating must be one of {RATINGS}, not {rating!r}")
            sets.append("rating = ?")
            args.append(rating)
        if comment is not None:
            sets.append("comment = ?")
            args.append(comment)
        if not sets:
            return self.get(feedback_id) is not None
        with self._lock, closing(self._connect()) as db, db:
            cur = db.execute(f"UPDATE feedback SET {', '.join(sets)} WHERE id = ?", (*args, int(feedback_id)))
            return cur.rowcount > 0

    def get(self, feedback_id: int) -> dict | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM feedback WHERE id = ?", (int(feedback_id),)).fetchone()
        return _row(row) if row else None

    def all(self) -> list[dict]:
        """Every entry, oldest first, with ``citations`` decoded."""
        with closing(self._connect()) as db:
            return [_row(r) for r in db.execute("SELECT * FROM feedback ORDER BY id")]


def _row(row: sqlite3.Row) -> dict:
    d = dict(row)
    d["abstained"] = bool(d["abstained"])
    try:
        d["citations"] = json.loads(d["citations"] or "[]")
    except ValueError:
        d["citations"] = []
    return d


def to_eval_question(entry: dict) -> dict:
    """One feedback entry as an evaluation question, with the answer and comment for review.

    ``facts`` starts empty and ``doc`` is the first cited document (None when the answer
    cited nothing): staff check both before adding the line to the evaluation set.
    ``answerable`` guesses from the rating: an abstention rated down was probably answerable;
    an answer rated up was answerable exactly when it did not abstain.
    """
    cited = [c.get("doc_id") for c in entry.get("citations") or [] if c.get("doc_id")]
    if entry["rating"] == "down":
        answerable = True
    else:
        answerable = not entry["abstained"]
    return {
        "id": f"feedback-{entry['id']}",
        "question": entry["question"],
        "lang": entry.get("language") or detect_language(entry["question"]),
        "answerable": answerable,
        "facts": [],
        "doc": cited[0] if cited and answerable else None,
        # for the reviewer: what was answered and what the investor said
        "rating": entry["rating"],
        "comment": entry.get("comment") or "",
        "answer": entry["answer"],
        "abstained": entry["abstained"],
        "cited_docs": cited,
        "backend": entry.get("backend", ""),
        "model": entry.get("model", ""),
        "asked_at": entry.get("created_at", ""),
    }


def export_questions(db_path: str | Path, out_path: str | Path, only: str = "down") -> int:
    """Write rated answers as evaluation-question JSONL lines; returns how many were written.

    ``only``: "down" (the default: bad answers become regression tests), "up" or "all".
    A missing database exports nothing (and still writes an empty file).
    """
    if only not in ("down", "up", "all"):
        raise ValueError(f"only must be 'down', 'up' or 'all', not {only!r}")
    entries = FeedbackStore(db_path).all() if Path(db_path).exists() else []
    if only != "all":
        entries = [e for e in entries if e["rating"] == only]
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for e in entries:
            f.write(json.dumps(to_eval_question(e), ensure_ascii=False) + "\n")
    return len(entries)
