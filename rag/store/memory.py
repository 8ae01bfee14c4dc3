"""The translation memory: each verified sentence's translation that passed its check, kept and
reused, and corrected by staff (the ``translations`` table; the translating is
``rag.answer.translation``).

An entry holds the source sentence as verified, the target language, the glossary version and the
model it was translated with, the translation, and its ``status``:
  * ``model``: the model's translation that passed the check; reused while the glossary is the same
    (a glossary change may change a term's spelling, so the sentence is translated again);
  * ``corrected``: staff wrote it; it wins, whatever the glossary or model, and is never
    overwritten by the model;
  * ``wrong``: staff marked it wrong; it is not shown, and the next translation of the sentence
    replaces it.
The memory lives in the same store as the ratings and the question log (SQLite by default,
PostgreSQL with ``feedback_url``), so it survives restarts and re-indexing.
"""

from __future__ import annotations

from .base import Database, now

STATUSES = ("model", "corrected", "wrong")

SCHEMA = """
CREATE TABLE IF NOT EXISTS translations (
    id {id_column},
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    source TEXT NOT NULL,
    language TEXT NOT NULL,
    glossary TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'model'
)
"""
INDEX = "CREATE INDEX IF NOT EXISTS translations_source ON translations (language, source)"


class TranslationMemory:
    """The ``translations`` table over one database."""

    def __init__(self, db: Database):
        self.db = db

    def lookup(self, source: str, language: str, glossary: str) -> dict | None:
        """The translation to show for ``source`` in ``language``: a staff correction, else the
        model's under this glossary version; None when there is neither."""
        rows, _ = self.db.run(
            "SELECT * FROM translations WHERE language = ? AND source = ? AND status != 'wrong' ORDER BY id",
            (language, source),
        )
        corrected = [r for r in rows if r["status"] == "corrected"]
        usable = corrected or [r for r in rows if r["glossary"] == glossary]
        return usable[-1] if usable else None

    def remember(self, source: str, language: str, glossary: str, model: str, text: str) -> None:
        """Keep the model's checked translation, unless staff corrected this sentence already; the
        model's earlier translations of it (another glossary, or marked wrong) are replaced."""
        rows, _ = self.db.run(
            "SELECT id, status FROM translations WHERE language = ? AND source = ?", (language, source)
        )
        if any(r["status"] == "corrected" for r in rows):
            return
        if rows:
            self.db.run(
                "UPDATE translations SET glossary = ?, model = ?, text = ?, status = 'model', updated_at = ? "
                "WHERE language = ? AND source = ?",
                (glossary, model, text, now(), language, source),
                write=True,
            )
            return
        stamp = now()
        self.db.insert(
            "translations",
            {
                "created_at": stamp,
                "updated_at": stamp,
                "source": source,
                "language": language,
                "glossary": glossary,
                "model": model,
                "text": text,
                "status": "model",
            },
        )

    def entries(self, language: str | None = None, limit: int = 500) -> list[dict]:
        """The newest entries first (of one language, if given)."""
        sql = "SELECT * FROM translations" + (" WHERE language = ?" if language else "")
        rows, _ = self.db.run(
            sql + " ORDER BY updated_at DESC, id DESC LIMIT ?", ((language,) if language else ()) + (int(limit),)
        )
        return rows

    def get(self, entry_id: int) -> dict | None:
        rows, _ = self.db.run("SELECT * FROM translations WHERE id = ?", (int(entry_id),))
        return rows[0] if rows else None

    def correct(self, entry_id: int, text: str) -> bool:
        """Staff's own translation of the entry's sentence: it wins from now on."""
        _, count = self.db.run(
            "UPDATE translations SET text = ?, status = 'corrected', updated_at = ? WHERE id = ?",
            (text, now(), int(entry_id)),
            write=True,
        )
        return count > 0

    def mark_wrong(self, entry_id: int) -> bool:
        """Never show this translation again; the sentence is translated anew next time."""
        _, count = self.db.run(
            "UPDATE translations SET status = 'wrong', updated_at = ? WHERE id = ?", (now(), int(entry_id)), write=True
        )
        return count > 0
