"""Store: the on-disk FAISS + BM25 index under ``embeddings/`` (its layout, writing a version and
swapping it in atomically, loading the current one). ``rag.ingest.build`` decides what goes in;
``rag.search`` reads what is loaded here.

Layout::

    embeddings/current -> v-<time>-<id>/   (a symlink, replaced atomically by os.replace)
    embeddings/v-.../manifest.json         embedder, dims, chunking, index type, per-file hashes
    embeddings/v-.../chunks.jsonl          one Chunk per line, row i = vector i
    embeddings/v-.../vectors.npy           float32 unit vectors (kept so unchanged files are
                                           never embedded again)
    embeddings/v-.../dense.faiss           the FAISS index over vectors.npy
    embeddings/v-.../bm25/                 the bm25s keyword index over the same chunks

A build writes a complete new version folder (``write_version``) and only then moves
``current``; a crash or kill at any point before that leaves the previous version in use. Replaced versions are not
deleted at once: another process may have resolved ``current`` to one just before the swap and
still be loading it. The newest ``KEEP_VERSIONS`` are always kept; an older one is deleted once
the version that replaced it is ``RETIRED_GRACE_S`` old."""

from __future__ import annotations

import functools
import itertools
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import bm25s
import faiss
import numpy as np

from ..config import Settings
from ..embedders import Embedder
from ..text import keyword_tokens
from .chunking import Chunk

FORMAT_VERSION = 2  # 2: every chunk carries its document's subject
CURRENT = "current"
KEEP_VERSIONS = 2  # the current version and the one before it
RETIRED_GRACE_S = 300.0  # a replaced version is deleted when its successor is this old


class IndexUnavailable(RuntimeError):
    """No usable index: missing, unreadable, or not matching its manifest."""


# --- the FAISS and BM25 parts ---------------------------------------------------------------


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
        return frozenset(c.lang for c in self.chunks)


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


# --- writing a version -----------------------------------------------------------------------


def write_version(settings: Settings, identity: dict, chunks: list[Chunk], vectors: np.ndarray, files: dict) -> str:
    """Write a complete version folder (vectors, FAISS, BM25, chunks, manifest last) and swap
    ``current`` to it; returns the index type ("flat" or "hnsw"). Older versions are retired."""
    index_dir = settings.index_dir
    version = index_dir / f"v-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    version.mkdir(parents=True)
    try:
        dense, params = build_faiss(vectors, settings)
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
            "files": files,
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
    return params["type"]


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
