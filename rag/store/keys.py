"""API access: the keys partners call ``/v1`` with, their daily counts, and the web origins staff
allow to embed the chat (the ``api_keys`` and ``embed_origins`` tables; the API itself is
``rag.web.api``, the embedding ``rag.web.embed``).

A key is made here once (``create``): a random secret shown to its creator and never again. Only
its SHA-256 digest is kept (a stolen database gives no usable key; a key has 256 random bits, so
an unsalted digest cannot be guessed back), with its first characters (``prefix``) so staff can
tell keys apart. ``revoke`` ends a key for good; a revoked or unknown key finds nothing
(``check``). Each key counts its questions per UTC day in its own row (``count_today``: one
statement that counts and refuses past the cap at once, so app processes sharing the store share
one count). Staff's allowed origins (``https://zone.example.org``) live beside the keys.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time

from .base import Database, now

KEY_PREFIX = "rag-"
SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id {id_column},
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    revoked_at TEXT NOT NULL DEFAULT '',
    used_day TEXT NOT NULL DEFAULT '',
    used_count INTEGER NOT NULL DEFAULT 0,
    last_used_at TEXT NOT NULL DEFAULT ''
)
"""
ORIGINS_SCHEMA = """
CREATE TABLE IF NOT EXISTS embed_origins (
    id {id_column},
    origin TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
)
"""
_NAME = re.compile(r"^[\w.@-]{1,64}$")
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(?::\d{1,5})?$", re.I)


class AccessError(ValueError):
    """A key name or origin that cannot be used; the message can be shown as is."""


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def utc_day() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime())


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not _NAME.match(name):
        raise AccessError("A key name is 1-64 letters, digits, '.', '-', '_' or '@' (e.g. partner-kotra).")
    return name


def check_origin(origin: str) -> str:
    """``origin`` as a browser sends it (scheme, host, port; no path), lower case."""
    origin = (origin or "").strip().rstrip("/").lower()
    if not _ORIGIN.match(origin):
        raise AccessError(f"Not a web origin: {origin!r} (write it as https://host or http://host:port, no path).")
    return origin


class ApiKeys:
    """The ``api_keys`` and ``embed_origins`` tables over one database."""

    def __init__(self, db: Database):
        self.db = db

    def create(self, name: str) -> str:
        """A new key for ``name`` (unique among keys, revoked ones included); returns the key
        itself, which is not kept: show it once."""
        name = check_name(name)
        if self.get(name) is not None:
            raise AccessError(f"There is a key named {name!r} already; revoke it and choose another name.")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        self.db.insert("api_keys", {"name": name, "created_at": now(), "key_hash": digest(key), "prefix": key[:10]})
        return key

    def revoke(self, name: str) -> bool:
        """End the key for good; False if there is no such key or it was revoked already."""
        _, count = self.db.run(
            "UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at = ''", (now(), name), write=True
        )
        return count > 0

    def check(self, key: str | None) -> dict | None:
        """The active key's row (name, prefix ...), or None for a missing, unknown or revoked key."""
        if not key or not key.startswith(KEY_PREFIX) or len(key) > 200:
            return None
        rows, _ = self.db.run("SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at = ''", (digest(key),))
        return _public(rows[0]) if rows else None

    def count_today(self, key_id: int, cap: int) -> bool:
        """Count one question for the key today; False (and nothing counted) once it reached ``cap``."""
        day = utc_day()
        _, count = self.db.run(
            "UPDATE api_keys SET used_count = CASE WHEN used_day = ? THEN used_count + 1 ELSE 1 END, "
            "used_day = ?, last_used_at = ? WHERE id = ? AND NOT (used_day = ? AND used_count >= ?)",
            (day, day, now(), int(key_id), day, int(cap)),
            write=True,
        )
        return count > 0

    def get(self, name: str) -> dict | None:
        rows, _ = self.db.run("SELECT * FROM api_keys WHERE name = ?", (name,))
        return _public(rows[0]) if rows else None

    def all(self) -> list[dict]:
        """Every key, oldest first, without its digest; ``today``: its questions this UTC day."""
        rows, _ = self.db.run("SELECT * FROM api_keys ORDER BY id")
        return [_public(r) for r in rows]

    # --- origins allowed to embed the chat ------------------------------------------------------

    def origins(self) -> list[str]:
        rows, _ = self.db.run("SELECT origin FROM embed_origins ORDER BY id")
        return [r["origin"] for r in rows]

    def set_origins(self, origins: list[str]) -> list[str]:
        """Replace the allowed origins (each checked first: a bad one changes nothing)."""
        checked = list(dict.fromkeys(check_origin(o) for o in origins if o.strip()))
        self.db.run("DELETE FROM embed_origins", write=True)
        for origin in checked:
            self.db.insert("embed_origins", {"origin": origin, "created_at": now()})
        return checked


def _public(row: dict) -> dict:
    d = {k: v for k, v in row.items() if k != "key_hash"}
    d["active"] = not d["revoked_at"]
    d["today"] = d["used_count"] if d["used_day"] == utc_day() else 0
    return d
