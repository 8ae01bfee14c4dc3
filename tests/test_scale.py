"""The path past one machine, run for real on loopback: two app processes sharing one corpus and
index folder, generation on one ``python -m llama_cpp.server`` through the ``openai`` backend,
feedback in one PostgreSQL server (a throw-away one, started by tests/test_feedback.py's fixture).

  * a staff re-index in one process is used by the other at its next request (it follows
    ``embeddings/current``);
  * a small load spread over both processes, every answer rated: every rating is a row in
    PostgreSQL, and the re-index made in one process mid-way shows in the other's answers. With
    the extractive backend (no model: ``server``) and with the default model behind one
    ``llama_cpp.server`` shared by both processes (``server`` and ``llm``).

``llama_cpp.server`` interrupts a running answer when another request arrives unless it runs
with ``--interrupt_requests False``: two app processes on one server would cut each other's
answers short, so the server here (and in production) runs with it off.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import STAFF_PASSWORD, make_corpus, start_app

pytestmark = pytest.mark.server

SEMICONDUCTOR_Q = "Which semiconductor fields does the China-ROK zone want to cooperate in?"
QUESTIONS = [
    SEMICONDUCTOR_Q,
    "What does the Norman Bethune Center for Medical Sciences focus on?",
    "How do I bake sourdough bread at home?",
    "What kind of tourism cooperation does the China-ROK zone support?",
]
NEW_DOC = "pier-logistics-notes.txt"
NEW_TEXT = (
    "Pier Logistics Zone notes\n\nThe Pier Logistics Zone leases cold-storage warehouses to exporters of "
    "frozen food and runs a customs service desk open every day.\n"
)
NEW_Q = "Which warehouses does the Pier Logistics Zone lease to exporters of frozen food?"


def two_apps(tmp, name: str, **settings) -> tuple:
    """Two app processes over one corpus and index folder; the first has the staff tab."""
    corpus = make_corpus(tmp / "corpus")
    common = dict(corpus_dir=corpus, index_dir=tmp / "index", **settings)
    first = start_app(f"{name}-a", tmp, staff_password=STAFF_PASSWORD, **common)  # builds the index
    try:
        second = start_app(f"{name}-b", tmp, **common)
    except BaseException:
        first.stop()
        raise
    return first, second


def staff_add_document(app, corpus) -> str:
    """A new document into the shared corpus, indexed by staff in ``app``; the re-index message."""
    client = app.client()
    client.predict(STAFF_PASSWORD, api_name="/admin_list")
    (corpus / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")
    _table, _choices, message, _footer = client.predict(STAFF_PASSWORD, api_name="/admin_reindex")
    return message


def retrieved_docs(record: dict) -> set[str]:
    return {r["doc_id"] for r in record.get("retrieved") or []}


def test_a_reindex_in_one_process_is_used_by_the_other(tmp_path):
    first, second = two_apps(tmp_path, "follow", backend="extractive")
    try:
        reader = second.client()
        _chat, _box, before = reader.submit(NEW_Q, api_name="/ask").result(timeout=300)
        assert NEW_DOC.removesuffix(".txt") not in retrieved_docs(before)
        assert "1 added" in staff_add_document(first, first.corpus_dir)
        _chat, _box, after = reader.submit(NEW_Q, api_name="/ask").result(timeout=300)
        assert NEW_DOC.removesuffix(".txt") in retrieved_docs(after), after["retrieved"]
        assert reader.predict(api_name="/status")["documents"] == 4
    finally:
        first.stop()
        second.stop()
    assert "from another process loaded" in second.log_text()


def rate_conversation(app, session: int, questions: list[str]) -> list[dict]:
    """One investor on ``app``: asks each question, rates each answer; what was stored."""
    client = app.client()
    rated = []
    for turn, question in enumerate(questions, start=1):
        _chat, _box, record = client.submit(question, api_name="/ask").result(timeout=1800)
        assert record["question"] == question and not record.get("busy") and not record.get("error"), record
        rating = "down" if (session + turn) % 2 else "up"
        comment = f"session {session} turn {turn} {uuid.uuid4().hex[:6]}"
        note = client.predict(rating, comment, turn, api_name="/feedback")
        assert "feedback #" in str(note), note
        rated.append({"question": question, "rating": rating, "comment": comment})
    return rated


@pytest.mark.parametrize("backend", ["extractive", pytest.param("openai", marks=pytest.mark.llm)])
def test_two_processes_one_model_server_one_postgresql_lose_no_feedback(backend, request, tmp_path, postgres_url):  # noqa: F811
    settings = {"backend": backend, "feedback_url": postgres_url}
    sessions, per_session = (6, 2) if backend == "extractive" else (4, 2)
    if backend == "openai":
        settings |= {
            "openai_base_url": request.getfixturevalue("llama_server"),
            "openai_model": "local",
            "openai_timeout": "1800",
            "serve_max_wait_s": "3600",
        }
    import psycopg

    with psycopg.connect(postgres_url) as db:
        db.execute("DROP TABLE IF EXISTS feedback")
    first, second = two_apps(tmp_path, f"scale-{backend}", **settings)
    apps = [first, second]
    reindexed: dict = {}
    try:
        t0 = time.monotonic()
        with ThreadPoolExecutor(sessions) as pool:
            jobs = [
                pool.submit(
                    rate_conversation, apps[i % 2], i, [QUESTIONS[(i + k) % len(QUESTIONS)] for k in range(per_session)]
                )
                for i in range(sessions)
            ]

            def add_document():
                reindexed["message"] = staff_add_document(first, first.corpus_dir)

            reindex = threading.Thread(target=add_document)
            reindex.start()  # while the answers are being given
            rated = [r for job in jobs for r in job.result()]
            reindex.join(600)
        elapsed = time.monotonic() - t0
        _chat, _box, record = second.client().submit(NEW_Q, api_name="/ask").result(timeout=1800)
    finally:
        first.stop()
        second.stop()
    print(f"{backend}: {len(rated)} answers rated over two processes in {elapsed:.1f} s")
    assert "1 added" in reindexed.get("message", ""), reindexed
    assert NEW_DOC.removesuffix(".txt") in retrieved_docs(record)  # the re-index made in the first process

    with psycopg.connect(postgres_url) as db:
        rows = db.execute("SELECT id, rating, question, comment, backend FROM feedback ORDER BY id").fetchall()
    assert len(rows) == len(rated) == sessions * per_session
    assert len({r[0] for r in rows}) == len(rows)
    assert sorted((r[1], r[2], r[3]) for r in rows) == sorted((x["rating"], x["question"], x["comment"]) for x in rated)
    if backend == "openai":
        assert any(r[4] == "openai" for r in rows)  # answers came from the shared model server
