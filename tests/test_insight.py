"""What staff see of the assistant's use (issue 20): the question log (written in the background,
never identifying anyone, deleted after its retention), the gap report, curated answers (checked on
saving, matched by meaning, suspended when their document changes), the retrieval test, the CLI;
on SQLite and on a real PostgreSQL server. The browser walk is in tests/test_browser.py."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time

import pytest

from rag.answer.curated import CurationError, renumbered
from rag.answer.pipeline import Assistant
from rag.answer.probe import probe
from rag.cli import main as rag_cli
from rag.config import Settings
from rag.ingest.build import build_index
from rag.search.gaps import eval_questions, gap_report, write_csv
from rag.search.retrieval import open_retriever
from rag.store import LogWriter, Store, open_store
from rag.store.questions import DAY_S, QuestionLog, utc_now
from rag.store.usage import usage

from .conftest import ROOT, STAFF_PASSWORD, free_port

BETHUNE_Q = "What does the Norman Bethune Center for Medical Sciences work on?"
BETHUNE_PARAPHRASE = "What research areas does the Norman Bethune Center for Medical Sciences focus on?"


def _store(backend: str, request, tmp_path) -> Store:
    if backend == "postgresql":
        store = Store.postgres(request.getfixturevalue("postgres_url"))
        store.db.run("DELETE FROM questions", write=True)  # the server is shared by the session
        store.db.run("DELETE FROM curated", write=True)
        return store
    return Store.sqlite(tmp_path / "fb.sqlite3")


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.server)]


def _entry(question: str, outcome: str = "abstained", **more) -> dict:
    return {
        "entry": f"e-{abs(hash(question + str(more)))}",
        "question": question,
        "language": "en",
        "outcome": outcome,
    } | more


# --- the question log -------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_log_is_written_in_the_background_rated_later_and_old_entries_deleted(backend, request, tmp_path):
    store = _store(backend, request, tmp_path)
    log = store.questions
    # three entries of the past: 400, 40 and 10 days old
    for days in (400, 40, 10):
        log.add(_entry(f"asked {days} days ago", created_at=utc_now(-days * DAY_S)))
    writer = LogWriter(log, retention_days=30)  # deletes what is older than 30 days when it starts
    writer.record(_entry("What is the tax rate?", language="en", latency_ms=812.5, backend="extractive"))
    writer.record(_entry("税率是多少？", language="zh", outcome="answered", citations=[{"chunk_id": "d#1"}]))
    writer.rate(
        _entry("税率是多少？", language="zh", outcome="answered", citations=[{"chunk_id": "d#1"}])["entry"], "down"
    )
    assert writer.flush(10)
    entries = log.entries()
    assert [e["question"] for e in entries] == ["税率是多少？", "What is the tax rate?", "asked 10 days ago"]
    assert entries[0]["rating"] == "down" and entries[0]["citations"] == [{"chunk_id": "d#1"}]
    assert entries[1]["latency_ms"] == 812.5 and entries[1]["backend"] == "extractive"
    assert writer.written == 2 and writer.lost == 0
    assert [e["question"] for e in log.gaps()] == ["税率是多少？", "What is the tax rate?", "asked 10 days ago"]
    assert log.purge(5) == 1 and log.count() == 2  # the 10-day-old entry
    assert log.delete(entries[0]["id"]) and not log.delete(entries[0]["id"])
    writer.close()


def test_writing_the_log_never_waits_for_or_fails_on_a_store_that_is_down(caplog):
    store = Store.postgres(f"postgresql://rag@127.0.0.1:{free_port()}/postgres", connect_timeout=1)
    writer = LogWriter(store.questions, retention_days=30)
    t0 = time.perf_counter()
    for i in range(20):
        writer.record(_entry(f"question {i}"))
    queued_s = time.perf_counter() - t0
    assert writer.flush(60)
    assert writer.lost == 20 and writer.written == 0
    assert "question log: add lost" in caplog.text
    print(f"20 entries queued in {queued_s * 1000:.2f} ms with the store down")
    writer.close()


def test_a_full_queue_loses_the_entry_and_counts_it(tmp_path):
    writer = LogWriter(QuestionLog(Store.sqlite(tmp_path / "fb.sqlite3").db), retention_days=30, max_queue=1)
    writer._stopping.set()
    writer._thread.join(5)  # nobody drains the queue now
    assert not writer._thread.is_alive()
    writer.record(_entry("one"))
    writer.record(_entry("two"))
    assert writer.lost == 1


def test_usage_counts_days_outcomes_languages_latency_and_thumbs():
    entries = [
        {
            "created_at": "2026-12-01T10:00:00Z",
            "outcome": "answered",
            "language": "en",
            "latency_ms": 1000,
            "rating": "up",
        },
        {
            "created_at": "2026-12-01T11:00:00Z",
            "outcome": "abstained",
            "language": "zh",
            "latency_ms": 3000,
            "rating": "",
        },
        {
            "created_at": "2026-12-02T09:00:00Z",
            "outcome": "answered",
            "language": "ko",
            "latency_ms": 2000,
            "rating": "down",
        },
        {"created_at": "2026-12-02T09:30:00Z", "outcome": "curated", "language": "en", "latency_ms": 20, "rating": ""},
    ]
    u = usage(entries)
    assert u["questions"] == 4 and u["shares"] == {"answered": 0.5, "abstained": 0.25, "curated": 0.25}
    assert {"day": "2026-12-01", "outcome": "abstained", "questions": 1} in u["per_day"]
    assert u["languages"] == {"en": 2, "zh": 1, "ko": 1} and u["thumbs"] == {"up": 1, "down": 1}
    assert u["latency_p50_s"] == 1.5 and {"day": "2026-12-01", "percentile": "p95", "seconds": 2.9} in u["latency"]


# --- the gap report ---------------------------------------------------------------------------------

GAP_QUESTIONS = [
    ("What is the corporate income tax rate in the China-ROK zone?", "en"),
    ("中韩示范区的企业所得税税率是多少？", "zh"),
    ("시범구 기업의 법인세율은 얼마인가요?", "ko"),
    ("What is the corporate tax rate for companies in the China-ROK zone?", "en"),
    ("How do I bake sourdough bread at home?", "en"),
]


def test_gap_report_groups_one_topic_across_languages_and_exports(corpus_index, tmp_path):
    entries = [
        _entry(q, language=lang, id=i, created_at=utc_now(), rating="") for i, (q, lang) in enumerate(GAP_QUESTIONS)
    ]
    gaps = gap_report(entries, open_retriever(corpus_index), corpus_index)
    assert gaps[0].size == 4 and gaps[0].languages == {"en": 2, "zh": 1, "ko": 1}  # one topic, three languages
    assert [e["question"] for e in gaps[1].examples] == ["How do I bake sourdough bread at home?"]
    top = gaps[0].passages[0]
    assert top.dense_score is not None and top.bm25_score is not None and len(gaps[0].passages) == 3
    csv_text = write_csv(gaps, tmp_path / "gaps.csv").read_text(encoding="utf-8-sig")
    assert csv_text.splitlines()[0].startswith("group,size,languages,question") and "中韩示范区" in csv_text
    from eval.run import load_questions

    out = tmp_path / "gaps.jsonl"
    out.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in eval_questions(gaps)), encoding="utf-8")
    loaded = load_questions(out)  # the evaluation reads it as it reads eval/questions.jsonl
    assert len(loaded) == 5 and {q["lang"] for q in loaded} == {"en", "zh", "ko"}


# --- curated answers ----------------------------------------------------------------------------------


@pytest.mark.models  # the embedders over the whole question set, one question at a time (25-45 s)
def test_curated_matching_on_the_question_set(corpus_index):
    """The configured thresholds on eval/paraphrases.jsonl: no false match on the question set's other
    questions (the unanswerable ones included) or the near misses; the hit rate measured (eval/README.md)."""
    from eval.curated import matching

    s = corpus_index
    row = matching(s, open_retriever(s), [(s.curated_min_similarity_en, s.curated_min_similarity)])["rows"][0]
    print(json.dumps(row, ensure_ascii=False))
    assert row["false_matches"] == 0, row["false_ids"]
    assert row["hit_rate"] >= 0.4  # 0.416 when measured: English 13/19, Chinese 10/28, Korean 9/30


@pytest.fixture
def own_corpus(tmp_path, embedder):
    """A copy of the real corpus with its own index and store (documents here may be edited)."""
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    settings = Settings(
        corpus_dir=corpus, index_dir=tmp_path / "index", feedback_db=tmp_path / "fb.sqlite3", backend="extractive"
    )
    build_index(settings, embedder)
    return settings


@pytest.mark.parametrize("backend", BACKENDS)
def test_curated_answer_is_checked_served_by_meaning_and_suspended_when_its_document_changes(
    backend, own_corpus, embedder, request, tmp_path
):
    s = own_corpus
    if backend == "postgresql":
        _store(backend, request, tmp_path)  # emptied
        s = s.model_copy(update={"feedback_url": request.getfixturevalue("postgres_url")})
    assistant = Assistant(s)
    first = assistant.ask(BETHUNE_Q)
    assert not first.abstained and first.citations
    index = assistant.retriever.index
    text, cited = renumbered(first.answer, [c.to_json() for c in first.citations])
    assert [c.chunk_id for c in first.citations] == cited and "[1]" in text
    with pytest.raises(CurationError, match="does not pass the answer check"):
        assistant.curator.save(BETHUNE_Q, {"en": "It offers a rent subsidy of 45 percent [1]."}, cited, index)
    with pytest.raises(CurationError, match="Not in the index"):
        assistant.curator.save(BETHUNE_Q, {"en": text}, ["no-such#1"], index)
    curated_id, notes = assistant.curator.save(BETHUNE_Q, {"en": text}, cited, index)
    assert sum("not given and no language model to translate it" in n for n in notes) == 2  # Chinese, Korean

    t0 = time.perf_counter()
    answer = assistant.ask(BETHUNE_PARAPHRASE)
    print(f"curated answer to a paraphrase in {(time.perf_counter() - t0) * 1000:.1f} ms")
    assert answer.curated and answer.curated_id == curated_id and answer.outcome == "curated"
    saved = open_store(s).curated.get(curated_id)
    assert answer.answer == saved["answers"]["en"] and [c.chunk_id for c in answer.citations] == cited
    assert [c.n for c in answer.citations] == list(range(1, len(cited) + 1))
    assert assistant.plan(BETHUNE_PARAPHRASE).reason == "curated"
    assert not assistant.ask("What is the phone number of the Norman Bethune Center for Medical Sciences?").curated
    assert not assistant.ask("노먼 베순 의학과학센터는 무슨 연구를 하나요?").curated  # no Korean text: the usual path

    # the cited document changes: the curated answer is suspended, never served stale
    doc = s.corpus_dir / "jingyue-bethune-center-visit.txt"
    doc.write_text(doc.read_text(encoding="utf-8") + "\nThe center opened a new laboratory.\n", encoding="utf-8")
    build_index(s, embedder)
    assistant.reload_index()
    assert not assistant.ask(BETHUNE_PARAPHRASE).curated
    entry = open_store(s).curated.get(curated_id)
    assert entry["status"] == "suspended" and entry["reason"] == "jingyue-bethune-center-visit.txt changed"


def test_retrieval_test_shows_readings_scores_gate_intent_and_path(corpus_index):
    assistant = Assistant(corpus_index)
    p = probe(assistant, "中韩示范区的企业所得税税率是多少？")
    assert [r["label"] for r in p["readings"]] == ["as asked", "the glossary's English names"]
    assert "China-ROK" in p["readings"][1]["query"]
    passage = p["readings"][0]["passages"][0]
    assert {"dense", "bm25", "score", "chunk_id"} <= set(passage)
    assert p["passes_gate"] is False and p["path"] == "extractive" and p["intent"]["wants"] == "figure"
    gate = {"min_similarity": assistant.settings.min_similarity, "min_coverage": assistant.settings.min_coverage}
    assert p["gate"] == gate
    english = probe(assistant, BETHUNE_Q)
    assert english["passes_gate"] and len(english["readings"]) == 1 and english["readings"][0].get("chosen")


# --- the command line ---------------------------------------------------------------------------------


def test_cli_ask_log_then_log_list_and_gaps(corpus_index, tmp_path, monkeypatch, capsys):
    db = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("RAG_FEEDBACK_DB", str(db))
    index = ["--corpus", str(corpus_index.corpus_dir), "--index", str(corpus_index.index_dir)]
    for q in ("How do I bake sourdough bread at home?", "中韩示范区的企业所得税税率是多少？"):
        assert rag_cli(["ask", q, "--backend", "extractive", "--log", *index]) == 0
    capsys.readouterr()
    assert rag_cli(["log", "list", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert [(e["language"], e["outcome"]) for e in entries] == [("zh", "abstained"), ("en", "abstained")]
    assert rag_cli(["log", "gaps", "--json", *index]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["questions"] == 2 and sum(g["size"] for g in report["groups"]) == 2
    assert report["groups"][0]["passages"][0]["dense"] is not None


# --- the web app: nothing about who asked ------------------------------------------------------------


def test_the_log_holds_no_client_address_or_session(staff_app):
    from gradio_client import Client

    address = "203.0.113.77"
    client = Client(staff_app.url, verbose=False, headers={"X-Forwarded-For": address})
    question = "What kind of tourism cooperation does the China-ROK zone support, asked from far away?"
    client.submit(question, api_name="/ask").result(timeout=300)
    client.predict("down", "", 0, api_name="/feedback")
    rows, _ = client.predict(STAFF_PASSWORD, 30, api_name="/admin_log")  # flushes the writer first
    logged = [r for r in rows["data"] if r[7] == question]
    assert len(logged) == 1 and logged[0][4] == "down"  # the rating reached the log entry
    with sqlite3.connect(staff_app.feedback_db) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        dump = json.dumps([db.execute(f"SELECT * FROM {t}").fetchall() for t in tables], ensure_ascii=False)
        columns = [c[1] for c in db.execute("PRAGMA table_info(questions)")]
    assert question in dump
    assert address not in dump and client.session_hash not in dump
    assert not {"client", "address", "ip", "session", "session_id"} & set(columns)
    with pytest.raises(Exception, match="Wrong staff password"):
        client.predict("not the password", 30, api_name="/admin_log")
