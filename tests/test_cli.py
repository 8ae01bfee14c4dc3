"""The command line, called in-process through ``rag.cli.main``: a typo in --corpus keeps the
index, and an abstention lists its related reading. Real MiniLM embedder and index."""

from __future__ import annotations

import pytest

from rag.cli import main
from rag.config import get_settings
from rag.embedders import get_embedder
from rag.ingest.build import build_index
from rag.ingest.store import load_index

from .fixtures import write_all_formats


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    corpus, index = tmp / "corpus", tmp / "index"
    write_all_formats(corpus)
    settings = get_settings(corpus_dir=corpus, index_dir=index)
    build_index(settings, get_embedder(settings))
    return corpus, index


def test_index_with_a_missing_corpus_folder_refuses_and_keeps_the_index(built, capsys):
    corpus, index = built
    before = load_index(index)
    versions = sorted(index.glob("v-*"))
    code = main(["index", "--corpus", str(corpus.parent / "corpsu"), "--index", str(index)])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.strip() == (
        f"error: corpus folder {corpus.parent / 'corpsu'} does not exist or is not a folder; "
        "the index was left as it is"
    )
    assert out == ""
    after = load_index(index)
    assert after.path == before.path and after.size == before.size and sorted(index.glob("v-*")) == versions


def ask(built, question: str) -> int:
    """``python -m rag ask`` in-process, extractive, over the built fixture index."""
    corpus, index = built
    return main(["ask", question, "--backend", "extractive", "--corpus", str(corpus), "--index", str(index)])


def test_ask_abstention_prints_related_reading(built, capsys):
    code = ask(built, "How do I bake sourdough bread at home?")
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("The documents I have do not answer this question.")
    assert "\nRelated reading:\n[1] " in out and "Sources:" not in out


def test_ask_answer_prints_sources(built, capsys):
    code = ask(built, "What do companies in Harbour Valley Zone focus on?")
    out = capsys.readouterr().out
    assert code == 0
    assert "\nSources:\n[1] " in out and "Related reading" not in out and "harbour.txt" in out
