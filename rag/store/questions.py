"""The question log: every investor question with its language, time (UTC), outcome, citations,
latency, backend and, once given, its rating (the ``questions`` table), and the writer that fills it.

Nothing in it identifies an investor: no client address, no session id, no cookie. A log entry
carries a random ``entry`` key of its own, made when the answer ends and kept in that chat turn
only, so a rating given later finds the entry without anything that points at the person.

``LogWriter`` writes from one background thread over a bounded queue, so writing the log never
delays or fails an answer: a full queue or an unavailable store loses the entry, counted in
``lost`` and logged, never raised into the chat. ``flush`` waits until everything queued is
written (at shutdown, in tests, after ``python -m rag ask --log``). Entries older than
``log_retention_days`` are deleted when the writer starts and then once a day.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid

from .base import Database, FeedbackUnavailable
from .feedback import check_rating, decoded

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id {id_column},
    entry TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,
    answer TEXT NOT NULL DEFAULT '',
    standalone_question TEXT NOT NULL DEFAULT '',
    citations TEXT NOT NULL DEFAULT '[]',
    latency_ms REAL NOT NULL DEFAULT 0,
    backend TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    rating TEXT NOT NULL DEFAULT '',
    curated_id BIGINT
)
"""
INDEX = "CREATE INDEX IF NOT EXISTS questions_created_at ON questions (created_at)"
COLUMNS = (
    "entry",
    "created_at",
    "question",
    "language",
    "outcome",
    "answer",
    "standalone_question",
    "citations",
    "latency_ms",
    "backend",
    "model",
    "curated_id",
)
DAY_S = 86_400.0


def utc_now(offset_s: float = 0.0) -> str:
    """UTC time as the log stores it (``2026-12-03T23:31:00Z``): text order is time order."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset_s))


def new_entry() -> str:
    """A random key for one log entry (nothing about who asked)."""
    return uuid.uuid4().hex


def log_entry(entry: str, answer, latency_ms: float) -> dict:
    """The log entry of one finished answer (a ``rag.answer.records.Answer``: read, not imported,
    the store sits below the answer layer): what was asked, what became of it, what it cited."""
    cited = [{"n": c.n, "doc_id": c.doc_id, "chunk_id": c.chunk_id, "title": c.title} for c in answer.citations]
    return {
        "entry": entry,
        "question": answer.question,
        "language": answer.language,
        "outcome": answer.outcome,
        "answer": answer.answer,
        "standalone_question": answer.standalone_question,
        "citations": cited,
        "latency_ms": round(float(latency_ms), 1),
        "backend": answer.backend,
        "model": answer.model,
        "curated_id": answer.curated_id,
    }


class QuestionLog:
    """The ``questions`` table over one database."""

    def __init__(self, db: Database):
        self.db = db

    def add(self, entry: dict) -> None:
        """Store one entry (a dict with ``COLUMNS``' keys; missing ones take their defaults)."""
        row = {"created_at": utc_now(), "citations": [], "latency_ms": 0.0, "curated_id": None} | entry
        row["citations"] = json.dumps(row["citations"], ensure_ascii=False)
        self.db.insert("questions", {c: row[c] for c in COLUMNS if c in row})

    def rate(self, entry: str, rating: str) -> bool:
        """The investor's rating of the answer logged as ``entry``; False if there is none."""
        check_rating(rating)
        _, count = self.db.run("UPDATE questions SET rating = ? WHERE entry = ?", (rating, entry), write=True)
        return count > 0

    def get(self, entry_id: int) -> dict | None:
        rows, _ = self.db.run("SELECT * FROM questions WHERE id = ?", (int(entry_id),))
        return decoded(rows[0], "citations") if rows else None

    def entries(
        self, since: str = "", until: str = "", outcomes: tuple[str, ...] = (), limit: int | None = None
    ) -> list[dict]:
        """Entries asked at or after ``since`` and before ``until`` (UTC times or days as text;
        empty: unbounded), of the given outcomes (empty: all), newest first."""
        where, args = ["created_at >= ?"], [since or ""]
        if until:
            where.append("created_at < ?")
            args.append(until)
        if outcomes:
            where.append(f"outcome IN ({','.join('?' * len(outcomes))})")
            args.extend(outcomes)
        sql = f"SELECT * FROM questions WHERE {' AND '.join(where)} ORDER BY created_at DESC, id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        rows, _ = self.db.run(sql, tuple(args))
        return [decoded(r, "citations") for r in rows]

    def gaps(self, since: str = "", until: str = "") -> list[dict]:
        """What the documents miss: the abstained questions and the answers rated down."""
        return [e for e in self.entries(since, until) if e["outcome"] == "abstained" or e["rating"] == "down"]

    def delete(self, entry_id: int) -> bool:
        _, count = self.db.run("DELETE FROM questions WHERE id = ?", (int(entry_id),), write=True)
        return count > 0

    def purge(self, retention_days: float) -> int:
        """Delete the entries older than ``retention_days``; returns how many."""
        cutoff = utc_now(-retention_days * DAY_S)
        _, count = self.db.run("DELETE FROM questions WHERE created_at < ?", (cutoff,), write=True)
        return max(0, count)

    def count(self) -> int:
        rows, _ = self.db.run("SELECT COUNT(*) AS n FROM questions")
        return int(rows[0]["n"])


class LogWriter:
    """Writes log entries and ratings from one background thread (see the module docstring)."""

    def __init__(self, table: QuestionLog, retention_days: float, max_queue: int = 10_000):
        self.table = table
        self.retention_days = retention_days
        self.written = 0
        self.lost = 0
        self._queue: queue.Queue = queue.Queue(max_queue)
        self._stopping = threading.Event()
        self._next_purge = 0.0
        self._thread = threading.Thread(target=self._run, name="rag-question-log", daemon=True)
        self._thread.start()

    def record(self, entry: dict) -> None:
        """Queue one entry; never blocks, never raises."""
        self._put(("add", entry))

    def rate(self, entry: str, rating: str) -> None:
        """Queue a rating of a logged answer (applied after its entry is written)."""
        self._put(("rate", entry, rating))

    def _put(self, op: tuple) -> None:
        try:
            self._queue.put_nowait(op)
        except queue.Full:
            self._lose(op, "the queue is full")

    def _lose(self, op: tuple, why: str) -> None:
        self.lost += 1
        log.warning("question log: %s lost (%s); %d lost so far", op[0], why, self.lost)

    def _run(self) -> None:
        while True:
            if time.monotonic() >= self._next_purge:
                self._purge()
            try:
                op = self._queue.get(timeout=1.0)  # then it looks at the clock (purge) and at close
            except queue.Empty:
                if self._stopping.is_set():
                    return
                continue
            try:
                if op[0] == "add":
                    self.table.add(op[1])
                    self.written += 1
                else:
                    self.table.rate(op[1], op[2])
            except Exception as e:  # the store is down or refused it: counted and logged, never raised
                self._lose(op, str(e).splitlines()[0] if str(e) else e.__class__.__name__)
            finally:
                self._queue.task_done()

    def _purge(self) -> None:
        self._next_purge = time.monotonic() + DAY_S
        try:
            n = self.table.purge(self.retention_days)
            if n:
                log.warning("question log: %d entries older than %g days deleted", n, self.retention_days)
        except FeedbackUnavailable as e:
            log.warning("question log: old entries not deleted now: %s", e)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued so far is written (or lost); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline or not self._thread.is_alive():
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Flush and stop the thread."""
        self.flush(timeout)
        self._stopping.set()
        self._thread.join(timeout=2.0)
