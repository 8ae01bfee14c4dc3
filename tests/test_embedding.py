"""The embedder registry and every registered embedder, loaded for real; the ONNX export of the
installed MiniLM weights into a temporary cache; and where progress bars may appear."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pydantic import ValidationError

from rag.config import Settings, get_settings
from rag.embedders import EMBEDDERS, OnnxMiniLMEmbedder, get_embedder

PASSAGES = [
    "Harbour Valley Zone offers a rent subsidy of 30 percent for the first two years.",
    "The cat slept on the warm windowsill all afternoon.",
    "Companies in the park build power semiconductors and chips.",
]


def test_settings_accept_every_registered_name_and_reject_others():
    for name in EMBEDDERS:
        assert Settings(embedder=name).embedder == name
    with pytest.raises(ValidationError, match="unknown embedder 'bge-small'; choose one of minilm"):
        Settings(embedder="bge-small")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("embed-cache")  # the ONNX entries export into it


@pytest.mark.models
@pytest.mark.parametrize("name", list(EMBEDDERS))
def test_registered_embedder_gives_unit_vectors_that_find_the_right_passage(name, cache_dir):
    embedder = get_embedder(get_settings(embedder=name, cache_dir=cache_dir))
    assert embedder is get_embedder(get_settings(embedder=name, cache_dir=cache_dir))  # loaded once
    passages = embedder.encode(PASSAGES, kind="passage")
    query = embedder.encode(["Which zone gives a rent subsidy?"], kind="query")
    assert passages.shape == (3, embedder.dim) and query.shape == (1, embedder.dim)
    assert passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    assert int(np.argmax(passages @ query[0])) == 0
    assert embedder.encode([], kind="passage").shape == (0, embedder.dim)
    assert 5 < embedder.count_tokens(PASSAGES[0]) < 40


@pytest.mark.models
def test_onnx_export_lands_in_the_cache_and_matches_pytorch(tmp_path):
    texts = PASSAGES + ["short", " ".join(["a long passage about zones and subsidies"] * 60)]  # truncated at 256
    torch_vecs = get_embedder(get_settings(embedder="minilm")).encode(texts)
    fp32 = OnnxMiniLMEmbedder(tmp_path, quantize=False)
    int8 = OnnxMiniLMEmbedder(tmp_path, quantize=True)
    assert np.min(np.sum(fp32.encode(texts) * torch_vecs, axis=1)) > 0.9999
    assert np.min(np.sum(int8.encode(texts) * torch_vecs, axis=1)) > 0.98
    folder = tmp_path / "onnx" / "all-MiniLM-L6-v2"
    assert sorted(p.name for p in folder.iterdir()) == ["model-int8.onnx", "model.onnx"]  # no temp files left
    stamp = (folder / "model-int8.onnx").stat().st_mtime_ns
    again = OnnxMiniLMEmbedder(tmp_path, quantize=True)
    again.encode(["reused"])
    assert (folder / "model-int8.onnx").stat().st_mtime_ns == stamp  # the export is reused, not redone
    minilm = get_embedder(get_settings(embedder="minilm"))
    assert [fp32.count_tokens(t) for t in texts] == [minilm.count_tokens(t) for t in texts]
    assert fp32.name != int8.name != minilm.name  # an index built with one is rebuilt for another


# --- progress bars ------------------------------------------------------------------------------


@pytest.mark.models
@pytest.mark.parametrize("name", ["minilm", "use-multilingual"])
def test_progress_bar_only_for_passage_jobs_of_several_batches(name, capfd):
    embedder = get_embedder(get_settings(embedder=name))
    embedder.encode(["one question"], kind="query", progress=True)
    embedder.encode(PASSAGES, kind="passage", progress=True)  # one batch: no bar
    assert capfd.readouterr().err == ""
    embedder.encode(PASSAGES * 20, kind="passage", progress=True)  # 60 texts, two batches
    assert capfd.readouterr().err.count("2/2") >= 1


@pytest.mark.models  # loads an embedder besides the default
def test_cmrc_shows_one_bar_per_job_and_none_per_passage_or_query(tmp_path, capfd):
    from eval.cmrc import run_cmrc

    data = [
        {"context_id": f"P{i}", "context_text": f"第{i}号园区以生物医药产业为主，鼓励发展芯片产业。",
         "qas": [{"query_id": f"P{i}_Q0", "query_text": f"第{i}号园区以什么产业为主？", "answers": ["生物医药产业"]}]}
        for i in range(12)
    ]  # fmt: skip
    (tmp_path / "cmrc2018_trial.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    run_cmrc(tmp_path, split="trial", embedder="use-multilingual", skip_qa=True, progress=True)
    err = capfd.readouterr().err
    assert "Embedding" not in err and "Batches" not in err  # neither per passage file nor per question
    bars = [line.split("\r")[-1].split(":")[0] for line in err.split("\n") if "|" in line]
    assert bars == ["cmrc index", "cmrc queries", "cmrc retrieval"]


def test_routed_embedder_searches_each_language_with_its_own_model():
    """minilm+use: an English query scores passages exactly as MiniLM alone does, a Chinese one
    as multilingual USE alone does, against the same passage vectors."""
    from rag.config import Settings
    from rag.embedders import get_embedder

    routed = get_embedder(Settings(embedder="minilm+use"))
    english = get_embedder(Settings(embedder="minilm-onnx-int8"))
    use = get_embedder(Settings(embedder="use-multilingual"))
    passages = ["The zone supports power semiconductor companies.", "The center focuses on biomedicine."]
    p = routed.encode(passages, "passage")
    assert p.shape == (2, english.dim + use.dim)
    en_q, zh_q = "Which semiconductor fields does the zone support?", "示范区支持哪些半导体产业？"
    q = routed.encode([en_q, zh_q], "query")
    assert np.allclose(
        q[0] @ p.T, english.encode([en_q], "query")[0] @ english.encode(passages, "passage").T, atol=1e-5
    )
    assert np.allclose(q[1] @ p.T, use.encode([zh_q], "query")[0] @ use.encode(passages, "passage").T, atol=1e-5)
    assert (q[1] @ p.T)[0] > (q[1] @ p.T)[1]  # the Chinese question finds the English semiconductor passage
