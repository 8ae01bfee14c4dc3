"""Evaluation commands: question file, reports, compare (with its exit status), the CMRC
scorer on a tiny benchmark, and ``python -m eval run`` end to end on a tiny corpus."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from eval import metrics as M
from eval.__main__ import main as eval_cli
from eval.compare import run_compare
from eval.report import write_reports
from eval.run import QuestionFileError, _score_and_write, load_questions

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = [
    {"id": "q1", "question": "Which chips does the zone want?", "lang": "en", "answerable": True,
     "facts": [["IGBT"], ["compound semiconductor"]], "doc": "semis"},
    {"id": "q2", "question": "Who heads the bureau?", "lang": "en", "answerable": True,
     "facts": [["Bai Song"]], "doc": "people"},
    {"id": "q3", "question": "What is the tax rate?", "lang": "en", "answerable": False, "facts": [], "doc": None},
    {"id": "q4", "question": "招商局局长是谁？", "lang": "zh", "answerable": True,
     "facts": [["白松", "Bai Song"]], "doc": "people"},
]  # fmt: skip
PASSAGES = {
    "semis": "The zone promotes compound semiconductor and power semiconductor (IGBT) projects.",
    "people": "Bai Song heads the Investment Promotion Bureau of Jingyue.",
}


def _record(q, answer, cited=(), abstained=False, retrieved=None, total=1500.0):
    citations = [
        {"n": n, "doc_id": d, "chunk_id": f"{d}#0", "title": d, "source": f"{d}.txt", "text": PASSAGES[d]}
        for n, d in enumerate(cited, 1)
    ]
    retrieved = retrieved if retrieved is not None else list(cited) or ["semis"]
    return {
        **{k: q[k] for k in ("id", "question", "lang", "answerable", "doc", "facts")},
        "answer": answer, "abstained": abstained, "citations": citations, "related": [],
        "retrieved": [{"rank": i, "doc_id": d, "chunk_id": f"{d}#0"} for i, d in enumerate(retrieved, 1)],
        "backend": "extractive", "model": "none",
        "timings_ms": {"retrieve": 100.0, "generate": total - 100, "total": total},
        "error": None,
    }  # fmt: skip


def make_run(folder: Path, answers: dict[str, dict], settings: dict | None = None) -> Path:
    """A run folder as `python -m eval run` writes it, from hand-written answers."""
    folder.mkdir(parents=True)
    records = [_record(q, **answers[q["id"]]) for q in QUESTIONS]
    metrics = _score_and_write(QUESTIONS, records, folder)
    doc = {"run": folder.name, "n_questions": len(records), "backend": "extractive", "model": "none",
           "embedder": "minilm", "questions_file": "q.jsonl", "answer_seconds": 6, "warmup_seconds": 1,
           "errors": 0, "fallbacks": 0, "git": {"commit": "abc", "dirty": False},
           "settings": settings or {"top_k": 4, "retrieval_mode": "hybrid"}, "metrics": metrics}  # fmt: skip
    (folder / "metrics.json").write_text(json.dumps(doc), encoding="utf-8")
    write_reports(folder, doc, records)
    return folder


GOOD = {
    "q1": {"answer": "The zone wants IGBT and compound semiconductor projects [1].", "cited": ["semis"]},
    "q2": {"answer": "Bai Song heads the bureau [1].", "cited": ["people"], "retrieved": ["people", "semis"]},
    "q3": {"answer": "The documents I have do not answer this question.", "abstained": True},
    "q4": {"answer": "招商局局长是白松 [1]。", "cited": ["people"], "retrieved": ["people"]},
}
WORSE = {
    **GOOD,
    "q1": {"answer": "The zone wants IGBT projects [1].", "cited": ["semis"]},  # loses a fact
    "q2": {"answer": "The documents do not say.", "abstained": True, "retrieved": ["semis", "people"]},
    "q3": {"answer": "The tax rate is 15% [1].", "cited": ["semis"], "total": 4000.0},  # answers an unanswerable
}


# --- questions file ------------------------------------------------------------------------


def test_repository_question_set_meets_the_issue():
    qs = load_questions(ROOT / "eval" / "questions.jsonl")
    assert len(qs) >= 60
    assert sum(not q["answerable"] for q in qs) >= 15
    assert sum(q["lang"] in ("zh", "ko") for q in qs) >= 10
    docs = {p.stem for p in (ROOT / "corpus").iterdir() if p.suffix == ".txt"}
    for q in qs:
        if q["answerable"]:
            assert q["doc"] in docs and q["facts"], q["id"]
        else:
            assert q["doc"] is None and q["facts"] == [], q["id"]
    # every fact of an English answerable question is findable in its gold document
    for q in qs:
        if q["answerable"]:
            text = (ROOT / "corpus" / f"{q['doc']}.txt").read_text(encoding="utf-8")
            for fact in q["facts"]:
                assert M.fact_present(text, fact), (q["id"], fact)


def test_question_file_validation(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "question": "q", "lang": "fr", "answerable": True, "facts": [], "doc": None}))
    with pytest.raises(QuestionFileError, match="lang must be one of"):
        load_questions(bad)
    dup = tmp_path / "dup.jsonl"
    dup.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [QUESTIONS[0], QUESTIONS[0]]))
    with pytest.raises(QuestionFileError, match="duplicate id"):
        load_questions(dup)


@pytest.mark.parametrize(
    "line,message",
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not an object"),
        ('{"id": "", "question": " ", "lang": "en", "answerable": "yes", "facts": [[]], "doc": 3}',
         "id must be a non-empty string; question must be a non-empty string; answerable must be true or false; "
         "facts must be a list of non-empty lists of strings; doc must be a string or null"),
        ('{"id": "a", "question": "q?", "lang": "en", "answerable": true, "facts": [["x"]]}',
         "an answerable question needs its doc"),
        ('{"id": "a", "question": "q?", "lang": "en", "answerable": false, "facts": [["x", " "]], "doc": null}',
         "facts must be a list of non-empty lists of strings"),
    ],
)  # fmt: skip
def test_question_file_problems_name_the_file_and_line(tmp_path, line, message):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps(QUESTIONS[0]) + "\n\n" + line + "\n", encoding="utf-8")
    with pytest.raises(QuestionFileError) as err:
        load_questions(path)
    assert str(err.value).startswith(f"{path}:3: {message}")


def test_question_file_keeps_other_keys(tmp_path):
    path = tmp_path / "q.jsonl"
    exported = {**QUESTIONS[2], "answer": "It is 15%.", "comment": "invented"}  # as `rag feedback export` writes
    path.write_text(json.dumps(exported, ensure_ascii=False) + "\n", encoding="utf-8")
    assert load_questions(path) == [exported]


# --- reports -------------------------------------------------------------------------------


def test_reports_are_self_contained_and_escaped(tmp_path):
    answers = {**GOOD, "q1": {"answer": "<script>alert(1)</script> IGBT [1].", "cited": ["semis"]}}
    run = make_run(tmp_path / "r", answers)
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count('src="data:image/png;base64,') >= 3  # metrics, by language, latency
    assert not re.search(r"""(src|href)=["']https?://""", page)  # nothing loaded from outside
    assert "<script" not in page
    text = html.unescape(page)
    for q in QUESTIONS:
        assert f"<td>{q['id']}</td><td>{q['lang']}</td><td>{q['question']}</td>" in text
    assert "[1] semis (semis#0)" in text and "answer in question's language" in text
    assert page.count('<tr class="failing">') == sum(
        1 for line in (run / "results.jsonl").open() if not json.loads(line)["scores"]["pass"]
    )
    md = (run / "report.md").read_text(encoding="utf-8")
    assert "| Fact recall |" in md and "| q4 | zh |" in md


# --- compare -------------------------------------------------------------------------------


def test_compare_reports_deltas_changed_questions_and_fails_on_drop(tmp_path):
    a = make_run(tmp_path / "a", GOOD)
    b = make_run(tmp_path / "b", WORSE, settings={"top_k": 2, "retrieval_mode": "hybrid"})
    status, text, out = run_compare(a, b)
    assert status == 1
    result = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert (out / "compare.md").read_text(encoding="utf-8") == text
    rows = {r["metric"]: r for r in result["metrics"]}
    assert rows["fact_recall"]["a"] == 1.0
    assert rows["fact_recall"]["b"] == pytest.approx((0.5 + 0 + 1) / 3)
    assert rows["refusal_accuracy"]["delta"] == -1.0
    assert rows["false_refusals"]["delta"] == pytest.approx(1 / 3) and rows["false_refusals"]["better_by"] < 0
    assert {r["metric"] for r in result["regressions"]} >= {"fact_recall", "refusal_accuracy", "false_refusals"}
    assert result["settings_changed"]["settings.top_k"] == [4, 2]
    changed = [q["id"] for q in result["changed_questions"]]
    assert changed == ["q2", "q1", "q3"]  # q2 lost three checks, q1 and q3 one each (q1 lost facts)
    assert "q4" not in changed
    assert set(result["changed_questions"][0]["lost"]) == {"retrieval", "facts", "refusal"}
    assert "REGRESSION: fact_recall" in text and "**q2**" in text


def test_compare_passes_when_nothing_got_worse_and_thresholds_apply(tmp_path):
    a = make_run(tmp_path / "a", WORSE)
    b = make_run(tmp_path / "b", GOOD)
    status, text, _ = run_compare(a, b)
    assert status == 0
    assert "No guarded metric got worse" in text
    # the reverse direction fails on fact recall, but not with a threshold wider than the drop
    assert run_compare(b, a, out=tmp_path / "c1", fail_on=["fact_recall"])[0] == 1
    assert run_compare(b, a, out=tmp_path / "c2", fail_on=["fact_recall:0.5"])[0] == 0
    # latency is lower-is-better: B -> A is slower at p95
    assert run_compare(b, a, out=tmp_path / "c3", fail_on=["latency_total_p95_ms:100"])[0] == 1


def test_compare_cli_exit_status(tmp_path, capsys):
    a = make_run(tmp_path / "a", GOOD)
    b = make_run(tmp_path / "b", WORSE)
    # one real `python -m eval` process proves the entry point and its exit status...
    cmd = [sys.executable, "-m", "eval", "compare", str(a), str(b), "--out", str(tmp_path / "cmp")]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}  # RAG_* already removed
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 1, r.stderr
    assert "fact_recall" in r.stdout and (tmp_path / "cmp" / "compare.json").exists()
    # ...the other cases go through the same main() in-process
    assert eval_cli(["compare", str(b), str(b), "--out", str(tmp_path / "same")]) == 0
    assert "None." in capsys.readouterr().out  # no question changed
    assert eval_cli(["compare", str(a), str(tmp_path / "nope")]) == 2
    assert "not a run folder" in capsys.readouterr().err


# --- end to end ----------------------------------------------------------------------------


@pytest.fixture()
def tiny_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "semis.txt").write_text(
        "Semiconductor plan of the demonstration zone\n"
        "The demonstration zone promotes compound semiconductor projects. "
        "It also welcomes power semiconductor makers, such as IGBT module producers.\n",
        encoding="utf-8",
    )
    (corpus / "people.txt").write_text(
        "Visit to the Jingyue medical center\n"
        "Bai Song is the director of the Investment Promotion Bureau of Jingyue. "
        "The visit took place on the morning of May 18th.\n",
        encoding="utf-8",
    )
    questions = tmp_path / "questions.jsonl"
    qs = [
        {"id": "t1", "question": "Does the zone want IGBT makers?", "lang": "en", "answerable": True,
         "facts": [["IGBT"]], "doc": "semis"},
        {"id": "t2", "question": "Who is the director of the Investment Promotion Bureau of Jingyue?", "lang": "en",
         "answerable": True, "facts": [["Bai Song"]], "doc": "people"},
        {"id": "t3", "question": "Who won the 2022 FIFA World Cup?", "lang": "en", "answerable": False,
         "facts": [], "doc": None},
        {"id": "t4", "question": "never asked: beyond --limit", "lang": "en", "answerable": False,
         "facts": [], "doc": None},
    ]  # fmt: skip
    questions.write_text("\n".join(json.dumps(q) for q in qs) + "\n", encoding="utf-8")
    return corpus, questions


def test_run_end_to_end_on_a_tiny_corpus(tmp_path, tiny_corpus, capsys):
    """``python -m eval run``'s main() in-process (the compare test runs the entry point)."""
    corpus, questions = tiny_corpus
    out = tmp_path / "run"
    argv = [
        "run", "--backend", "extractive", "--limit", "3", "--out", str(out),
        "--questions", str(questions), "--corpus", str(corpus), "--index", str(tmp_path / "index"), "--no-progress",
    ]  # fmt: skip
    status = eval_cli(argv)
    stdout, stderr = capsys.readouterr()
    assert status == 0, stderr[-3000:]
    for name in ("results.jsonl", "metrics.json", "report.md", "report.html"):
        assert (out / name).stat().st_size > 0, name
    doc = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    for key in ("settings", "model", "backend", "git", "metrics", "n_questions", "answer_seconds", "embedder"):
        assert key in doc, key
    assert doc["n_questions"] == 3 and doc["backend"] == "extractive" and doc["errors"] == 0
    assert doc["settings"]["corpus_dir"] == str(corpus) and "openai_api_key" not in doc["settings"]
    m = doc["metrics"]
    for key in (
        "hit@1",
        "recall@5",
        "mrr",
        "ndcg@10",
        "fact_recall",
        "citation_precision",
        "groundedness",
        "refusal_accuracy",
        "false_refusals",
        "language_match",
        "latency_total_p50_ms",
        "latency_total_p95_ms",
    ):
        assert key in m, key  # fmt: skip
    records = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == ["t1", "t2", "t3"]
    t1, t2 = records[0], records[1]
    assert t1["retrieved"] and t1["retrieved"][0]["doc_id"] == "semis"
    assert "IGBT" in t1["answer"] and t1["scores"]["fact_recall"] == 1.0
    assert t2["scores"]["fact_recall"] == 1.0 and t2["citations"][0]["doc_id"] == "people"
    assert m["hit@1"] == 1.0 and m["fact_recall"] == 1.0
    assert all(r["timings_ms"]["total"] > 0 for r in records)
    assert "hit@1" in stdout and "fact recall" in stdout


def test_tune_measures_document_mrr_with_ranx():
    """``python -m eval tune`` over the real corpus: two questions whose document ranks first,
    one whose gold document does not exist (reciprocal rank 0), one unanswerable (not scored)."""
    from eval.tune import measure

    qs = {q["id"]: q for q in load_questions(ROOT / "eval" / "questions.jsonl")}
    missing = {**qs["cr-01"], "id": "no-doc", "doc": "no-such-document"}
    m = measure([qs["cr-01"], qs["jb-01"], missing, qs["un-07"]], tokens=96, overlap=24, top_k=4)
    assert m["doc_mrr"] == pytest.approx(2 / 3)
    assert m["chunks"] > 0 and [r["id"] for r in m["evidence"]] == ["cr-01", "jb-01", "no-doc", "un-07"]


def test_cmrc_on_a_tiny_benchmark(tmp_path):
    from eval.cmrc import run_cmrc

    data = [
        {"context_id": "P1", "title": "a", "context_text": "长春净月高新区位于吉林省长春市东南部，以生物医药产业为主。",
         "qas": [{"query_id": "P1_Q0", "query_text": "净月高新区以什么产业为主？",
                  "answers": ["生物医药产业", "生物医药"]}]},
        {"context_id": "P2", "title": "b", "context_text": "中韩国际合作示范区鼓励发展功率半导体和芯片产业。",
         "qas": [{"query_id": "P2_Q0", "query_text": "示范区鼓励发展什么半导体？", "answers": ["功率半导体"]}]},
        {"context_id": "P3", "title": "c", "context_text": "冰雪旅游是长春的特色旅游资源之一。",
         "qas": [{"query_id": "P3_Q0", "query_text": "长春有什么特色旅游资源？", "answers": ["冰雪旅游"]}]},
    ]  # fmt: skip
    (tmp_path / "cmrc2018_dev.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = run_cmrc(tmp_path, split="dev", out=tmp_path / "out", progress=False)
    assert result["passages"] == 3 and result["questions"] == 3
    assert set(result["retrieval"]) == {"dense", "bm25", "hybrid"}
    assert result["retrieval"]["bm25"]["recall@1"] == 1.0  # each question shares bigrams only with its passage
    for mode in ("dense", "bm25", "hybrid"):
        v = result["retrieval"][mode]
        assert v["recall@1"] <= v["recall@5"] <= v["recall@10"] == 1.0  # 3 passages: all within 10
    qa = result["qa"]["extractive"]
    assert qa["questions"] == 3 and 0 <= qa["em"] <= qa["f1"] <= 100
    saved = json.loads((tmp_path / "out" / "cmrc-dev.json").read_text(encoding="utf-8"))
    assert saved["retrieval"] == result["retrieval"]
    # the answers file holds ids and scores, never the benchmark's texts
    answers = (tmp_path / "out" / "cmrc-dev-extractive-answers.jsonl").read_text(encoding="utf-8")
    assert "P1_Q0" in answers and "生物医药" not in answers


@pytest.mark.models  # loads an embedder besides the default
def test_eval_embedders_measures_each_language_and_path(tmp_path):
    """`python -m eval embedders` on three questions of the real corpus, with the rewrite given
    (no LLM): per-language retrieval figures and thresholds for both query paths."""
    from eval.embedders import run as run_embedders

    qs = [q for q in load_questions(ROOT / "eval" / "questions.jsonl") if q["id"] in ("cr-09", "zh-01", "un-01")]
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in qs), encoding="utf-8")
    rewrites = tmp_path / "rewrites.json"
    rewrites.write_text(json.dumps({"zh-01": "Which semiconductor industries does the China-ROK zone encourage?"}))
    results = run_embedders(questions, ["minilm"], rewrites, None, "dev", tmp_path / "out.json")
    paths = results[0]["paths"]
    assert set(paths) == {"asked", "pipeline"}
    assert paths["pipeline"]["by_lang"]["zh"]["hit@1"] == 1.0  # the rewrite finds the China-ROK document
    assert paths["pipeline"]["by_lang"]["en"]["passage_fact_recall"] == 1.0
    assert paths["pipeline"]["thresholds"]["false_refusals"] == 0
    assert json.loads((tmp_path / "out.json").read_text())[0]["embedder"] == "minilm"
