"""The store: what the app keeps about its use, in SQLite (default, ``feedback_db``) or PostgreSQL
(``feedback_url``), one table per module over the shared plumbing of ``base.py``:

  * ``feedback.py``: thumbs up / down with comments, and their export as evaluation questions;
  * ``questions.py``: the question log (no client address or identifier) and its background writer;
  * ``curated.py``: answers staff approved, served again to questions that mean the same;
  * ``memory.py``: the translation memory (checked translations, staff corrections);
  * ``keys.py``: API keys (stored hashed) with their daily counts, and the origins allowed to embed the chat.

``open_store(settings)`` gives the ``Store`` the settings name, with every table created.
"""

from __future__ import annotations

from pathlib import Path

from ..config import Settings
from . import curated, feedback, keys, memory, questions
from .base import Database, FeedbackUnavailable, PostgresDatabase, SqliteDatabase
from .curated import CuratedAnswers
from .feedback import Feedback, export_questions, to_eval_question
from .keys import ApiKeys
from .memory import TranslationMemory
from .questions import LogWriter, QuestionLog

SCHEMAS = (
    feedback.SCHEMA,
    questions.SCHEMA,
    questions.INDEX,
    curated.SCHEMA,
    memory.SCHEMA,
    memory.INDEX,
    keys.SCHEMA,
    keys.ORIGINS_SCHEMA,
)

__all__ = [
    "FeedbackUnavailable",
    "Store",
    "export_questions",
    "open_store",
    "to_eval_question",
    "LogWriter",
]


class Store:
    """One database and its tables: ``feedback``, ``questions``, ``curated``, ``translations``,
    ``api_keys`` and ``embed_origins`` (``keys``)."""

    def __init__(self, db: Database):
        self.db = db
        self.feedback = Feedback(db)
        self.questions = QuestionLog(db)
        self.curated = CuratedAnswers(db)
        self.memory = TranslationMemory(db)
        self.keys = ApiKeys(db)

    @classmethod
    def sqlite(cls, path: str | Path) -> Store:
        return cls(SqliteDatabase(path, SCHEMAS))

    @classmethod
    def postgres(cls, url: str, connect_timeout: float = 5.0) -> Store:
        return cls(PostgresDatabase(url, SCHEMAS, connect_timeout))

    @property
    def available(self) -> bool:
        return self.db.available

    @property
    def problem(self) -> str | None:
        return self.db.problem


def open_store(settings: Settings) -> Store:
    """The store the settings name: PostgreSQL at ``feedback_url`` if set, else SQLite at ``feedback_db``."""
    if settings.feedback_url:
        return Store.postgres(settings.feedback_url)
    return Store.sqlite(settings.feedback_db)


def existing_store(settings: Settings) -> Store | None:
    """``open_store``, but None for a SQLite file that does not exist yet (a reader that must not
    create one: an export, the CLI's log listing, the curated answers of a plain ``ask``)."""
    if not settings.feedback_url and not Path(settings.feedback_db).exists():
        return None
    return open_store(settings)
