"""Feedback: investors' thumbs up / down on answers, kept in SQLite (default) or PostgreSQL.

``open_store(settings)`` gives the store: ``PostgresFeedbackStore`` when ``feedback_url`` is a
``postgresql://`` URL (psycopg 3; safe for several app processes writing at once), else
``FeedbackStore`` over the SQLite file ``feedback_db``. Both record each rating with everything
needed to reproduce and judge the answer (question, standalone question, answer, citations as
JSON, backend, model, language, time, rating, optional comment) and have the same methods:
``add`` (record), ``update``, ``get``, ``all``, ``counts``. ``export_questions`` turns rated
answers into evaluation questions (the JSONL format of ``eval/``) so that a bad answer becomes
a regression test once staff fill in its ``facts`` and ``doc``; the CLI is
``python -m rag feedback export --out FILE [--only down|up|all]``.

A store never stops the app from starting: a corrupt SQLite file is moved aside (renamed
``<name>.corrupt-<time>``, kept for inspection) and a fresh one created; a database that cannot
be written (read-only folder or file) or reached (PostgreSQL down) leaves the store
unavailable (``available`` False, ``problem`` says why, logged), and each call then raises
``FeedbackUnavailable`` with a message that can be shown as is. The next call tries again.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .config import Settings
from .text import detect_language

log = logging.getLogger(__name__)

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
COLUMNS = (
    "created_at",
    "rating",
    "comment",
    "question",
    "standalone_question",
    "answer",
    "abstained",
    "citations",
    "backend",
    "model",
    "language",
)
UNAVAILABLE = "Feedback is unavailable right now ({reason}); answers are not affected."


class FeedbackUnavailable(RuntimeError):
    """The store cannot be used now; the message says why and can be shown as is."""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _check_rating(rating: str) -> None:
    if rating not in RATINGS:
        raise ValueError(f"rating must be one of {RATINGS}, not {rating!r}")


class _Store:
    """What both stores share: the statements and the rows. A subclass gives ``_setup`` (make
    the table; set ``problem`` when it cannot) and ``_session`` (a connection in a transaction,
    its driver's errors turned into FeedbackUnavailable), and writes SQL with ``?``."""

    placeholder = "?"

    def __init__(self) -> None:
        self.problem: str | None = None
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self.problem is None

    def _setup(self) -> None:
        raise NotImplementedError

    def _unavailable(self, problem: str) -> None:
        if problem != self.problem:
            log.error("feedback store unavailable: %s", problem)
        self.problem = problem

    def _session(self):
        raise NotImplementedError

    def _run(self, sql: str, args: tuple = (), write: bool = False):
        """Rows of one statement (a list of dicts; [] for none) and the rowcount. A write to a
        store known to be unavailable first tries to set it up again (the folder may be
        writable again, the server back); reads are simply tried."""
        if write and self.problem:
            self._setup()
            if self.problem:
                raise FeedbackUnavailable(UNAVAILABLE.format(reason=self.problem))
        with self._lock, self._session() as db:
            cur = db.execute(sql.replace("?", self.placeholder), args)
            rows = [dict(r) for r in cur.fetchall()] if cur.description else []
            return rows, cur.rowcount

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
        _check_rating(rating)
        values = (
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
        marks = ",".join("?" * len(COLUMNS))
        sql = f"INSERT INTO feedback ({', '.join(COLUMNS)}) VALUES ({marks}) RETURNING id"
        rows, _ = self._run(sql, values, write=True)
        return int(rows[0]["id"])

    def update(self, feedback_id: int, *, rating: str | None = None, comment: str | None = None) -> bool:
        """Change the rating and/or comment of a stored entry; False if there is no such entry."""
        sets, args = [], []
        if rating is not None:
            _check_rating(rating)
            sets.append("rating = ?")
            args.append(rating)
        if comment is not None:
            sets.append("comment = ?")
            args.append(comment)
        if not sets:
            return self.get(feedback_id) is not None
        _, count = self._run(
            f"UPDATE feedback SET {', '.join(sets)} WHERE id = ?", (*args, int(feedback_id)), write=True
        )
        return count > 0

    def get(self, feedback_id: int) -> dict | None:
        rows, _ = self._run("SELECT * FROM feedback WHERE id = ?", (int(feedback_id),))
        return _row(rows[0]) if rows else None

    def all(self) -> list[dict]:
        """Every entry, oldest first, with ``citations`` decoded."""
        rows, _ = self._run("SELECT * FROM feedback ORDER BY id")
        return [_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        """How many entries have each rating: {"up": n, "down": m}."""
        rows, _ = self._run("SELECT rating, COUNT(*) AS n FROM feedback GROUP BY rating")
        return {rating: 0 for rating in RATINGS} | {r["rating"]: int(r["n"]) for r in rows}


class FeedbackStore(_Store):
    """The SQLite store: one file; every call opens its own short connection."""

    def __init__(self, path: str | Path):
        super().__init__()
        self.path = Path(path)
        self._setup()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        return db

    def _setup(self) -> None:
        try:
            self._create()
        except sqlite3.OperationalError as e:  # cannot open or write: read-only, locked, no space
            self._unavailable(f"{self.path} cannot be written: {e}")
        except sqlite3.DatabaseError as e:  # not a database, or a damaged one
            self._move_aside(e)
        except OSError as e:
            self._unavailable(f"{self.path} cannot be created: {e.strerror or e}")

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check}")
            db.executescript(SCHEMA.format(id_column="INTEGER PRIMARY KEY AUTOINCREMENT") + ";")
            # a write rolled back: a read-only file or folder (no room for the journal) fails
            # now, not at the first rating
            version = db.execute("PRAGMA user_version").fetchone()[0]
            db.execute("BEGIN IMMEDIATE")
            db.execute(f"PRAGMA user_version = {int(version)}")
            db.rollback()
        self.problem = None

    def _move_aside(self, error: Exception) -> None:
        kept = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        n = 1
        while kept.exists():  # never overwrite an earlier damaged copy
            n += 1
            kept = kept.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
        try:
            for suffix in ("", "-journal", "-wal", "-shm"):  # a stale journal must not meet the new file
                part = Path(f"{self.path}{suffix}")
                if part.exists():
                    part.rename(f"{kept}{suffix}")
        except OSError as e:
            self._unavailable(f"{self.path} is damaged ({error}) and cannot be moved aside: {e.strerror or e}")
            return
        log.error("feedback database %s is damaged (%s): kept as %s, starting a new one", self.path, error, kept)
        try:
            self._create()
        except (sqlite3.Error, OSError) as e:
            self._unavailable(f"{self.path} cannot be created: {e}")

    @contextmanager
    def _session(self) -> Iterator[sqlite3.Connection]:
        try:
            with closing(self._connect()) as db, db:  # commit, or roll back on error; then close
                yield db
        except sqlite3.Error as e:
            self._unavailable(f"{self.path}: {e}")
            raise FeedbackUnavailable(UNAVAILABLE.format(reason=self.problem)) from e


class PostgresFeedbackStore(_Store):
    """The PostgreSQL store (``feedback_url``): one short connection per call; ids come from an
    identity column and the table is created under an advisory lock, so any number of app
    processes can write at once."""

    placeholder = "%s"
    SCHEMA_LOCK = 7_360_001  # pg_advisory_xact_lock key: one process creates the table

    def __init__(self, url: str, connect_timeout: float = 5.0):
        super().__init__()
        self.url = url
        self.connect_timeout = connect_timeout
        self._setup()

    @property
    def where(self) -> str:
        """The URL without its password (for messages and logs)."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))

    @contextmanager
    def _session(self):
        import psycopg
        from psycopg.rows import dict_row

        try:
            with psycopg.connect(
                self.url, connect_timeout=max(1, round(self.connect_timeout)), row_factory=dict_row
            ) as db:  # commits on success, rolls back on error, then closes
                yield db
        except psycopg.Error as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else e.__class__.__name__
            self._unavailable(f"PostgreSQL at {self.where}: {first}")
            raise FeedbackUnavailable(UNAVAILABLE.format(reason=self.problem)) from e

    def _setup(self) -> None:
        try:
            with self._session() as db:
                db.execute("SELECT pg_advisory_xact_lock(%s)", (self.SCHEMA_LOCK,))
                db.execute(SCHEMA.format(id_column="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"))
        except FeedbackUnavailable:
            return
        self.problem = None


def open_store(settings: Settings) -> FeedbackStore | PostgresFeedbackStore:
    """The store the settings name: PostgreSQL at ``feedback_url`` if set, else SQLite at ``feedback_db``."""
    if settings.feedback_url:
        return PostgresFeedbackStore(settings.feedback_url)
    return FeedbackStore(settings.feedback_db)


def _row(row: dict) -> dict:
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


def export_questions(source: _Store | str | Path, out_path: str | Path, only: str = "down") -> int:
    """Write rated answers as evaluation-question JSONL lines; returns how many were written.

    ``source``: a store, or the path of a SQLite file (a missing file exports nothing, and
    still writes an empty file). ``only``: "down" (the default: bad answers become regression
    tests), "up" or "all". FeedbackUnavailable if the store cannot be read.
    """
    if only not in ("down", "up", "all"):
        raise ValueError(f"only must be 'down', 'up' or 'all', not {only!r}")
    if isinstance(source, _Store):
        entries = source.all()
    else:
        entries = FeedbackStore(source).all() if Path(source).exists() else []
    if only != "all":
        entries = [e for e in entries if e["rating"] == only]
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for e in entries:
            f.write(json.dumps(to_eval_question(e), ensure_ascii=False) + "\n")
    return len(entries)
