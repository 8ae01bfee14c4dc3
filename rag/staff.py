"""Staff: corpus management behind the web app's admin tab.

Owns the staff-password check, safe names for uploaded files (``pathvalidate``), the
upload rules (types = ``rag.documents.SUPPORTED``, size <= ``settings.upload_max_mb``, file
stored only inside ``settings.corpus_dir``, unreadable files refused before they reach the
corpus), the ``SOURCES.tsv`` row of an upload, the list of indexed documents (from the
index manifest), removing a document, and re-indexing with a progress callback.
Nothing here knows about Gradio; the web app calls these after checking the password.
"""

from __future__ import annotations

import csv
import hmac
import io
import json
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import Callable
from pathlib import Path

from pathvalidate import sanitize_filename

from .config import Settings
from .documents import (
    METADATA_FILE,
    SUPPORTED,
    ReadLimits,
    UnreadableDocument,
    corpus_files,
    load_document,
    read_metadata,
)
from .index import IndexReport, build_index, current_path

METADATA_COLUMNS = ("file", "title", "publisher", "date", "url")
MAX_NAME_CHARS = 120
_corpus_lock = threading.Lock()  # one corpus change at a time within this process


class StaffError(ValueError):
    """A refused staff action; the message is shown to staff as is."""


# --- password -------------------------------------------------------------------------------


def check_password(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; no configured password means nobody is staff."""
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


# --- names ----------------------------------------------------------------------------------


def safe_filename(name: str) -> str:
    """A corpus file name made from an uploaded file's name, or StaffError.

    Directory parts are dropped, characters not allowed in file names on any platform are
    removed (``pathvalidate``), whitespace becomes ``-``, leading dots are removed (hidden
    files are ignored by the indexer), the extension is lower-cased and must be supported.
    Chinese and Korean names are kept.
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    base = sanitize_filename(base, platform="universal")
    base = re.sub(r"\s+", "-", base).strip("-. _")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = "." + ext.lower() if ext else ""
    if ext not in SUPPORTED:
        allowed = ", ".join(SUPPORTED)
        raise StaffError(f"{name!r}: file type {ext or '(none)'} is not allowed; allowed types: {allowed}")
    stem = stem.strip("-. _")[:MAX_NAME_CHARS].strip("-. _")
    if not stem:
        raise StaffError(f"{name!r}: no usable file name")
    safe = sanitize_filename(stem + ext, platform="universal")  # re-check: e.g. reserved names (CON)
    if safe == METADATA_FILE or safe.startswith("."):
        raise StaffError(f"{name!r}: reserved file name")
    return safe


def _inside(corpus_dir: Path, name: str) -> Path:
    """``corpus_dir/name``, refusing anything that would not be a direct child of the folder."""
    if not name or name != Path(name).name or name in (".", "..") or "\\" in name:
        raise StaffError(f"{name!r} is not a plain file name")
    root = corpus_dir.resolve()
    target = (root / name).resolve()
    if target.parent != root:
        raise StaffError(f"{name!r} is outside the corpus folder")
    return target


# --- SOURCES.tsv ----------------------------------------------------------------------------


def _write_metadata(corpus_dir: Path, rows: dict[str, dict[str, str]]) -> None:
    """Rewrite SOURCES.tsv atomically (a temporary file, then a rename)."""
    buf = io.StringIO()
    writer = csv.DictWriter(
        buf, fieldnames=METADATA_COLUMNS, delimiter="\t", extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for name in sorted(rows):
        row = {k: _one_line(rows[name].get(k, "")) for k in METADATA_COLUMNS}
        row["file"] = name
        writer.writerow(row)
    fd, tmp = tempfile.mkstemp(dir=corpus_dir, prefix=".sources-", suffix=".tsv")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(buf.getvalue())
    os.replace(tmp, corpus_dir / METADATA_FILE)


def _one_line(value) -> str:
    return re.sub(r"[\t\r\n]+", " ", str(value or "")).strip()


def clean_metadata(title: str = "", publisher: str = "", date: str = "", url: str = "") -> dict[str, str]:
    """Validated SOURCES.tsv fields for an upload (empty ones are left out)."""
    meta = {k: _one_line(v) for k, v in {"title": title, "publisher": publisher, "date": date, "url": url}.items()}
    if meta["url"] and not re.match(r"^https?://[^\s]+$", meta["url"], re.I):
        raise StaffError(f"the URL must start with http:// or https:// (got {meta['url']!r})")
    if meta["date"] and not re.match(r"^\d{4}(-\d{2}(-\d{2})?)?$", meta["date"]):
        raise StaffError(f"the date must look like 2024-05-31, 2024-05 or 2024 (got {meta['date']!r})")
    return {k: v for k, v in meta.items() if v}


# --- upload / remove ------------------------------------------------------------------------


def save_upload(
    settings: Settings,
    src: str | Path,
    original_name: str | None = None,
    *,
    meta: dict[str, str] | None = None,
    replace: bool = False,
) -> str:
    """Copy an uploaded file into the corpus folder under a safe name; returns that name.

    Refused (StaffError) when the type is not supported, the file is larger than
    ``upload_max_mb``, a file of that name (or document id) exists and ``replace`` is off,
    or the file cannot be read as a document. The index is not touched: re-index after.
    """
    src = Path(src)
    name = safe_filename(original_name or src.name)
    size = src.stat().st_size
    limit = settings.upload_max_mb * 1024 * 1024
    if size > limit:
        raise StaffError(f"{name}: {size / 1e6:.1f} MB is over the {settings.upload_max_mb} MB limit")
    if size == 0:
        raise StaffError(f"{name}: the file is empty")
    corpus_dir = Path(settings.corpus_dir)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    target = _inside(corpus_dir, name)
    with _corpus_lock:
        stem = target.stem
        clash = [p.name for p in corpus_files(corpus_dir) if p.stem == stem and p.name != name]
        if clash:
            raise StaffError(f"{name}: another file has the same document id ({clash[0]}); remove it first")
        if target.exists() and not replace:
            raise StaffError(f"{name} already exists; tick 'replace' to update it")
        # copy under a hidden name (ignored by the indexer), check it reads, then rename
        fd, tmp = tempfile.mkstemp(dir=corpus_dir, prefix=".upload-", suffix=target.suffix)
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            try:
                load_document(Path(tmp), limits=ReadLimits.from_settings(settings))
            except UnreadableDocument as e:
                raise StaffError(f"{name}: cannot be read ({e})") from e
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        if meta:
            rows = read_metadata(corpus_dir)
            rows[name] = {**rows.get(name, {}), **meta, "file": name}
            _write_metadata(corpus_dir, rows)
    return name


def remove_document(settings: Settings, name: str) -> None:
    """Delete one file from the corpus folder (and its SOURCES.tsv row). Re-index after."""
    corpus_dir = Path(settings.corpus_dir)
    target = _inside(corpus_dir, name)
    with _corpus_lock:
        if name == METADATA_FILE or not target.is_file() or target.name.startswith("."):
            raise StaffError(f"{name!r} is not a document in the corpus")
        target.unlink()
        rows = read_metadata(corpus_dir)
        if name in rows:
            del rows[name]
            _write_metadata(corpus_dir, rows)


# --- listing and re-indexing ----------------------------------------------------------------


def read_manifest(settings: Settings) -> dict:
    """The current index's manifest, or {} when there is no index yet."""
    path = current_path(Path(settings.index_dir)) / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def list_documents(settings: Settings) -> list[dict]:
    """Every document in the index (file, title, date, chunks, indexed_at), then the corpus
    files the index does not hold yet (status "not indexed": new, or unreadable)."""
    manifest_files = read_manifest(settings).get("files", {})
    meta = read_metadata(Path(settings.corpus_dir))
    on_disk = {p.name for p in corpus_files(Path(settings.corpus_dir))}
    docs = []
    for name in sorted(manifest_files):
        f = manifest_files[name]
        docs.append(
            {
                "file": name,
                "title": f.get("title", ""),
                "publisher": meta.get(name, {}).get("publisher", ""),
                "date": f.get("date", ""),
                "chunks": int(f.get("chunks", 0)),
                "indexed_at": f.get("indexed_at", ""),
                "status": "indexed" if name in on_disk else "removed (re-index)",
            }
        )
    for name in sorted(on_disk - set(manifest_files)):
        m = meta.get(name, {})
        docs.append(
            {
                "file": name,
                "title": m.get("title", ""),
                "publisher": m.get("publisher", ""),
                "date": m.get("date", ""),
                "chunks": 0,
                "indexed_at": "",
                "status": "not indexed",
            }
        )
    return docs


def reindex(settings: Settings, embedder, progress: Callable[[float, str], None] | None = None) -> IndexReport:
    """Bring the index in line with the corpus folder (only new or changed files are embedded)."""
    return build_index(settings, embedder, progress=progress)


def report_text(report: IndexReport) -> str:
    """One line for staff about a finished re-index."""
    text = (
        f"Index updated: {report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged; {report.chunks} chunks in {report.seconds:.1f} s."
    )
    for s in report.skipped:
        text += f"\nSkipped {s['file']}: {s['reason']}"
    return text
