"""Corpus: managing the documents of the corpus folder, behind the web app's staff tab.

Owns safe names for uploaded files (``pathvalidate``; invisible and direction-changing characters
refused), the upload rules (types = ``rag.ingest.documents.SUPPORTED``, size <=
``settings.upload_max_mb``, file stored only inside ``settings.corpus_dir``, unreadable files
and files over the reading limits refused before they reach the corpus), the ``SOURCES.tsv``
row of an upload (only that row is rewritten, merged with what was there; every other line
stays byte for byte; written atomically under a lock shared by all processes), the list of
indexed documents (from the index manifest), removing a document, and re-indexing with a
progress callback. Nothing here knows about Gradio; the staff tab (``rag.web.staff``) calls these
after checking the password (``rag.web.login``).
"""

from __future__ import annotations

import datetime
import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pathvalidate import sanitize_filename

from ..config import Settings
from .build import IndexReport, build_index
from .documents import SUPPORTED, ReadLimits, UnreadableDocument, corpus_files, load_document
from .sources import METADATA_COLUMNS, METADATA_FILE, metadata_columns, metadata_lines, metadata_row, read_metadata
from .store import current_path

log = logging.getLogger(__name__)

MAX_NAME_CHARS = 120
_thread_lock = threading.Lock()  # one corpus change at a time within this process...


@contextmanager
def _corpus_lock(corpus_dir: Path) -> Iterator[None]:
    """...and across processes: an exclusive ``flock`` on the corpus folder itself."""
    with _thread_lock:
        fd = os.open(corpus_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock


class CorpusError(ValueError):
    """A refused corpus change (a bad name, type, size or metadata); the message is shown to staff as is."""


# --- names ----------------------------------------------------------------------------------


def safe_filename(name: str) -> str:
    """A corpus file name made from an uploaded file's name, or CorpusError.

    Directory parts are dropped, characters not allowed in file names on any platform are
    removed (``pathvalidate``), whitespace becomes ``-``, leading dots are removed (hidden
    files are ignored by the indexer), the extension is lower-cased and must be supported.
    Chinese and Korean names are kept. A name with invisible or direction-changing characters
    (Unicode format characters: bidi controls, zero-width spaces and joiners) is refused: it
    could show staff a different name, or extension, than the file has.
    """
    name = unicodedata.normalize("NFC", name or "")
    hidden = sorted({f"U+{ord(c):04X}" for c in name if unicodedata.category(c) == "Cf"})
    if hidden:
        raise CorpusError(
            f"{name!r}: the name contains invisible or direction-changing characters ({', '.join(hidden)}); "
            "rename the file"
        )
    base = re.split(r"[\\/]", name)[-1]
    base = sanitize_filename(base, platform="universal")
    base = re.sub(r"\s+", "-", base).strip("-. _")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = "." + ext.lower() if ext else ""
    if ext not in SUPPORTED:
        allowed = ", ".join(SUPPORTED)
        raise CorpusError(f"{name!r}: file type {ext or '(none)'} is not allowed; allowed types: {allowed}")
    stem = stem.strip("-. _")[:MAX_NAME_CHARS].strip("-. _")
    if not stem:
        raise CorpusError(f"{name!r}: no usable file name")
    safe = sanitize_filename(stem + ext, platform="universal")  # re-check: e.g. reserved names (CON)
    if safe == METADATA_FILE or safe.startswith("."):
        raise CorpusError(f"{name!r}: reserved file name")
    return safe


def _inside(corpus_dir: Path, name: str) -> Path:
    """``corpus_dir/name``, refusing anything that would not be a direct child of the folder.
    A symbolic link there is the link itself (never resolved: removing it removes the link)."""
    if not name or name != Path(name).name or name in (".", "..") or "\\" in name:
        raise CorpusError(f"{name!r} is not a plain file name")
    root = corpus_dir.resolve()
    target = root / name
    if target.parent != root:
        raise CorpusError(f"{name!r} is outside the corpus folder")
    return target


# --- SOURCES.tsv ----------------------------------------------------------------------------


def update_metadata(corpus_dir: Path, name: str, fields: dict[str, str] | None) -> None:
    """Merge ``fields`` into the SOURCES.tsv row of ``name`` (a new row if it has none), or
    with ``None`` delete that row. Every other line is kept byte for byte (rows this program
    cannot read included); the file is replaced atomically (a temporary file, then a rename).
    Call with the corpus lock held."""
    path = corpus_dir / METADATA_FILE
    lines = metadata_lines(path)
    columns = metadata_columns(lines)
    if "file" not in columns:
        raise CorpusError(f"{METADATA_FILE} has no 'file' column in its first line; fix the file first")
    header = lines[0].raw if lines else "\t".join(columns).encode() + b"\n"
    body = header.rstrip(b"\r\n")
    newline = header[len(body) :] or b"\n"
    kept: list[bytes | None] = []  # None: where the row of ``name`` goes
    old: dict[str, str] = {}
    for line in lines[1:]:
        row = metadata_row(columns, line)
        if row.get("file") == name:
            old.update(row)
            if None not in kept:
                kept.append(None)
        else:
            kept.append(line.raw if line.raw.endswith((b"\n", b"\r")) else line.raw + newline)
    if fields is None:
        if None not in kept:
            return
        kept.remove(None)
    else:
        row = {**old, **fields, "file": name}
        missing = [c for c in METADATA_COLUMNS if row.get(c) and c not in columns]
        if missing:  # an old header without e.g. the url column: add it (other rows leave it empty)
            columns += missing
            body += ("\t" + "\t".join(missing)).encode()
        line = "\t".join(_one_line(row.get(c, "")) for c in columns).encode("utf-8") + newline
        kept = [line if k is None else k for k in kept] if None in kept else [*kept, line]
    _replace_file(path, b"".join([body + newline, *kept]))


def set_metadata(settings: Settings, name: str, fields: dict[str, str]) -> None:
    """Merge ``fields`` (from ``clean_metadata``) into the SOURCES.tsv row of corpus file
    ``name``, under the corpus lock. Re-index after."""
    corpus_dir = Path(settings.corpus_dir)
    _inside(corpus_dir, name)
    with _corpus_lock(corpus_dir):
        update_metadata(corpus_dir, name, fields)


def _replace_file(path: Path, data: bytes) -> None:
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".sources-", suffix=".tsv")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _one_line(value) -> str:
    return re.sub(r"[\t\r\n]+", " ", str(value or "")).strip()


def clean_metadata(title: str = "", publisher: str = "", date: str = "", url: str = "") -> dict[str, str]:
    """Validated SOURCES.tsv fields for an upload (empty ones are left out)."""
    meta = {k: _one_line(v) for k, v in {"title": title, "publisher": publisher, "date": date, "url": url}.items()}
    if meta["url"] and not re.match(r"^https?://[^\s]+$", meta["url"], re.I):
        raise CorpusError(f"the URL must start with http:// or https:// (got {meta['url']!r})")
    if meta["date"] and not _real_date(meta["date"]):
        raise CorpusError(f"the date must be a real date like 2024-05-31, 2024-05 or 2024 (got {meta['date']!r})")
    return {k: v for k, v in meta.items() if v}


def _real_date(text: str) -> bool:
    """2024-05-31, 2024-05 or 2024, naming a day that exists."""
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text):
        return False
    try:
        datetime.date.fromisoformat((text + "-01-01")[:10])
    except ValueError:
        return False
    return True


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

    Refused (CorpusError) when the type is not supported, the file is larger than
    ``upload_max_mb``, a file of that name (or document id) exists and ``replace`` is off,
    or the file cannot be read as a document. The index is not touched: re-index after.
    """
    src = Path(src)
    name = safe_filename(original_name or src.name)
    size = src.stat().st_size
    limit = settings.upload_max_mb * 1024 * 1024
    if size > limit:
        raise CorpusError(f"{name}: {size / 1e6:.1f} MB is over the {settings.upload_max_mb} MB limit")
    if size == 0:
        raise CorpusError(f"{name}: the file is empty")
    corpus_dir = Path(settings.corpus_dir)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    target = _inside(corpus_dir, name)
    with _corpus_lock(corpus_dir):
        stem = target.stem
        clash = [p.name for p in corpus_files(corpus_dir) if p.stem == stem and p.name != name]
        if clash:
            raise CorpusError(f"{name}: another file has the same document id ({clash[0]}); remove it first")
        if os.path.lexists(target) and not replace:
            raise CorpusError(f"{name} already exists; tick 'replace' to update it")
        # copy under a hidden name (ignored by the indexer), check it reads, then rename
        fd, tmp = tempfile.mkstemp(dir=corpus_dir, prefix=".upload-", suffix=target.suffix)
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            try:
                load_document(Path(tmp), limits=ReadLimits.from_settings(settings))
            except UnreadableDocument as e:
                raise CorpusError(f"{name}: cannot be read ({e})") from e
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        if meta:
            update_metadata(corpus_dir, name, meta)
    return name


def remove_document(settings: Settings, name: str) -> None:
    """Delete one file from the corpus folder (and its SOURCES.tsv row). Re-index after."""
    corpus_dir = Path(settings.corpus_dir)
    target = _inside(corpus_dir, name)
    with _corpus_lock(corpus_dir):
        if name == METADATA_FILE or target.name.startswith(".") or not (target.is_symlink() or target.is_file()):
            raise CorpusError(f"{name!r} is not a document in the corpus")
        target.unlink()
        update_metadata(corpus_dir, name, None)


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
