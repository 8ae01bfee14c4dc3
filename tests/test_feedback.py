"""The store (rag.store) survives: a corrupt SQLite file moved aside, a read-only folder
reported (the app still starts), and PostgreSQL (a real server started here) with two
processes writing at once."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from rag.config import Settings
from rag.store import FeedbackUnavailable, Store, export_questions, open_store

from .conftest import ROOT, free_port, make_corpus, start_app

# Root ignores file permissions; without these two capabilities it obeys them like anyone.
NO_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search"]


def as_ordinary_user(cmd: list[str]) -> list[str]:
    """``cmd`` run so that read-only folders are read-only, also when the tests run as root."""
    if os.geteuid() != 0:
        return cmd
    if not shutil.which("setpriv"):
        pytest.skip("running as root and setpriv (util-linux) is missing: cannot make a folder read-only")
    return NO_OVERRIDE + cmd


def python(code: str, *args: str, ordinary: bool = False, timeout: float = 300) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", code, *args]
    return subprocess.run(
        as_ordinary_user(cmd) if ordinary else cmd,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# --- SQLite: a damaged or read-only database -------------------------------------------------


def test_corrupt_database_is_moved_aside_and_a_fresh_one_used(tmp_path, caplog):
    db = tmp_path / "feedback.sqlite3"
    db.write_bytes(b"SQLite format 3\x00" + b"\xde\xad" * 5000)  # a header, then garbage
    store = Store.sqlite(db).feedback
    assert store.db.available
    kept = [p.name for p in tmp_path.glob("feedback.sqlite3.corrupt-*")]
    assert len(kept) == 1  # kept for inspection
    assert (tmp_path / kept[0]).read_bytes().startswith(b"SQLite format 3\x00\xde\xad")
    assert "is damaged" in caplog.text and kept[0] in caplog.text
    fid = store.add(rating="down", question="What is the rent?", answer="x")
    assert store.get(fid)["question"] == "What is the rent?" and store.counts() == {"up": 0, "down": 1}


def test_half_written_database_is_moved_aside_too(tmp_path):
    good = Store.sqlite(tmp_path / "good.sqlite3").feedback
    for i in range(300):
        good.add(rating="up", question=f"question {i} " * 20, answer="answer " * 50)
    data = (tmp_path / "good.sqlite3").read_bytes()
    (tmp_path / "cut.sqlite3").write_bytes(data[: len(data) // 2])  # e.g. a disk that filled up during a copy
    store = Store.sqlite(tmp_path / "cut.sqlite3").feedback
    assert store.db.available and store.all() == []
    assert len(list(tmp_path.glob("cut.sqlite3.corrupt-*"))) == 1


def test_read_only_folder_makes_the_store_unavailable_not_the_app(tmp_path):
    """The web app's services are built over a feedback file in a read-only folder:
    it starts, the store says why it is unavailable, a rating gets that message."""
    folder = tmp_path / "ro"
    folder.mkdir()
    existing = tmp_path / "ro-existing"
    existing.mkdir()
    Store.sqlite(existing / "fb.sqlite3").feedback.add(rating="up", question="kept", answer="a")
    folder.chmod(0o555)
    existing.chmod(0o555)
    code = (
        "import json, sys\n"
        "from rag.config import Settings\n"
        "from rag.store import FeedbackUnavailable\n"
        "from rag.web.app import Services\n"
        "out = {}\n"
        "for db in sys.argv[1:]:\n"
        "    service = Services.create(Settings(feedback_db=db, backend='extractive')).ratings\n"
        "    try:\n"
        "        service.store.add(rating='up', question='q', answer='a')\n"
        "        message = None\n"
        "    except FeedbackUnavailable as e:\n"
        "        message = str(e)\n"
        "    db_ = service.store.db\n"
        "    out[db] = {'available': db_.available, 'problem': db_.problem, 'message': message,\n"
        "               'questions': [r['question'] for r in service.store.all()] if 'existing' in db else None}\n"
        "print(json.dumps(out))\n"
    )
    new_db, old_db = str(folder / "fb.sqlite3"), str(existing / "fb.sqlite3")
    try:
        proc = python(code, new_db, old_db, ordinary=True)
    finally:
        folder.chmod(0o755)
        existing.chmod(0o755)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for db in (new_db, old_db):
        assert out[db]["available"] is False and db in out[db]["problem"] and "cannot be written" in out[db]["problem"]
        assert out[db]["message"].startswith("Feedback is unavailable right now (")
    assert out[old_db]["questions"] == ["kept"]  # what was stored can still be read and exported
    assert "feedback store unavailable" in proc.stderr and "Traceback" not in proc.stderr
    assert not (folder / "fb.sqlite3").exists()


@pytest.mark.server  # starts the web app
def test_app_starts_and_takes_feedback_over_a_corrupt_database(tmp_path):
    """The real app (python app.py) over a feedback file that is not a database, configured
    with a too-short staff password: it starts, answers, stores feedback in a fresh file, and
    has no staff tab or endpoints (the log says why)."""
    db = tmp_path / "feedback.sqlite3"
    db.write_bytes(b"not a database " * 1000)
    corpus = make_corpus(tmp_path / "corpus")
    app = start_app(
        "corrupt-feedback",
        tmp_path,
        corpus_dir=corpus,
        index_dir=tmp_path / "index",
        backend="extractive",
        feedback_db=str(db),
        staff_password="short",
    )
    try:
        client = app.client()
        client.submit(
            "Which semiconductor fields does the China-ROK zone want to cooperate in?", api_name="/ask"
        ).result(timeout=300)
        note = client.predict("down", "wrong figure", 0, api_name="/feedback")
        assert "feedback #1" in str(note)
        with pytest.raises(Exception, match="admin_list"):
            client.predict("short", api_name="/admin_list")
    finally:
        app.stop()
    log = app.log_text()
    assert "is damaged" in log
    assert "RAG_STAFF_PASSWORD is shorter than 8 characters: the staff tab is disabled" in log
    assert [r["comment"] for r in Store.sqlite(db).feedback.all()] == ["wrong figure"]
    assert len(list(tmp_path.glob("feedback.sqlite3.corrupt-*"))) == 1


def test_missing_sqlite_file_exports_nothing_and_is_not_created(tmp_path, monkeypatch, capsys):
    from rag.cli import main as rag_cli

    monkeypatch.setenv("RAG_FEEDBACK_DB", str(tmp_path / "none.sqlite3"))
    assert rag_cli(["feedback", "export", "--out", str(tmp_path / "out.jsonl")]) == 0
    assert "wrote 0 questions" in capsys.readouterr().out
    assert (tmp_path / "out.jsonl").read_text() == "" and not (tmp_path / "none.sqlite3").exists()


# --- PostgreSQL: a real server ---------------------------------------------------------------


WRITER = (
    "import sys\n"
    "from rag.config import Settings\n"
    "from rag.store import open_store\n"
    "tag, n = sys.argv[1], int(sys.argv[2])\n"
    "store = open_store(Settings(feedback_url=sys.argv[3]) if sys.argv[3] != '-'\n"
    "                   else Settings(feedback_db=sys.argv[4])).feedback\n"
    "assert store.db.available, store.db.problem\n"
    "for i in range(n):\n"
    "    fid = store.add(rating='down' if i % 2 else 'up', question=f'{tag} question {i}', answer='a',\n"
    "                    citations=[{'doc_id': f'doc-{tag}'}], backend='extractive')\n"
    "    if i % 10 == 0:\n"
    "        assert store.update(fid, comment=f'{tag} comment {i}')\n"
)


def _two_writers_at_once(url: str, db: str, n: int) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, tag, str(n), url, db], cwd=ROOT) for tag in ("p", "q")]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.server), "sqlite"])
def test_two_processes_write_at_once_and_nothing_is_lost(backend, request, tmp_path):
    n = 150
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_url")
        settings, args = Settings(feedback_url=url), (url, "-")
    else:
        settings, args = Settings(feedback_db=tmp_path / "fb.sqlite3"), ("-", str(tmp_path / "fb.sqlite3"))
    _two_writers_at_once(*args, n)
    store = open_store(settings).feedback
    assert type(store.db).__name__ == ("PostgresDatabase" if backend == "postgresql" else "SqliteDatabase")
    rows = store.all()
    assert sorted(r["question"] for r in rows) == sorted(f"{t} question {i}" for t in "pq" for i in range(n))
    assert len({r["id"] for r in rows}) == 2 * n
    assert store.counts() == {"up": n, "down": n}
    assert sum(1 for r in rows if r["comment"]) == 2 * len(range(0, n, 10))

    out = tmp_path / "down.jsonl"
    assert export_questions(store, out) == n
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {q["doc"] for q in lines} == {"doc-p", "doc-q"} and all(q["answerable"] for q in lines)
    assert {q["id"] for q in lines} == {f"feedback-{r['id']}" for r in rows if r["rating"] == "down"}


def test_postgres_store_round_trip_and_cli_export(postgres_url, tmp_path):
    store = Store.postgres(postgres_url).feedback
    fid = store.add(rating="up", question="中韩示范区在哪里？", answer="长春 [1]。", citations=[{"doc_id": "zone"}])
    row = store.get(fid)
    assert row["language"] == "zh" and row["citations"] == [{"doc_id": "zone"}] and row["abstained"] is False
    assert store.update(fid, rating="down", comment="wrong")
    assert not store.update(10**9, comment="no such entry")
    assert store.get(fid)["rating"] == "down"
    env = {**os.environ, "RAG_FEEDBACK_URL": postgres_url}
    out = tmp_path / "all.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "rag", "feedback", "export", "--out", str(out), "--only", "all"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert any(
        json.loads(line)["question"] == "中韩示范区在哪里？" for line in out.read_text(encoding="utf-8").splitlines()
    )


def test_unreachable_postgres_leaves_the_store_unavailable_with_no_password_shown(caplog):
    url = f"postgresql://rag:hunter2secret@127.0.0.1:{free_port()}/postgres"
    store = Store.postgres(url, connect_timeout=2)
    assert not store.available
    assert "127.0.0.1" in store.problem and "hunter2secret" not in store.problem
    with pytest.raises(FeedbackUnavailable, match="Feedback is unavailable right now"):
        store.feedback.add(rating="up", question="q", answer="a")
    assert "hunter2secret" not in caplog.text


def test_feedback_url_must_be_postgresql():
    with pytest.raises(ValueError, match="feedback_url"):
        Settings(feedback_url="mysql://x@y/z")
    assert open_store(Settings(feedback_db=Path(tempfile.mkdtemp()) / "f.sqlite3")).db.where.endswith("f.sqlite3")


def test_sqlite_rows_are_plain_sqlite(tmp_path):
    """The SQLite file stays readable by any SQLite tool (schema unchanged)."""
    store = Store.sqlite(tmp_path / "fb.sqlite3").feedback
    store.add(rating="up", question="q", answer="a")
    with sqlite3.connect(tmp_path / "fb.sqlite3") as db:
        assert db.execute("SELECT rating, question FROM feedback").fetchall() == [("up", "q")]
