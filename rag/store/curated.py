"""Curated answers: answers staff approved or wrote, served again to questions that mean the
same (the ``curated`` table; matching and the checks on saving are ``rag.answer.curated``).

A curated answer holds the question it answers, its text per language (``answers``: {"en": ...}),
the passages it cites (each with its document file and that file's sha256 in the index manifest
when it was saved, so a changed or removed document is noticed), its ``status`` (``active`` or
``suspended``, with the ``reason``) and the log entry it was approved from, if any.
"""

from __future__ import annotations

import json

from .base import Database, now
from .feedback import decoded

STATUSES = ("active", "suspended")

SCHEMA = """
CREATE TABLE IF NOT EXISTS curated (
    id {id_column},
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    question TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT '',
    answers TEXT NOT NULL DEFAULT '{{}}',
    citations TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL DEFAULT 'active',
    reason TEXT NOT NULL DEFAULT '',
    source_entry TEXT NOT NULL DEFAULT ''
)
"""


def _row(row: dict) -> dict:
    d = decoded(row, "citations")
    try:
        d["answers"] = json.loads(d["answers"] or "{}")
    except ValueError:
        d["answers"] = {}
    return d


class CuratedAnswers:
    """The ``curated`` table over one database."""

    def __init__(self, db: Database):
        self.db = db

    def add(
        self,
        *,
        question: str,
        language: str,
        answers: dict[str, str],
        citations: list[dict],
        reason: str = "",
        source_entry: str = "",
    ) -> int:
        """Store an active curated answer; returns its id. ``reason``: a note for staff (e.g. a
        language not given and not translated)."""
        stamp = now()
        return self.db.insert(
            "curated",
            {
                "created_at": stamp,
                "updated_at": stamp,
                "question": question,
                "language": language,
                "answers": json.dumps(answers, ensure_ascii=False),
                "citations": json.dumps(citations, ensure_ascii=False),
                "reason": reason,
                "source_entry": source_entry,
            },
        )

    def get(self, curated_id: int) -> dict | None:
        rows, _ = self.db.run("SELECT * FROM curated WHERE id = ?", (int(curated_id),))
        return _row(rows[0]) if rows else None

    def all(self, status: str | None = None) -> list[dict]:
        """Every curated answer (of ``status``, if given), oldest first."""
        if status is None:
            rows, _ = self.db.run("SELECT * FROM curated ORDER BY id")
        else:
            rows, _ = self.db.run("SELECT * FROM curated WHERE status = ? ORDER BY id", (status,))
        return [_row(r) for r in rows]

    def set_status(self, curated_id: int, status: str, reason: str = "") -> bool:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
        _, count = self.db.run(
            "UPDATE curated SET status = ?, reason = ?, updated_at = ? WHERE id = ?",
            (status, reason, now(), int(curated_id)),
            write=True,
        )
        return count > 0

    def delete(self, curated_id: int) -> bool:
        _, count = self.db.run("DELETE FROM curated WHERE id = ?", (int(curated_id),), write=True)
        return count > 0
