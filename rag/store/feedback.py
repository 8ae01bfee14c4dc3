"""Feedback: investors' thumbs up / down on answers (the ``feedback`` table).

Each rating is kept with everything needed to reproduce and judge the answer (question, standalone
question, answer, citations as JSON, backend, model, language, time, rating, optional comment):
``add`` (record), ``update``, ``get``, ``all``, ``counts``. ``export_questions`` turns rated answers
into evaluation questions (the JSONL format of ``eval/``) so that a bad answer becomes a regression
test once staff fill in its ``facts`` and ``doc``; the CLI is
``python -m rag feedback export --out FILE [--only down|up|all]``.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..text import detect_language
from .base import Database, now

RATINGS = ("up", "down")

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id {id_column},
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
)
"""


def check_rating(rating: str) -> None:
    if rating not in RATINGS:
        raise ValueError(f"rating must be one of {RATINGS}, not {rating!r}")


def decoded(row: dict, *json_columns: str) -> dict:
    """A row with its JSON columns decoded ([] when damaged) and ``abstained`` as a bool."""
    d = dict(row)
    if "abstained" in d:
        d["abstained"] = bool(d["abstained"])
    for column in json_columns:
        try:
            d[column] = json.loads(d[column] or "[]")
        except ValueError:
            d[column] = []
    return d


class Feedback:
    """The ratings table over one database."""

    def __init__(self, db: Database):
        self.db = db

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
        check_rating(rating)
        return self.db.insert(
            "feedback",
            {
                "created_at": now(),
                "rating": rating,
                "comment": comment or "",
                "question": question or "",
                "standalone_question": standalone_question or "",
                "answer": answer or "",
                "abstained": int(bool(abstained)),
                "citations": json.dumps(citations or [], ensure_ascii=False),
                "backend": backend or "",
                "model": model or "",
                "language": language or detect_language(question or ""),
            },
        )

    def update(self, feedback_id: int, *, rating: str | None = None, comment: str | None = None) -> bool:
        """Change the rating and/or comment of a stored entry; False if there is no such entry."""
        sets, args = [], []
        if rating is not None:
            check_rating(rating)
            sets.append("rating = ?")
            args.append(rating)
        if comment is not None:
            sets.append("comment = ?")
            args.append(comment)
        if not sets:
            return self.get(feedback_id) is not None
        _, count = self.db.run(
            f"UPDATE feedback SET {', '.join(sets)} WHERE id = ?", (*args, int(feedback_id)), write=True
        )
        return count > 0

    def get(self, feedback_id: int) -> dict | None:
        rows, _ = self.db.run("SELECT * FROM feedback WHERE id = ?", (int(feedback_id),))
        return decoded(rows[0], "citations") if rows else None

    def all(self) -> list[dict]:
        """Every entry, oldest first, with ``citations`` decoded."""
        rows, _ = self.db.run("SELECT * FROM feedback ORDER BY id")
        return [decoded(r, "citations") for r in rows]

    def counts(self) -> dict[str, int]:
        """How many entries have each rating: {"up": n, "down": m}."""
        rows, _ = self.db.run("SELECT rating, COUNT(*) AS n FROM feedback GROUP BY rating")
        return {rating: 0 for rating in RATINGS} | {r["rating"]: int(r["n"]) for r in rows}


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


def write_jsonl(lines: list[dict], out_path: str | Path) -> int:
    """``lines`` as JSON Lines at ``out_path`` (folders made); returns how many."""
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    return len(lines)


def export_questions(feedback: Feedback | None, out_path: str | Path, only: str = "down") -> int:
    """Write rated answers as evaluation-question JSONL lines; returns how many were written.

    ``feedback``: the ratings table, or None for no store (a SQLite file that does not exist:
    nothing to export, and an empty file is still written). ``only``: "down" (the default: bad
    answers become regression tests), "up" or "all". FeedbackUnavailable if the store cannot be read.
    """
    if only not in ("down", "up", "all"):
        raise ValueError(f"only must be 'down', 'up' or 'all', not {only!r}")
    entries = feedback.all() if feedback is not None else []
    if only != "all":
        entries = [e for e in entries if e["rating"] == only]
    return write_jsonl([to_eval_question(e) for e in entries], out_path)
