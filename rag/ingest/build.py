"""Build: bring the index in line with the corpus folder, embedding only new or changed files.

``python -m rag index`` hashes every file (plus its ``SOURCES.tsv`` row). Unchanged files keep
their stored vectors; a changed file's chunks are replaced; a deleted file's are removed. A
change of embedder or chunking settings rebuilds everything. The result is written as a new
version by ``rag.ingest.store`` and swapped in atomically. A build refuses to run when the corpus
folder does not exist (a typo in ``--corpus`` must not replace the index with an empty one).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..config import Settings
from ..embedders import Embedder
from .chunking import Chunk, chunk_document
from .documents import ReadLimits, UnreadableDocument, file_sha256, load_document, scan_corpus
from .sources import read_metadata
from .store import (
    IndexUnavailable,
    LoadedIndex,
    current_path,
    embedding_text,
    expected_identity,
    load_index,
    write_version,
)

log = logging.getLogger(__name__)


class CorpusMissing(ValueError):
    """The corpus folder does not exist: nothing is built and the index is left as it is."""


def check_corpus(settings: Settings) -> None:
    """CorpusMissing unless ``settings.corpus_dir`` is a folder."""
    if not Path(settings.corpus_dir).is_dir():
        raise CorpusMissing(
            f"corpus folder {settings.corpus_dir} does not exist or is not a folder; the index was left as it is"
        )


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks: int = 0
    skipped: list[dict] = field(default_factory=list)
    rebuilt_reason: str | None = None  # why the previous index was not reused, if it was not
    index_type: str = ""
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def to_json(self) -> dict:
        keys = ("added", "updated", "removed", "unchanged", "chunks", "skipped")
        return {k: v for k, v in asdict(self).items() if k in keys}


def _fingerprint(sha256: str, meta: dict | None) -> str:
    """Content hash of the file plus its SOURCES.tsv row: a title fix re-indexes the file."""
    row = json.dumps(meta or {}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(f"{sha256}\n{row}".encode()).hexdigest()


@contextmanager
def _build_lock(index_dir: Path):
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # one build at a time; readers never take this lock
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _reusable(index_dir: Path, identity: dict) -> tuple[LoadedIndex | None, np.ndarray | None, str | None]:
    """The previous index and its vectors if compatible, else the reason to rebuild."""
    if not current_path(index_dir).exists():
        return None, None, None
    try:
        old = load_index(index_dir)
        vectors = np.load(old.path / "vectors.npy")
    except (IndexUnavailable, OSError, ValueError) as e:
        return None, None, f"previous index unusable, rebuilding: {e}"
    if len(vectors) != old.size:
        return None, None, "previous index unusable, rebuilding: vectors do not match chunks"
    got = {k: old.manifest.get(k) for k in identity}
    if got != identity:
        diff = ", ".join(f"{k}: {got[k]} -> {identity[k]}" for k in identity if got[k] != identity[k])
        return None, None, f"settings changed ({diff}), rebuilding"
    return old, vectors, None


@dataclass
class _Contents:
    """What the new version will hold, gathered file by file: stored vectors reused for unchanged
    files, the chunk texts of changed ones to embed (all at once, after reading)."""

    chunks: list[Chunk] = field(default_factory=list)
    vectors: list[np.ndarray | slice] = field(default_factory=list)  # stored vectors, or the slice of ``pending``
    pending: list[str] = field(default_factory=list)  # texts of changed files' chunks, embedded after reading
    files: dict[str, dict] = field(default_factory=dict)  # the manifest's entry per file

    def keep(self, name: str, chunks: list[Chunk], vectors: np.ndarray, entry: dict) -> None:
        self.chunks.extend(chunks)
        self.vectors.append(vectors)
        self.files[name] = entry

    def add(self, name: str, chunks: list[Chunk], entry: dict) -> None:
        # embedded later, all changed files at once: one call per batch, not one per file
        self.vectors.append(slice(len(self.pending), len(self.pending) + len(chunks)))
        self.pending.extend(embedding_text(c) for c in chunks)
        self.chunks.extend(chunks)
        self.files[name] = entry


def build_index(
    settings: Settings,
    embedder: Embedder,
    progress: Callable[[float, str], None] | None = None,
    show_bar: bool = False,
) -> IndexReport:
    """Bring the index in line with the corpus folder, embedding only new or changed files."""
    t0 = time.perf_counter()
    report_progress = progress or (lambda frac, msg: None)
    check_corpus(settings)
    with _build_lock(settings.index_dir):
        identity = expected_identity(settings, embedder)
        old, old_vectors, reason = _reusable(settings.index_dir, identity)
        report = IndexReport(rebuilt_reason=reason)
        if reason:
            log.warning(reason)
        new = _collect(settings, embedder, old, old_vectors, report, report_progress)
        report.removed = sum(1 for name in (old.manifest["files"] if old else {}) if name not in new.files)
        report.chunks = len(new.chunks)
        if old is not None and not report.changed:
            report.index_type = old.manifest.get("index", {}).get("type", "")
            report.seconds = time.perf_counter() - t0
            report_progress(1.0, "Index is up to date")
            return report

        embedded = _embed(embedder, new.pending, show_bar, report_progress)
        vectors = [embedded[v] if isinstance(v, slice) else v for v in new.vectors]
        report_progress(0.9, "Writing index")
        stacked = np.vstack(vectors) if vectors else np.zeros((0, embedder.dim), dtype=np.float32)
        report.index_type = write_version(settings, identity, new.chunks, stacked, new.files)
        report.seconds = time.perf_counter() - t0
        report_progress(1.0, "Index ready")
        return report


def _collect(
    settings: Settings,
    embedder: Embedder,
    old: LoadedIndex | None,
    old_vectors: np.ndarray | None,
    report: IndexReport,
    report_progress: Callable[[float, str], None],
) -> _Contents:
    """Every file of the corpus folder read (or its stored chunks reused), counted in ``report``."""
    old_files: dict = old.manifest["files"] if old else {}
    old_rows: dict[str, list[int]] = {}
    for row, c in enumerate(old.chunks if old else []):
        old_rows.setdefault(c.doc_id, []).append(row)
    meta = read_metadata(settings.corpus_dir)
    files, not_read = scan_corpus(settings.corpus_dir)
    report.skipped.extend({"file": s.file, "reason": s.reason} for s in not_read)
    limits = ReadLimits.from_settings(settings)
    new = _Contents()
    seen_ids: dict[str, str] = {}
    for i, path in enumerate(files):
        report_progress(0.05 + 0.35 * i / max(len(files), 1), f"Reading {path.name}")
        doc_id = path.stem
        if doc_id in seen_ids:
            report.skipped.append({"file": path.name, "reason": f"same document id as {seen_ids[doc_id]}"})
            continue
        try:
            sha = file_sha256(path)
        except UnreadableDocument as e:
            report.skipped.append({"file": path.name, "reason": str(e)})
            continue
        fp = _fingerprint(sha, meta.get(path.name))
        prev = old_files.get(path.name)
        if prev and prev["fingerprint"] == fp and doc_id in old_rows:
            rows = old_rows[doc_id]
            new.keep(path.name, [old.chunks[r] for r in rows], old_vectors[rows], prev)
            seen_ids[doc_id] = path.name
            report.unchanged += 1
            continue
        try:
            doc = load_document(path, meta.get(path.name), sha256=sha, limits=limits)
        except UnreadableDocument as e:
            log.warning("skipped %s: %s", path.name, e)
            report.skipped.append({"file": path.name, "reason": str(e)})
            continue
        chunks = chunk_document(doc, embedder.count_tokens, settings.chunk_tokens, settings.chunk_overlap)
        entry = {
            "doc_id": doc_id,
            "sha256": sha,
            "fingerprint": fp,
            "chunks": len(chunks),
            "title": doc.title,
            "date": doc.date,
            "indexed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        new.add(path.name, chunks, entry)
        seen_ids[doc_id] = path.name
        if prev:
            report.updated += 1
        else:
            report.added += 1
    return new


EMBED_STEP = 512  # passages per encode call: large enough for full batches, small enough to report progress


def _embed(embedder: Embedder, texts: list[str], show_bar: bool, report_progress) -> np.ndarray:
    """Vectors of ``texts`` (the changed files' chunks), in order, with progress between steps
    (one bar for the whole job when ``show_bar``)."""
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    from tqdm import tqdm

    parts = []
    with tqdm(total=len(texts), desc="Embedding", unit="passage", disable=not show_bar) as bar:
        for start in range(0, len(texts), EMBED_STEP):
            end = min(start + EMBED_STEP, len(texts))
            report_progress(0.4 + 0.5 * start / len(texts), f"Embedding passages {start + 1}-{end} of {len(texts)}")
            parts.append(embedder.encode(texts[start:end], kind="passage"))
            bar.update(end - start)
    return np.vstack(parts)
