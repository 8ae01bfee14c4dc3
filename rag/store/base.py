"""The store's plumbing, shared by every table: SQLite (default) or PostgreSQL, one short
connection per call.

``SqliteDatabase(path, schemas)`` and ``PostgresDatabase(url, schemas)`` create the tables they are
given (``CREATE TABLE IF NOT EXISTS``; ``{id_column}`` in a schema becomes each engine's
auto-numbered key) and run one statement at a time (``run``: SQL written with ``?``, rows as dicts).
The table modules beside this one (``feedback.py``, ``questions.py``, ``curated.py``) hold the
statements; nothing here knows what a table holds.

A store never stops the app from starting: a corrupt SQLite file is moved aside (renamed
``<name>.corrupt-<time>``, kept for inspection) and a fresh one created; a database that cannot
be written (read-only folder or file) or reached (PostgreSQL down) leaves the store unavailable
(``available`` False, ``problem`` says why, logged once), and each call then raises
``FeedbackUnavailable`` with a message that can be shown as is. The next write tries again.
PostgreSQL tables are created under an advisory lock, so any number of app processes may share one.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger(__name__)

UNAVAILABLE = "Feedback is unavailable right now ({reason}); answers are not affected."


class FeedbackUnavailable(RuntimeError):
    """The store cannot be used now; the message says why and can be shown as is."""


def now() -> str:
    """The time as every table stores it (ISO 8601, local offset): sorts as text."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class Database:
    """What both engines share (see the module docstring). A subclass gives ``_setup`` (make the
    tables; set ``problem`` when it cannot) and ``_session`` (a connection in a transaction, its
    driver's errors turned into FeedbackUnavailable)."""

    placeholder = "?"
    id_column = ""

    def __init__(self, schemas: Sequence[str]) -> None:
        self.schemas = [s.format(id_column=self.id_column) for s in schemas]
        self.problem: str | None = None
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self.problem is None

    def _setup(self) -> None:
        raise NotImplementedError

    def _session(self):
        raise NotImplementedError

    def _unavailable(self, problem: str) -> None:
        if problem != self.problem:
            log.error("feedback store unavailable: %s", problem)
        self.problem = problem

    def run(self, sql: str, args: tuple = (), write: bool = False) -> tuple[list[dict], int]:
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

    def insert(self, table: str, row: dict) -> int:
        """Insert ``row`` (column -> value) into ``table``; returns the new row's id."""
        columns = ", ".join(row)
        marks = ",".join("?" * len(row))
        rows, _ = self.run(
            f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING id", tuple(row.values()), write=True
        )
        return int(rows[0]["id"])


class SqliteDatabase(Database):
    """One SQLite file; every call opens its own short connection."""

    id_column = "INTEGER PRIMARY KEY AUTOINCREMENT"

    def __init__(self, path: str | Path, schemas: Sequence[str]):
        super().__init__(schemas)
        self.path = Path(path)
        self._setup()

    @property
    def where(self) -> str:
        return str(self.path)

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
            db.executescript(";\n".join(self.schemas) + ";")
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


class PostgresDatabase(Database):
    """PostgreSQL at ``url``: one short connection per call; ids come from identity columns and
    the tables are created under an advisory lock, so any number of app processes can write at once."""

    placeholder = "%s"
    id_column = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
    SCHEMA_LOCK = 7_360_001  # pg_advisory_xact_lock key: one process creates the tables

    def __init__(self, url: str, schemas: Sequence[str], connect_timeout: float = 5.0):
        super().__init__(schemas)
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
                for schema in self.schemas:
                    db.execute(schema)
        except FeedbackUnavailable:
            return
        self.problem = None
