"""The web app through its real HTTP API (``gradio_client``), plus the pieces behind it:
feedback store and export, staff file handling, and HTML escaping of everything shown.

Server tests start ``python app.py`` (see conftest.py; they are marked ``server`` by the fixtures
they use). The extractive backend serves the mechanics tests; one test asks the default llama.cpp
model (two answers).
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from pathlib import Path

import gradio as gr
import pytest
from gradio.utils import get_upload_folder

from rag.cli import main as rag_cli
from rag.config import Settings
from rag.ingest.corpus import CorpusError, remove_document, safe_filename, save_upload
from rag.store import Store, export_questions
from rag.web.render import SOURCES_SEPARATOR, md_text, render_answer, render_chat

from .conftest import HOSTILE_FILE, ROOT, STAFF_PASSWORD

SEMICONDUCTOR_Q = "Which semiconductor fields does the China-ROK zone want to cooperate in?"
CHINA_ROK_DOC = "china-rok-zone-industrial-layout"
CHINA_ROK_URL = "http://english.jl.gov.cn/BUSINESS/kfq_162863/202007/t20200702_7297528.html"


def ask(client, question: str):
    """Ask through /ask; returns (all streamed outputs, chat messages, answer record)."""
    job = client.submit(question, api_name="/ask")
    chat, _box, record = job.result(timeout=300)
    return job.outputs(), chat, record


def text_of(message: dict) -> str:
    content = message["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def markers(text: str) -> set[int]:
    return {int(n) for group in re.findall(r"\\?\[(\d+(?:,\s*\d+)*)\\?\]", text) for n in re.split(r",\s*", group)}


# --- pure pieces ------------------------------------------------------------------------------


def test_rendering_escapes_everything_and_highlights_support():
    passage = "Intro line. Rent is <script>alert(1)</script> 30 percent off. Other & more."
    start = passage.index("Rent")
    turn = {
        "question": "<img src=x onerror=alert(1)> rent?",
        "lang": "en",
        "text": "Rent is <script>alert(1)</script> 30 percent off [1].",
        "notice": "model <b>down</b>",
        "answer": {
            "answer": "Rent is <script>alert(1)</script> 30 percent off [1].",
            "abstained": False,
            "citations": [
                {
                    "n": 1,
                    "doc_id": "d",
                    "title": "T <b>x</b>",
                    "source": "javascript:alert(1)",
                    "text": passage,
                    "publisher": "P&Q",
                    "date": "2024-01-01",
                    "highlights": [[start, passage.index("Other")]],
                },
                {
                    "n": 2,
                    "doc_id": "e",
                    "title": "Real",
                    "source": "https://example.org/a?b=1&c=2",
                    "text": "x",
                    "highlights": [],
                },
            ],
        },
    }
    user, bot = render_chat([turn])
    for html_out in (user["content"], bot["content"]):
        assert "<script" not in html_out and "<img" not in html_out and "<b>" not in html_out
    assert "&lt;img src=x onerror=alert(1)&gt;" in user["content"]
    assert "&lt;script&gt;" in bot["content"]
    assert SOURCES_SEPARATOR in bot["content"]
    assert "<mark>Rent is &lt;script&gt;alert(1)&lt;/script&gt; 30 percent off. </mark>" in bot["content"]
    assert "javascript:" not in bot["content"]  # unsafe URL: title shown without a link
    assert 'href="https://example.org/a?b=1&amp;c=2"' in bot["content"]
    assert "P&amp;Q · 2024-01-01" in bot["content"]
    # sources are one HTML block: no blank line inside it
    assert "\n\n" not in bot["content"].split(SOURCES_SEPARATOR)[1].strip()


def test_line_breaks_of_every_kind_cannot_end_a_source_block():
    """A document with carriage-return-only (or Unicode) line breaks: a blank line would end the
    source's HTML block and let the markdown after it (an image, a link) render; none is left."""
    passage = (
        "Notice.\r\r![x](https://evil.example/pixel.png)\r\r[Apply](https://evil.example/apply)"
        "\u2028\u2028Done.\x0b\x0c\x85end"
    )
    turn = {
        "question": "q",
        "lang": "en",
        "text": "Notice [1].",
        "answer": {
            "answer": "Notice [1].",
            "abstained": False,
            "citations": [
                {
                    "n": 1,
                    "doc_id": "d",
                    "title": "T\r\r![t](https://evil.example/t.png)",
                    "source": "",
                    "text": passage,
                    "highlights": [[0, 7]],
                }
            ],
        },
    }
    sources = render_answer(turn).split(SOURCES_SEPARATOR, 1)[1].strip()
    assert not re.search(r"[\r\n\x0b\x0c\x85\u2028\u2029]", sources)  # one line: one HTML block
    assert "](" not in sources and "![" not in sources  # no markdown link or image syntax left
    assert "&#91;Apply&#93;(https://evil.example/apply)" in sources  # shown as text


def test_public_text_hides_server_paths_and_addresses_but_not_words():
    from rag.web.serving import public_text

    hidden = {
        "model '/srv/rag/models/x.gguf' not found": "model '(server path)' not found",
        "endpoint http://10.1.2.3:8000/v1 failed": "endpoint (server address) failed",
        "PostgreSQL at db.internal:5432 is unreachable": "PostgreSQL at (server address) is unreachable",
        "file ~/feedback.sqlite3 and C:\\rag\\index": "file (server path) and (server path)",
    }
    for text, public in hidden.items():
        assert public_text(text) == public
    kept = "and/or 1/2 N/A, e.g. 3.5 percent; rag.toml; version 3.1.2; Reading china-rok-zone-industrial-layout.txt"
    assert public_text(kept) == kept
    assert public_text("index at /data/index-7 failed", ["/data/index-7"]) == "index at (server path) failed"


def test_markdown_is_inert():
    assert md_text("*a* _b_ [1] # c") == r"\*a\* \_b\_ \[1\] \# c"
    assert md_text("- item\n1. x") == "\\- item\n\\1. x"


def test_abstention_renders_related_reading():
    turn = {
        "question": "q",
        "lang": "en",
        "text": "The documents do not answer.",
        "answer": {
            "answer": "The documents do not answer.",
            "abstained": True,
            "citations": [],
            "related": [{"n": 1, "doc_id": "d", "title": "Close", "source": "https://e.org", "text": "near"}],
        },
    }
    content = render_answer(turn)
    assert "**Related reading**" in content and "do not answer the question" in content and "Close" in content


def test_feedback_store_and_export(tmp_path):
    db = tmp_path / "fb.sqlite3"
    store = Store.sqlite(db).feedback
    cite = [{"n": 1, "doc_id": "zone-a", "title": "A", "text": "t"}]
    down = store.add(
        rating="down",
        question="What is the rent?",
        answer="Wrong [1].",
        citations=cite,
        backend="llamacpp",
        model="m",
        comment="wrong number",
    )
    store.add(rating="up", question="首都在哪里？", answer="北京 [1]。", citations=cite, backend="extractive")
    store.add(rating="down", question="Tax?", answer="Not answered.", abstained=True)
    assert store.update(down, comment="the rent is 30 percent")
    rows = store.all()
    assert [r["rating"] for r in rows] == ["down", "up", "down"]
    assert rows[0]["citations"] == cite and rows[0]["created_at"] and rows[1]["language"] == "zh"
    with pytest.raises(ValueError):
        store.add(rating="meh", question="q", answer="a")

    out = tmp_path / "down.jsonl"
    assert export_questions(store, out) == 2
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    for q in lines:
        assert {"id", "question", "lang", "answerable", "facts", "doc", "answer", "comment"} <= set(q)
    assert lines[0] == lines[0] | {
        "question": "What is the rent?",
        "lang": "en",
        "answerable": True,
        "facts": [],
        "doc": "zone-a",
        "comment": "the rent is 30 percent",
        "answer": "Wrong [1].",
    }
    assert lines[1]["doc"] is None and lines[1]["answerable"] is True
    assert export_questions(store, tmp_path / "all.jsonl", only="all") == 3
    up = tmp_path / "up.jsonl"
    assert export_questions(store, up, only="up") == 1
    assert json.loads(up.read_text(encoding="utf-8"))["lang"] == "zh"
    assert export_questions(None, tmp_path / "none.jsonl") == 0


def test_safe_filename():
    assert safe_filename("Zone notes 2024.md") == "Zone-notes-2024.md"
    assert safe_filename("../../etc/passwd.txt") == "passwd.txt"
    assert safe_filename("C:\\Users\\x\\Report.PDF") == "Report.pdf"
    assert safe_filename("政策 解读.docx") == "政策-解读.docx"
    assert safe_filename("a<b>:c|d?.html") == "abcd.html"
    assert safe_filename(".hidden.md") == "hidden.md"
    for bad in ("evil.exe", "noext", "../SOURCES.tsv", "....txt", "x.txt.sh", ""):
        with pytest.raises(CorpusError):
            safe_filename(bad)


def test_upload_and_remove_rules(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", upload_max_mb=1)
    src = tmp_path / "in"
    src.mkdir()
    ok = src / "Zone notes.md"
    ok.write_text("# Zone notes\n\nThe zone offers free office space for one year.\n", encoding="utf-8")
    name = save_upload(settings, ok, "../../Zone notes.md", meta={"title": "Notes", "url": "https://e.org/n"})
    assert name == "Zone-notes.md" and (corpus / name).is_file()
    assert "Zone-notes.md\tNotes\t\t\thttps://e.org/n" in (corpus / "SOURCES.tsv").read_text(encoding="utf-8")
    assert sorted(p.name for p in corpus.iterdir()) == ["SOURCES.tsv", "Zone-notes.md"]  # no temp files left

    with pytest.raises(CorpusError, match="already exists"):
        save_upload(settings, ok, "Zone notes.md")
    assert save_upload(settings, ok, "Zone notes.md", replace=True) == name
    with pytest.raises(CorpusError, match="same document id"):
        save_upload(settings, ok, "Zone notes.txt")
    big = src / "big.txt"
    big.write_text("x " * 600_000, encoding="utf-8")
    with pytest.raises(CorpusError, match="over the 1 MB limit"):
        save_upload(settings, big)
    binary = src / "binary.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(CorpusError, match="cannot be read"):
        save_upload(settings, binary)
    with pytest.raises(CorpusError, match="not allowed"):
        save_upload(settings, ok, "script.sh")
    assert not (corpus / "binary.txt").exists()

    for bad in ("../x.md", "SOURCES.tsv", "missing.md", "", ".."):
        with pytest.raises(CorpusError):
            remove_document(settings, bad)
    remove_document(settings, name)
    assert not (corpus / name).exists()
    assert name not in (corpus / "SOURCES.tsv").read_text(encoding="utf-8")


# --- the running app: investors -----------------------------------------------------------------


def test_ask_streams_answer_with_numbered_sources(public_app):
    client = public_app.client()
    outputs, chat, record = ask(client, SEMICONDUCTOR_Q)
    assert len(outputs) >= 3, "the answer was not streamed"
    assert record["backend"] == "extractive" and not record["abstained"]
    assert record["citations"] and all(c["title"] and c["source"] and c["text"] for c in record["citations"])
    assert any(c["doc_id"] == CHINA_ROK_DOC for c in record["citations"])
    user, bot = chat[-2], chat[-1]
    assert user["role"] == "user" and text_of(user) == SEMICONDUCTOR_Q
    content = text_of(bot)
    answer_part, sources_part = content.split(SOURCES_SEPARATOR, 1)
    numbers = {c["n"] for c in record["citations"]}
    assert markers(answer_part) and markers(answer_part) <= numbers  # inline markers match the list
    for c in record["citations"]:
        assert f'data-n="{c["n"]}"' in sources_part
    assert f'href="{CHINA_ROK_URL}"' in sources_part
    assert "Jilin provincial government (JL.gov) · 2020-07-02" in sources_part
    assert "<mark>" in sources_part


def test_a_question_asked_again_is_answered_from_the_cache(public_app, tmp_path):
    """Over HTTP, with the cache on (the other test apps turn it off): the second asker of the same
    question gets the stored answer and its citations, marked as cached; a follow-up is answered anew."""
    from .conftest import start_app

    app = start_app(
        "cached",
        tmp_path,
        corpus_dir=public_app.corpus_dir,
        index_dir=public_app.index_dir,
        backend="extractive",
        answer_cache_size="8",
    )
    try:
        _, _, first = ask(app.client(), SEMICONDUCTOR_Q)
        _, chat, again = ask(app.client(), "  which semiconductor fields does the China-ROK zone want to cooperate in")
        assert not first["cached"] and again["cached"]
        assert again["answer"] == first["answer"] and again["citations"] == first["citations"]
        assert CHINA_ROK_DOC in text_of(chat[-1]) or "China-ROK" in text_of(chat[-1])
        client = app.client()
        ask(client, SEMICONDUCTOR_Q)
        _, _, follow_up = ask(client, "and what about biomedicine?")
        assert not follow_up["cached"]
    finally:
        app.stop()


def test_follow_up_uses_the_conversation_and_clear_forgets_it(public_app):
    client = public_app.client()
    ask(client, "Which industries does the China-ROK zone develop?")
    _, chat, record = ask(client, "and what about biomedicine?")
    assert len(chat) == 4
    assert "China-ROK" in record["standalone_question"]  # the follow-up was made standalone...
    assert record["retrieved"][0]["doc_id"] == CHINA_ROK_DOC  # ...and searched as such
    # (the extractive backend then quotes the sentences closest to the investor's own words,
    # "biomedicine", wherever they are among the passages found)
    shown = " ".join(text_of(m) for m in chat)
    assert record["standalone_question"] not in shown  # ...without showing that to the investor

    chat, _session_note = client.predict(api_name="/clear")[:2]
    assert chat == []
    _, chat, record = ask(client, "and what about biomedicine?")
    assert len(chat) == 2 and record["standalone_question"] == "and what about biomedicine?"


def test_abstains_in_plain_words_with_related_reading(public_app):
    _, chat, record = ask(public_app.client(), "How do I bake sourdough bread at home?")
    assert record["abstained"] and not record["citations"]
    content = text_of(chat[-1])
    assert content.startswith("The documents I have do not answer this question.")
    assert "**Related reading**" in content and record["related"]


def test_answer_language_follows_question(public_app):
    _, chat, record = ask(public_app.client(), "中韩示范区在半导体方面有哪些合作？")
    assert record["language"] == "zh"


def test_feedback_is_stored_in_sqlite_and_exported(public_app, tmp_path, monkeypatch, capsys):
    client = public_app.client()
    _, _, record = ask(client, SEMICONDUCTOR_Q)
    result = client.predict("down", "The answer does not list the semiconductor fields.", 0, api_name="/feedback")
    assert "feedback #" in str(result)
    with sqlite3.connect(public_app.feedback_db) as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT * FROM feedback ORDER BY id")]
    row = rows[-1]
    assert row["rating"] == "down" and row["question"] == SEMICONDUCTOR_Q
    assert row["answer"] == record["answer"] and row["backend"] == "extractive" and row["model"] == "none"
    assert row["comment"] == "The answer does not list the semiconductor fields."
    assert json.loads(row["citations"])[0]["doc_id"] == record["citations"][0]["doc_id"]
    assert re.match(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", row["created_at"])

    # rating the same answer again changes the stored rating instead of adding a row
    client.predict("up", "", 1, api_name="/feedback")
    with sqlite3.connect(public_app.feedback_db) as db:
        assert db.execute("SELECT rating FROM feedback WHERE id = ?", (row["id"],)).fetchone()[0] == "up"
        assert db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == len(rows)
    client.predict("down", "", 0, api_name="/feedback")

    # staff export it as an evaluation question (the CLI of rag.cli, in-process: tests/test_index.py
    # and tests/test_answering.py run `python -m rag` as a subprocess)
    out = tmp_path / "regressions.jsonl"
    monkeypatch.setenv("RAG_FEEDBACK_DB", str(public_app.feedback_db))
    assert rag_cli(["feedback", "export", "--out", str(out)]) == 0
    assert f"questions to {out}" in capsys.readouterr().out
    questions = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert any(q["question"] == SEMICONDUCTOR_Q and q["comment"].startswith("The answer") for q in questions)

    with pytest.raises(Exception, match="rating must be"):
        client.predict("meh", "", 0, api_name="/feedback")
    # a negative turn rated the latest answer without a word; now it is refused and says why
    with pytest.raises(Exception, match="turn must be a whole number"):
        client.predict("up", "", -3, api_name="/feedback")


def test_document_text_is_escaped(public_app):
    question = "What rent subsidy does Lakeside Robotics Park offer to robotics start-ups?"
    _, chat, record = ask(public_app.client(), question)
    passages = record["citations"] + record.get("related", [])
    assert any(c["doc_id"] == HOSTILE_FILE.removesuffix(".txt") for c in passages)
    content = text_of(chat[-1])
    assert "&lt;script&gt;window.__ragPwned = 1&lt;/script&gt;" in content
    assert "<script" not in content and "<img" not in content and "<b>" not in content and "<i>" not in content
    assert "Lakeside &lt;b&gt;Robotics&lt;/b&gt; notice" in content
    assert 'href="https://example.org/lakeside?a=1&amp;b=2"' in content


def test_no_staff_endpoints_without_password(public_app):
    client = public_app.client()
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == {"/ask", "/feedback", "/clear", "/status"}
    config = json.loads(_get_text(public_app.url + "config"))
    names = [str(d.get("api_name")) for d in config["dependencies"]]
    assert not [n for n in names if "admin" in n], names  # not even undocumented or private ones
    labels = json.dumps([c.get("props", {}).get("label") for c in config["components"]])
    assert "staff" not in labels.lower() and not any(c.get("type") == "file" for c in config["components"])
    with pytest.raises(ValueError, match="Cannot find a function with `api_name`: /admin_list"):
        client.predict("anything", api_name="/admin_list")
    # nor can the feedback database or the corpus be downloaded through Gradio's file route
    import urllib.error

    for path in (public_app.feedback_db, public_app.corpus_dir / "SOURCES.tsv", ROOT / "app.py"):
        with pytest.raises(urllib.error.HTTPError) as err:
            _get_text(f"{public_app.url}gradio_api/file={path}")
        assert err.value.code in (403, 404)


def test_uploads_are_refused_without_a_staff_tab(public_app):
    """Gradio's upload route stores any file anyone sends it, whether or not a component takes files."""
    import httpx

    name = f"junk-{uuid.uuid4().hex}.txt"
    r = httpx.post(public_app.url + "gradio_api/upload", files={"files": (name, b"junk " * 1000)}, timeout=30)
    assert r.status_code == 404, r.text
    assert not list(Path(get_upload_folder()).glob(f"*/{name}"))


def test_request_bodies_are_capped(public_app):
    import httpx

    url = public_app.url + "gradio_api/queue/join"
    r = httpx.post(url, content=b"{" + b" " * 300_000 + b"}", headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 413 and "at most 256 KB" in r.text

    def chunks():
        yield b'{"data": ["'
        yield b"x" * 1000
        yield b'"]}'

    r = httpx.post(url, content=chunks(), headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 411
    # a question of 5000 characters still arrives, and is cut to 1000
    _, chat, record = ask(public_app.client(), "What does the Norman Bethune Center focus on? " + "x" * 5000)
    assert len(record["question"]) <= 1000


def _get_text(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 (loopback)
        return r.read().decode("utf-8")


# --- the running app: staff ----------------------------------------------------------------------


def test_staff_endpoints_refuse_without_the_password(staff_app, tmp_path):
    """From an address that never gave the staff password: every staff call refused, and no file
    even reaches Gradio's upload route."""
    from gradio_client import Client, handle_file

    client = Client(staff_app.url, verbose=False, headers={"X-Forwarded-For": "198.51.100.66"})
    doc = tmp_path / f"intruder-{uuid.uuid4().hex}.md"
    doc.write_text("# Intruder\n\nThis should never reach the corpus.\n", encoding="utf-8")
    before = sorted(p.name for p in staff_app.corpus_dir.iterdir())
    calls = [
        ("/admin_list", ()),
        ("/admin_upload", ([], "", "", "", "", False)),
        ("/admin_remove", ("china-rok-zone-industrial-layout.txt",)),
        ("/admin_reindex", ()),
    ]
    for password in ("", "wrong", STAFF_PASSWORD + " "):
        for api_name, args in calls:
            with pytest.raises(Exception, match="Wrong staff password"):
                client.predict(password, *args, api_name=api_name)
        with pytest.raises(Exception, match="403 Forbidden.*gradio_api/upload"):
            client.predict(password, [handle_file(str(doc))], "", "", "", "", False, api_name="/admin_upload")
    assert sorted(p.name for p in staff_app.corpus_dir.iterdir()) == before
    assert not list(Path(get_upload_folder()).glob(f"*/{doc.name}"))


def test_uploads_need_a_staff_address_and_leave_no_temporary_files(staff_app, tmp_path):
    """Only an address that passed the staff password may upload; Gradio's temporary copy of an
    upload is deleted once it was copied into the corpus, and so is a refused one's."""
    import httpx
    from gradio_client import Client, handle_file

    address = "192.0.2.44"
    client = Client(staff_app.url, verbose=False, headers={"X-Forwarded-For": address})
    upload = staff_app.url + "gradio_api/upload"
    r = httpx.post(upload, files={"files": ("a.txt", b"text")}, headers={"X-Forwarded-For": address}, timeout=30)
    assert r.status_code == 403 and "staff password" in r.text
    client.predict(STAFF_PASSWORD, api_name="/admin_list")
    r = httpx.post(upload, files={"files": ("a.txt", b"text")}, headers={"X-Forwarded-For": address}, timeout=30)
    assert r.status_code == 200
    for path in map(Path, r.json()):  # never sent on (Gradio's delete_cache would remove it after an hour)
        path.unlink()
        path.parent.rmdir()
    r = httpx.post(upload, files={"files": ("a.txt", b"text")}, headers={"X-Forwarded-For": "192.0.2.45"}, timeout=30)
    assert r.status_code == 403  # another address still may not

    tag = uuid.uuid4().hex[:12]
    kept, empty = tmp_path / f"Depot-{tag}.md", tmp_path / f"empty-{tag}.md"
    kept.write_text("# Depot notes\n\nThe Depot Park rents cold-storage rooms by the month.\n", encoding="utf-8")
    empty.write_bytes(b"")
    _table, _choices, message, _footer, _files = client.predict(
        STAFF_PASSWORD,
        [handle_file(str(kept)), handle_file(str(empty))],
        "",
        "",
        "",
        "",
        False,
        api_name="/admin_upload",
    )
    assert f"Added Depot-{tag}.md" in message and "the file is empty" in message
    assert (staff_app.corpus_dir / f"Depot-{tag}.md").is_file()
    assert not list(Path(get_upload_folder()).glob(f"**/*{tag}*"))  # neither temporary copy is left

    # no file chosen: one message, the rest as it was (skipped outputs), no error
    outputs = client.predict(STAFF_PASSWORD, [], "", "", "", "", False, api_name="/admin_upload")
    assert outputs[2] == "Choose one or more files to upload."
    client.predict(STAFF_PASSWORD, f"Depot-{tag}.md", api_name="/admin_remove")


def test_staff_list_upload_remove_reindex(staff_app, tmp_path):
    from gradio_client import handle_file

    client = staff_app.client()
    table, _choices, _msg, footer = client.predict(STAFF_PASSWORD, api_name="/admin_list")
    rows = {r[0]: r for r in table["data"]}
    documents = len(rows)
    assert f"{documents} documents" in footer
    assert {"china-rok-zone-industrial-layout.txt", HOSTILE_FILE} <= set(rows)
    assert all(r[4] > 0 and r[6] == "indexed" and r[5] for r in rows.values())  # chunks, status, indexed_at
    assert rows["china-rok-zone-industrial-layout.txt"][3] == "2020-07-02"

    doc = tmp_path / "Harbour zone notes.md"
    doc.write_text(
        "# Harbour notes\n\nHarbour Valley Zone offers a rent subsidy of 30 percent for the first two "
        "years to marine robotics firms.\n",
        encoding="utf-8",
    )
    table, _choices, msg, footer, _files = client.predict(
        STAFF_PASSWORD,
        [handle_file(str(doc))],
        "Harbour Valley Zone notes",
        "Harbour office",
        "2024-03-01",
        "https://example.org/harbour",
        False,
        api_name="/admin_upload",
    )
    assert "Added Harbour-zone-notes.md" in msg and "1 added" in msg
    assert f"{documents + 1} documents" in footer  # the page footer follows the re-index
    assert (staff_app.corpus_dir / "Harbour-zone-notes.md").is_file()
    rows = {r[0]: r for r in table["data"]}
    assert rows["Harbour-zone-notes.md"][1:4] == ["Harbour Valley Zone notes", "Harbour office", "2024-03-01"]
    assert rows["Harbour-zone-notes.md"][4] >= 1

    # the chat uses the new document at once
    chat_client = staff_app.client()
    _, _, record = ask(chat_client, "What rent subsidy does Harbour Valley Zone offer to marine robotics firms?")
    cited = record["citations"] + record.get("related", [])
    assert any(c["doc_id"] == "Harbour-zone-notes" and c["source"] == "https://example.org/harbour" for c in cited)

    # refused uploads: type, size (the app's limit is 1 MB)
    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ" + b"\x00" * 100)
    with pytest.raises(Exception, match="Invalid file type"):  # Gradio's own check, before ours (rag.ingest.corpus)
        client.predict(STAFF_PASSWORD, [handle_file(str(bad))], "", "", "", "", False, api_name="/admin_upload")
    assert not (staff_app.corpus_dir / "tool.exe").exists()
    big = tmp_path / "big.txt"
    big.write_text("word " * 300_000, encoding="utf-8")
    with pytest.raises(ValueError, match="exceeds the maximum file size"):  # the client checks the app's limit
        client.predict(STAFF_PASSWORD, [handle_file(str(big))], "", "", "", "", False, api_name="/admin_upload")
    assert not (staff_app.corpus_dir / "big.txt").exists()

    # remove: path tricks refused, a real document removed and re-indexed away
    for name in ("../corpus/SOURCES.tsv", "SOURCES.tsv", "/etc/passwd"):
        with pytest.raises(Exception, match="not a plain file name|not a document|outside"):
            client.predict(STAFF_PASSWORD, name, api_name="/admin_remove")
    table, _choices, msg, footer = client.predict(STAFF_PASSWORD, "Harbour-zone-notes.md", api_name="/admin_remove")
    assert "Removed Harbour-zone-notes.md" in msg and "1 removed" in msg
    assert "Harbour-zone-notes.md" not in {r[0] for r in table["data"]}
    assert not (staff_app.corpus_dir / "Harbour-zone-notes.md").exists()
    assert f"{documents} documents" in footer

    table, _choices, msg, _footer = client.predict(STAFF_PASSWORD, api_name="/admin_reindex")
    assert "0 added" in msg and "0 removed" in msg


# --- robustness -----------------------------------------------------------------------------------


def test_missing_model_is_said_once_and_answers_extractively(corpus_index, tmp_path):
    """In-process over the session's index of the real corpus: a model that cannot load."""
    from rag.web.app import Services
    from rag.web.render import new_session

    no_model = str(tmp_path / "no-such-model.gguf")
    settings = corpus_index.model_copy(
        update={"feedback_db": tmp_path / "fb.sqlite3", "backend": "llamacpp", "gguf_model": no_model}
    )
    service = Services.create(settings)
    service.runtime.start(background=False)
    assert service.runtime.status()["ready"] and service.runtime.status()["backend"] == "extractive"
    session = new_session()
    answers = []
    for q in (SEMICONDUCTOR_Q, "and what about biomedicine?"):
        *_, (chat, session, _box, record) = service.chat.respond(q, session)
        answers.append((text_of(chat[-1]), record))
    (first, rec1), (second, rec2) = answers
    assert "language model is unavailable" in first and rec1["backend"] == "extractive"
    assert "unavailable" not in second and rec2["backend"] == "extractive"
    assert rec1["citations"]


def test_no_server_paths_or_addresses_reach_the_public(corpus_index, tmp_path, caplog):
    """In-process over the session's index: a model file that is missing (its path is in the
    notice), a model server that is down (its URL is in the notice), an index folder that cannot
    be built (its path is in the start-up error). The chat, the /ask record, /status and the
    footer say what happened without them; the log keeps them."""
    from rag.web.app import Services
    from rag.web.render import new_session

    from .conftest import free_port

    missing = tmp_path / "models" / "no-such-model.gguf"
    dead = f"http://127.0.0.1:{free_port()}/v1"
    cases = [
        ({"backend": "llamacpp", "gguf_model": str(missing)}, str(tmp_path)),
        ({"backend": "openai", "openai_base_url": dead, "openai_timeout": 5}, "127.0.0.1"),
    ]
    for update, secret in cases:
        service = Services.create(corpus_index.model_copy(update={"feedback_db": tmp_path / "fb.sqlite3", **update}))
        service.runtime.start(background=False)
        *_, (chat, _session, _box, record) = service.chat.respond(SEMICONDUCTOR_Q, new_session())
        public = json.dumps([chat, record, service.runtime.status(), service.runtime.footer()], ensure_ascii=False)
        assert record["notices"], record  # the notice says the model is unavailable, without the reason
        assert secret not in public and str(ROOT) not in public, public[:2000]
        assert secret in caplog.text  # the log keeps it

    # a feedback store that cannot be opened: its reason names the file
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    service = Services.create(corpus_index.model_copy(update={"feedback_db": tmp_path / "a-file" / "fb.sqlite3"}))
    service.runtime.start(background=False)
    *_, (_chat, session, _box, _record) = service.chat.respond(SEMICONDUCTOR_Q, new_session())
    with pytest.raises(gr.Error) as refused:
        service.ratings.api_feedback("up", "", 0, session)
    assert "could not be saved right now" in refused.value.message and "a-file" not in refused.value.message

    broken = corpus_index.model_copy(
        update={
            "feedback_db": tmp_path / "fb.sqlite3",
            "corpus_dir": tmp_path / "no-such-corpus",
            "index_dir": tmp_path / "i2",
        }
    )
    service = Services.create(broken)
    service.runtime.start(background=False)
    *_, (chat, _session, _box, record) = service.chat.respond(SEMICONDUCTOR_Q, new_session())
    public = json.dumps([chat, record, service.runtime.status(), service.runtime.footer()], ensure_ascii=False)
    assert service.runtime.status()["error"] and "no-such-corpus" not in public and str(tmp_path) not in public
    assert "no-such-corpus" in caplog.text


def test_index_missing_at_start_is_built_with_progress(public_app):
    log = public_app.log_text()
    assert re.search(r"index:\s+\d+% Reading", log) and "Index ready" in log
    assert (public_app.index_dir / "current" / "manifest.json").is_file()
    assert public_app.timings["status"]["documents"] == 3


# --- the default backend ------------------------------------------------------------------------


def test_llamacpp_answer_with_citations_and_follow_up(llm_app):
    status = llm_app.timings["status"]
    assert status["backend"] == "llamacpp" and status["model"]
    # the index was ready: the app must be up in seconds (measured, see test-artifacts/startup.json)
    assert llm_app.timings["ready_s"] < 90, llm_app.timings
    client = llm_app.client()
    t0 = time.perf_counter()
    outputs, chat, record = ask(client, SEMICONDUCTOR_Q)
    print(f"llamacpp answer in {time.perf_counter() - t0:.1f} s: {record['answer']}")
    assert record["backend"] == "llamacpp" and not record["abstained"], record
    assert len(outputs) >= 3
    assert any(c["doc_id"] == CHINA_ROK_DOC for c in record["citations"])
    answer_part = text_of(chat[-1]).split(SOURCES_SEPARATOR, 1)[0]
    assert markers(answer_part) <= {c["n"] for c in record["citations"]}
    assert re.search(r"semiconductor|IGBT|chip", record["answer"], re.I), record["answer"]

    _, chat, record = ask(client, "and what about biomedicine?")
    assert record["standalone_question"] != "and what about biomedicine?"
    cited = {c["doc_id"] for c in record["citations"] + record.get("related", [])}
    assert CHINA_ROK_DOC in cited, record
    assert record["standalone_question"] not in " ".join(text_of(m) for m in chat)
