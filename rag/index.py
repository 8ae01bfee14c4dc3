"""Index: the on-disk FAISS + BM25 index under ``embeddings/``, built incrementally and
swapped in atomically.

Layout::

    embeddings/current -> v-<time>-<id>/   (a symlink, replaced atomically by os.replace)
    embeddings/v-.../manifest.json         embedder, dims, chunking, index type, per-file hashes
    embeddings/v-.../chunks.jsonl          one Chunk per line, row i = vector i
    embeddings/v-.../vectors.npy           float32 unit vectors (kept so unchanged files are
                                           never embedded again)
    embeddings/v-.../dense.faiss           the FAISS index over vectors.npy
    embeddings/v-.../bm25/                 the bm25s keyword index over the same chunks

A build writes a complete new version folder and only then moves ``current``; a crash or
kill at any point before that leaves the previous version in use. Replaced versions are not
deleted at once: another process may have resolved ``current`` to one just before the swap and
still be loading it. The newest ``KEEP_VERSIONS`` are always kept; an older one is deleted once
the version that replaced it is ``RETIRED_GRACE_S`` old. A build refuses to run when the corpus
folder does not exist (a typo in ``--corpus`` must not replace the index with an empty one).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import itertools
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import bm25s
import faiss
import numpy as np

from .chunking import Chunk, chunk_document
from .config import Settings
from .documents import ReadLimits, UnreadableDocument, file_sha256, load_document, read_metadata, scan_corpus
from .embedding import Embedder
from .text import detect_language, keyword_tokens

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CURRENT = "current"
KEEP_VERSIONS = 2  # the current version and the one before it
RETIRED_GRACE_S = 300.0  # a replaced version is deleted when its successor is this old


class IndexUnavailable(RuntimeError):
    """No usable index: missing, unreadable, or not matching its manifest."""


class CorpusMissing(ValueError):
    """The corpus folder does not exist: nothing is built and the index is left as it is."""


def check_corpus(settings: Settings) -> None:
    """CorpusMissing unless ``settings.corpus_dir`` is a folder."""
    if not Path(settings.corpus_dir).is_dir():
        raise CorpusMissing(
            f"corpus folder {settings.corpus_dir} does not exist or is not a folder; the index was left as it is"
        )


# --- the FAISS part -------------------------------------------------------------------------


def build_faiss(vectors: np.ndarray, settings: Settings) -> tuple[faiss.Index, dict]:
    """Exact inner-product search for small corpora, HNSW past ``hnsw_threshold`` chunks.

    Flat search is exact and fast enough below the threshold (see benchmarks/README.md for
    the measurement behind the default); HNSW keeps query time flat as the corpus grows.
    """
    dim = vectors.shape[1]
    if len(vectors) >= settings.hnsw_threshold:
        index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = settings.hnsw_ef_search
        params = {"type": "hnsw", "m": settings.hnsw_m, "ef_search": settings.hnsw_ef_search}
    else:
        index = faiss.IndexFlatIP(dim)
        params = {"type": "flat"}
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index, params


def embedding_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its document title, then its text. The title says what the
    passage is about (which zone), so a question naming the zone matches all of its passages and
    the passage's own topic decides between them."""
    return chunk.text if chunk.text.startswith(chunk.title) else f"{chunk.title}\n{chunk.text}"


def build_bm25(chunks: list[Chunk]) -> bm25s.BM25:
    bm25 = bm25s.BM25()
    # bm25s cannot index an empty corpus or empty documents; a placeholder token keeps rows aligned
    bm25.index([keyword_tokens(c.text) or ["\x00"] for c in chunks] or [["\x00"]], show_progress=False)
    return bm25


# --- a loaded index ---------------------------------------------------------------------------


@dataclass
class LoadedIndex:
    path: Path
    manifest: dict
    chunks: list[Chunk]
    dense: faiss.Index
    bm25: bm25s.BM25

    @property
    def size(self) -> int:
        return len(self.chunks)

    @functools.cached_property
    def languages(self) -> frozenset[str]:
        """The languages its passages are written in (``rag.text.detect_language``)."""
        return frozenset(detect_language(c.text) for c in self.chunks)


def expected_identity(settings: Settings, embedder: Embedder) -> dict:
    """What the manifest must say for an index to be reusable with these settings."""
    return {
        "format": FORMAT_VERSION,
        "embedded_text": "title+text",
        "embedder": embedder.name,
        "dim": embedder.dim,
        "chunking": {"tokens": settings.chunk_tokens, "overlap": settings.chunk_overlap},
    }


def current_path(index_dir: Path) -> Path:
    return index_dir / CURRENT


def load_index(index_dir: Path) -> LoadedIndex:
    """Load ``index_dir/current``; IndexUnavailable says why it cannot be used."""
    path = current_path(index_dir)
    if not path.exists():
        raise IndexUnavailable(f"no index in {index_dir}")
    try:
        path = path.resolve(strict=True)
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        with (path / "chunks.jsonl").open(encoding="utf-8") as f:
            chunks = [Chunk.from_dict(json.loads(line)) for line in f if line.strip()]
        dense = faiss.read_index(str(path / "dense.faiss"))
        bm25 = bm25s.BM25.load(str(path / "bm25"))
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as e:
        raise IndexUnavailable(f"index at {path} is unreadable ({e.__class__.__name__}: {e})") from e
    if not (manifest.get("chunks") == len(chunks) == dense.ntotal):
        raise IndexUnavailable(
            f"index at {path} does not match its manifest "
            f"(manifest {manifest.get('chunks')} chunks, {len(chunks)} stored, {dense.ntotal} vectors)"
        )
    if chunks and dense.d != manifest.get("dim"):
        raise IndexUnavailable(f"index at {path} has {dense.d} dimensions, manifest says {manifest.get('dim')}")
    index = LoadedIndex(path, manifest, chunks, dense, bm25)
    _ = index.languages  # detected here, at load (about 3 s per 100k chunks), not on a first question
    return index


# --- building -------------------------------------------------------------------------------


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
        old_files: dict = old.manifest["files"] if old else {}
        old_rows: dict[str, list[int]] = {}
        if old:
            for row, c in enumerate(old.chunks):
                old_rows.setdefault(c.doc_id, []).append(row)

        meta = read_metadata(settings.corpus_dir)
        files, not_read = scan_corpus(settings.corpus_dir)
        report.skipped.extend({"file": s.file, "reason": s.reason} for s in not_read)
        limits = ReadLimits.from_settings(settings)
        new_chunks: list[Chunk] = []
        new_vectors: list[np.ndarray | slice] = []  # stored vectors, or the slice of ``pending`` to embed
        pending: list[str] = []  # texts of changed files' chunks, embedded after reading
        manifest_files: dict[str, dict] = {}
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
                new_chunks.extend(old.chunks[r] for r in rows)
                new_vectors.append(old_vectors[rows])
                manifest_files[path.name] = prev
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
            # embedded below, all changed files at once: one call per batch, not one per file
            new_vectors.append(slice(len(pending), len(pending) + len(chunks)))
            pending.extend(embedding_text(c) for c in chunks)
            new_chunks.extend(chunks)
            seen_ids[doc_id] = path.name
            manifest_files[path.name] = {
                "doc_id": doc_id,
                "sha256": sha,
                "fingerprint": fp,
                "chunks": len(chunks),
                "title": doc.title,
                "date": doc.date,
                "indexed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            if prev:
                report.updated += 1
            else:
                report.added += 1
        report.removed = sum(1 for name in old_files if name not in manifest_files)
        report.chunks = len(new_chunks)

        if old is not None and not report.changed:
            report.index_type = old.manifest.get("index", {}).get("type", "")
            report.seconds = time.perf_counter() - t0
            report_progress(1.0, "Index is up to date")
            return report

        embedded = _embed(embedder, pending, show_bar, report_progress)
        new_vectors = [embedded[v] if isinstance(v, slice) else v for v in new_vectors]
        report_progress(0.9, "Writing index")
        vectors = np.vstack(new_vectors) if new_vectors else np.zeros((0, embedder.dim), dtype=np.float32)
        _write_version(settings, identity, new_chunks, vectors, manifest_files, report)
        report.seconds = time.perf_counter() - t0
        report_progress(1.0, "Index ready")
        return report


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


def _write_version(settings, identity, chunks, vectors, manifest_files, report) -> None:
    index_dir = settings.index_dir
    version = index_dir / f"v-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    version.mkdir(parents=True)
    try:
        dense, params = build_faiss(vectors, settings)
        report.index_type = params["type"]
        np.save(version / "vectors.npy", vectors)
        faiss.write_index(dense, str(version / "dense.faiss"))
        build_bm25(chunks).save(str(version / "bm25"))
        with (version / "chunks.jsonl").open("w", encoding="utf-8") as f:
            for c in chunks:
                f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
        manifest = {
            **identity,
            "index": params,
            "chunks": len(chunks),
            "files": manifest_files,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        # the manifest is written last: a version folder without one was never finished
        (version / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
        _fsync_tree(version)
        link_tmp = index_dir / f".current-{uuid.uuid4().hex[:6]}"
        os.symlink(version.name, link_tmp)
        os.replace(link_tmp, current_path(index_dir))  # the atomic swap
    except BaseException:
        shutil.rmtree(version, ignore_errors=True)
        raise
    _remove_old_versions(index_dir, current=version.name)


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())


def _remove_old_versions(index_dir: Path, current: str) -> None:
    """Delete unfinished version folders (a build killed before its manifest) and versions
    retired more than ``RETIRED_GRACE_S`` ago, always keeping the newest ``KEEP_VERSIONS``.
    Runs under the build lock, so no other build is writing a folder."""
    finished, unfinished = [], []
    for p in index_dir.glob("v-*"):
        if p.is_dir() and p.name != current:
            (finished if (p / "manifest.json").is_file() else unfinished).append(p)
    for p in unfinished:
        shutil.rmtree(p, ignore_errors=True)
    # oldest first; each version is retired when the next one is written
    versions = sorted([*finished, index_dir / current], key=lambda p: (p.stat().st_mtime, p.name))
    now = time.time()
    for older, newer in itertools.pairwise(versions[: len(versions) - KEEP_VERSIONS + 1]):
        if now - newer.stat().st_mtime > RETIRED_GRACE_S:
            shutil.rmtree(older, ignore_errors=True)
