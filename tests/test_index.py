"""Incremental indexing, the atomic swap, and rebuilding a broken index — with the real
MiniLM embedder and real FAISS/BM25 indexes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.config import get_settings
from rag.ingest import store as index_mod
from rag.ingest.build import CorpusMissing, build_index
from rag.ingest.store import IndexUnavailable, load_index

from .fixtures import write_all_formats, write_bad_files

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def settings(tmp_path):
    corpus = tmp_path / "corpus"
    write_all_formats(corpus)
    return get_settings(corpus_dir=corpus, index_dir=tmp_path / "embeddings", chunk_tokens=64, chunk_overlap=16)


class CountingEmbedder:
    """The real embedder, counting which texts it was asked to embed."""

    def __init__(self, inner):
        self.inner, self.name, self.dim, self.texts = inner, inner.name, inner.dim, []

    def encode(self, texts, kind="passage", progress=False):
        self.texts.extend(texts)
        return self.inner.encode(texts, kind, progress)

    def count_tokens(self, text):
        return self.inner.count_tokens(text)


def test_second_run_changes_nothing_and_touching_one_file_reembeds_only_it(settings, embedder):
    first = build_index(settings, embedder)
    assert (first.added, first.updated, first.removed, first.unchanged) == (6, 0, 0, 0)
    version = load_index(settings.index_dir).path

    second = build_index(settings, embedder)
    assert (second.added, second.updated, second.removed, second.unchanged) == (0, 0, 0, 6)
    assert load_index(settings.index_dir).path == version  # nothing was rewritten

    (settings.corpus_dir / "harbour.txt").write_text("Harbour Valley Zone now builds ferries.", encoding="utf-8")
    counting = CountingEmbedder(embedder)
    third = build_index(settings, counting)
    assert (third.added, third.updated, third.removed, third.unchanged) == (0, 1, 0, 5)
    assert counting.texts == ["Harbour Valley Zone now builds ferries."]

    loaded = load_index(settings.index_dir)
    texts = [c.text for c in loaded.chunks if c.doc_id == "harbour"]
    assert texts == ["Harbour Valley Zone now builds ferries."]  # old chunks replaced, not duplicated
    assert len({c.chunk_id for c in loaded.chunks}) == len(loaded.chunks) == loaded.dense.ntotal


def test_deleted_file_is_removed_and_new_file_added(settings, embedder):
    build_index(settings, embedder)
    (settings.corpus_dir / "notes.md").unlink()
    (settings.corpus_dir / "extra.txt").write_text("Extra Park makes bicycles.", encoding="utf-8")
    report = build_index(settings, embedder)
    assert (report.added, report.removed, report.unchanged) == (1, 1, 5)
    doc_ids = {c.doc_id for c in load_index(settings.index_dir).chunks}
    assert "notes" not in doc_ids and "extra" in doc_ids


def test_bad_files_are_reported_and_the_rest_indexed(settings, embedder):
    write_bad_files(settings.corpus_dir)
    report = build_index(settings, embedder)
    assert report.added == 6
    assert {s["file"] for s in report.skipped} == {"empty.txt", "broken.pdf", "binary.txt", "broken.docx", "data.xyz"}
    assert all(s["reason"] for s in report.skipped)


def test_changed_chunking_settings_rebuild(settings, embedder):
    build_index(settings, embedder)
    changed = settings.model_copy(update={"chunk_tokens": 48})
    report = build_index(changed, embedder)
    assert report.added == 6 and report.unchanged == 0
    assert "settings changed" in report.rebuilt_reason
    assert load_index(settings.index_dir).manifest["chunking"] == {"tokens": 48, "overlap": 16}


def test_manifest_records_model_dims_chunking_type_and_hashes(settings, embedder):
    build_index(settings, embedder)
    m = load_index(settings.index_dir).manifest
    assert m["embedder"] == embedder.name and m["dim"] == embedder.dim == 384 + 512
    assert m["index"]["type"] == "flat"
    assert len(m["files"]["harbour.txt"]["sha256"]) == 64


def test_large_corpus_gets_hnsw(settings, embedder):
    report = build_index(settings.model_copy(update={"hnsw_threshold": 2}), embedder)
    assert report.index_type == "hnsw"
    assert load_index(settings.index_dir).manifest["index"]["type"] == "hnsw"


def test_failure_before_swap_leaves_previous_index(settings, embedder, monkeypatch):
    build_index(settings, embedder)
    before = load_index(settings.index_dir)
    (settings.corpus_dir / "harbour.txt").write_text("Changed text about trams.", encoding="utf-8")

    def crash(folder):
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(index_mod, "_fsync_tree", crash)
    with pytest.raises(KeyboardInterrupt):
        build_index(settings, embedder)
    after = load_index(settings.index_dir)
    assert after.path == before.path
    assert [c.text for c in after.chunks] == [c.text for c in before.chunks]
    assert list(settings.index_dir.glob("v-*")) == [before.path]  # the half-written version is gone


def test_kill_during_build_leaves_previous_index_loadable(settings, embedder):
    build_index(settings, embedder)
    before = load_index(settings.index_dir)
    for i in range(60):  # enough new text that embedding is still under way when the kill lands
        (settings.corpus_dir / f"bulk{i}.txt").write_text(
            " ".join(f"Bulk park {i} sentence {j} about factories and logistics." for j in range(30)), encoding="utf-8"
        )
    env = {
        **os.environ,
        "RAG_CORPUS_DIR": str(settings.corpus_dir),
        "RAG_INDEX_DIR": str(settings.index_dir),
        "RAG_CHUNK_TOKENS": "64",
        "RAG_CHUNK_OVERLAP": "16",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag", "index"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    seen = b""
    while b"Embedding" not in seen and proc.poll() is None:  # killed as soon as its embedding bar appears
        seen += proc.stderr.read1(4096)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert b"Embedding" in seen, seen[-2000:]
    after = load_index(settings.index_dir)
    assert after.path == before.path and after.size == before.size

    report = build_index(settings, embedder)  # the next build finishes and cleans up the half-written folder
    assert report.added == 60
    now = load_index(settings.index_dir).path.name
    assert sorted(p.name for p in settings.index_dir.glob("v-*")) == sorted([before.path.name, now])


def test_corrupt_index_is_rebuilt_with_reason(settings, embedder):
    build_index(settings, embedder)
    path = load_index(settings.index_dir).path
    (path / "chunks.jsonl").write_text('{"chunk_id": "x"}\n', encoding="utf-8")
    with pytest.raises(IndexUnavailable, match="does not match its manifest"):
        load_index(settings.index_dir)
    report = build_index(settings, embedder)
    assert "rebuilding" in report.rebuilt_reason and "does not match" in report.rebuilt_reason
    assert report.added == 6
    assert load_index(settings.index_dir).size == report.chunks


def test_cli_index_json_twice(tmp_path, capsys):
    from rag.cli import main

    corpus = tmp_path / "c"
    write_all_formats(corpus)
    args = ["index", "--json", "--corpus", str(corpus), "--index", str(tmp_path / "e")]
    runs = []
    for _ in range(2):  # in-process: the entry point itself is run as a process in test_config.py
        assert main(args) == 0
        runs.append(json.loads(capsys.readouterr().out))
    first, second = runs
    assert set(first) == {"added", "updated", "removed", "unchanged", "chunks", "skipped"}
    assert first["added"] == 6 and first["chunks"] > 0
    assert (second["added"], second["updated"], second["removed"], second["unchanged"]) == (0, 0, 0, 6)


# --- a missing corpus folder, and versions a concurrent reader may still be loading ------------


def test_missing_corpus_folder_is_refused_and_the_index_kept(settings, embedder):
    build_index(settings, embedder)
    before = load_index(settings.index_dir)
    versions = sorted(settings.index_dir.glob("v-*"))
    typo = settings.model_copy(update={"corpus_dir": settings.corpus_dir.parent / "corpsu"})
    with pytest.raises(CorpusMissing, match="corpsu does not exist or is not a folder; the index was left as it is"):
        build_index(typo, embedder)
    after = load_index(settings.index_dir)
    assert after.path == before.path and after.size == before.size
    assert sorted(settings.index_dir.glob("v-*")) == versions


READER = """
import json, sys, time
from pathlib import Path
from rag.ingest.store import load_index
index_dir, ready, stop = (Path(a) for a in sys.argv[1:4])
loads, errors = 0, []
ready.write_text("ready")
while not stop.exists():
    try:
        loads += len(load_index(index_dir).chunks) > 0
    except Exception as e:
        errors.append(f"{e.__class__.__name__}: {e}")
print(json.dumps({"loads": loads, "errors": errors[:3], "error_count": len(errors)}))
"""


def test_reader_in_another_process_never_sees_its_version_vanish(settings, embedder, tmp_path):
    """A second process loads the index in a loop while this one swaps in 12 new versions."""
    for i in range(20):  # a bigger index takes longer to load: a wider window for the race
        (settings.corpus_dir / f"bulk{i}.txt").write_text(
            " ".join(f"Bulk park {i} sentence {j} about factories and logistics." for j in range(40)), encoding="utf-8"
        )
    build_index(settings, embedder)
    ready, stop = tmp_path / "ready", tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.index_dir), str(ready), str(stop)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ready.exists(), "the reader did not start"
        harbour = settings.corpus_dir / "harbour.txt"
        for n in range(12):
            harbour.write_text(
                harbour.read_text(encoding="utf-8") + f" Update {n} adds a ferry line.", encoding="utf-8"
            )
            assert build_index(settings, embedder).updated == 1
    finally:
        stop.write_text("stop")
        out, _ = reader.communicate(timeout=60)
    result = json.loads(out)
    assert result["loads"] > 12 and result["error_count"] == 0, result
    assert len(list(settings.index_dir.glob("v-*"))) == 13  # all within the grace period: none deleted yet


def test_versions_retired_long_ago_are_deleted_keeping_the_newest_two(settings, embedder):
    build_index(settings, embedder)
    harbour = settings.corpus_dir / "harbour.txt"
    made = [load_index(settings.index_dir).path]
    for n in range(3):
        harbour.write_text(f"Harbour Valley Zone update {n} about ferries.", encoding="utf-8")
        build_index(settings, embedder)
        made.append(load_index(settings.index_dir).path)
    old = time.time() - index_mod.RETIRED_GRACE_S - 600
    for age, path in enumerate(made):  # as if built long ago, oldest first, a minute apart
        os.utime(path, (old + 60 * age, old + 60 * age))
    harbour.write_text("Harbour Valley Zone final update about ferries.", encoding="utf-8")
    build_index(settings, embedder)
    newest = load_index(settings.index_dir).path
    # made[3] was replaced just now (kept: one of the newest two); made[0..2] were replaced long ago
    assert sorted(settings.index_dir.glob("v-*")) == sorted([made[3], newest])
