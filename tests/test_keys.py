"""API keys and what the API reads of a request (issue 21), without a server: keys kept only as
their SHA-256, printed once, revoked for good; the daily cap counted in the store (on SQLite and
PostgreSQL); allowed origins checked; the command line; a request's shape refused in OpenAI's
terms; the per-key rate window; the embed policy's headers."""

from __future__ import annotations

import asyncio
import json

import pytest

from rag.cli import main
from rag.store import Store
from rag.store.keys import AccessError, digest
from rag.web.api import RateWindow, citation_json, parse_request
from rag.web.embed import EmbedPolicy
from rag.web.texts import chat_texts
from rag.web.turns import ApiError


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return Store.sqlite(tmp_path / "store.sqlite3")
    return Store.postgres(request.getfixturevalue("postgres_url"))


def test_a_key_is_kept_as_its_digest_and_revoked_for_good(store):
    keys = store.keys
    key = keys.create("partner-a")
    assert key.startswith("rag-") and len(key) > 40
    found = keys.check(key)
    assert found["name"] == "partner-a" and found["active"] and "key_hash" not in found
    rows, _ = store.db.run("SELECT * FROM api_keys")
    assert key not in json.dumps(rows) and rows[0]["key_hash"] == digest(key)
    assert keys.check(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert keys.check(None) is None and keys.check("") is None
    with pytest.raises(AccessError):
        keys.create("partner-a")  # one name, one key
    with pytest.raises(AccessError):
        keys.create("bad name!")
    assert keys.revoke("partner-a") and not keys.revoke("partner-a")
    assert keys.check(key) is None
    assert not keys.all()[0]["active"]


def test_the_daily_cap_is_counted_in_the_store(store):
    keys = store.keys
    keys.create("capped")
    row = keys.get("capped")
    assert [keys.count_today(row["id"], 3) for _ in range(5)] == [True, True, True, False, False]
    assert keys.get("capped")["today"] == 3
    store.db.run("UPDATE api_keys SET used_day = '2000-01-01' WHERE id = ?", (row["id"],), write=True)
    assert keys.count_today(row["id"], 3) and keys.get("capped")["today"] == 1  # a new UTC day starts at one


def test_allowed_origins_are_checked_and_replaced(store):
    keys = store.keys
    assert keys.set_origins(["https://www.Example.org/", "", "http://127.0.0.1:8080"]) == [
        "https://www.example.org",
        "http://127.0.0.1:8080",
    ]
    for bad in ("www.example.org", "https://example.org/page", "javascript:alert(1)", "https://a.org 'unsafe-inline'"):
        with pytest.raises(AccessError):
            keys.set_origins([bad])
    assert keys.origins() == ["https://www.example.org", "http://127.0.0.1:8080"]  # a refused list changes nothing


def test_the_command_line_creates_lists_and_revokes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RAG_FEEDBACK_DB", str(tmp_path / "store.sqlite3"))
    assert main(["keys", "create", "partner-b"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("rag-")
    assert main(["keys", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["keys"]
    assert [k["name"] for k in listed] == ["partner-b"] and key not in json.dumps(listed)
    assert main(["keys", "revoke", "partner-b"]) == 0
    assert main(["keys", "revoke", "partner-b"]) == 1
    assert "no active key" in capsys.readouterr().err
    assert Store.sqlite(tmp_path / "store.sqlite3").keys.check(key) is None


def test_a_request_is_read_as_the_chat_reads_a_conversation():
    body = {
        "model": "anything",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Which industries?"},
            {"role": "assistant", "content": "Biomedicine [1]."},
            {
                "role": "user",
                "content": [{"type": "text", "text": "and what about "}, {"type": "text", "text": "chips?"}],
            },
        ],
        "stream": True,
    }
    question, history, stream = parse_request(json.dumps(body).encode(), 1000)
    assert question == "and what about chips?" and stream
    assert history == [
        {"role": "user", "content": "Which industries?"},
        {"role": "assistant", "content": "Biomedicine [1]."},
    ]


@pytest.mark.parametrize(
    "body, code",
    [
        (b"", "invalid_json"),
        (b"null", "invalid_json"),
        (b'{"messages": []}', "invalid_messages"),
        (b'{"messages": [{"role": "user", "content": "   "}]}', "no_question"),
        (json.dumps({"messages": [{"role": "user", "content": "x" * 1001}]}).encode(), "question_too_long"),
        (json.dumps({"messages": [{"role": "user", "content": "hi"}] * 65}).encode(), "too_many_messages"),
    ],
)
def test_a_malformed_request_is_a_400_in_openai_terms(body, code):
    with pytest.raises(ApiError) as e:
        parse_request(body, 1000)
    assert e.value.status == 400 and e.value.code == code and e.value.type == "invalid_request_error"


def test_the_rate_window_counts_per_key():
    window = RateWindow(2, window_s=60)
    assert window.take("a") == 0 and window.take("a") == 0
    assert 59 < window.take("a") <= 60
    assert window.take("b") == 0


def test_a_citation_carries_its_quoted_sentences():
    passage = "First sentence. The zone supports chips. Last one."
    c = citation_json({"n": 1, "title": "T", "source": "https://x.org", "text": passage, "highlights": [[16, 40]]})
    assert c["quote"] == "The zone supports chips." and c["url"] == "https://x.org" and c["passage"] == passage


def _call(policy, path: str, headers: dict) -> tuple[int, dict]:
    sent = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message):
        sent.append(message)

    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {"type": "http", "path": path, "method": "GET", "headers": raw}
    asyncio.run(EmbedPolicy(app, policy)(scope, None, send))
    start = sent[0]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}


def test_the_embed_policy_frames_and_answers_only_allowed_origins():
    allowed = lambda: frozenset({"https://zone.example.org"})  # noqa: E731
    status, headers = _call(allowed, "/embed", {"host": "chat.example.org"})
    assert headers["content-security-policy"] == "frame-ancestors 'self' https://zone.example.org"
    status, headers = _call(allowed, "/v1/models", {"host": "chat.example.org", "origin": "https://zone.example.org"})
    assert status == 200 and headers["access-control-allow-origin"] == "https://zone.example.org"
    status, _ = _call(allowed, "/v1/models", {"host": "chat.example.org", "origin": "https://evil.example"})
    assert status == 403
    status, headers = _call(allowed, "/v1/models", {"host": "chat.example.org"})  # a server, not a browser
    assert status == 200 and "access-control-allow-origin" not in headers
    status, _ = _call(allowed, "/v1/models", {"host": "chat.example.org", "origin": "http://chat.example.org"})
    assert status == 200  # its own page


def test_a_damaged_or_altered_kept_conversation_starts_anew_or_loses_only_the_bad_turns():
    from rag.web.embed import KEPT_TURNS, kept

    good = {
        "question": "Q?",
        "lang": "en",
        "text": "A [1].",
        "notice": "",
        "answer": {"answer": "A [1].", "citations": []},
    }
    assert kept(None)["turns"] == [] and kept("junk")["turns"] == [] and kept({"turns": 5})["turns"] == []
    assert kept({"turns": [good, {"question": 1}, "x", {**good, "answer": None}]})["turns"] == [good]
    assert len(kept({"turns": [good] * (KEPT_TURNS + 5)})["turns"]) == KEPT_TURNS
    assert kept({"turns": [{**good, "answer": {"citations": 7}}]})["turns"] == []  # cannot be rendered


def test_configured_origins_that_are_no_origins_stay_out_of_the_header(tmp_path):
    from rag.config import Settings
    from rag.web.embed import Origins

    settings = Settings(embed_origins="https://zone.example.org/, * https://a.org/path 'unsafe-inline'")
    origins = Origins(settings, Store.sqlite(tmp_path / "store.sqlite3").keys)
    assert origins() == frozenset({"https://zone.example.org"})


class _Runtime:
    """What ``rag.web.api`` uses of ``rag.web.startup.Runtime``, over a scripted assistant."""

    def __init__(self, tmp_path, assistant, **settings):
        import threading

        from rag.config import Settings
        from rag.web.serving import Admission, ModelLine

        self.settings = Settings(backend="extractive", **settings)
        self.store = Store.sqlite(tmp_path / "store.sqlite3")
        self.admission = Admission(self.settings.serve_max_per_client)
        self.line = ModelLine(1, 5.0)
        self.ready = threading.Event()
        self.ready.set()
        self.error = None
        self.assistant = assistant
        self.question_log = None

    def public(self, text):
        return text

    def follow_index(self):
        pass


class _Assistant:
    def __init__(self, needs_model=False, fail=None):
        self.needs_model, self.fail = needs_model, fail

    def plan(self, question, history):
        from rag.answer.records import Plan

        return Plan(self.needs_model, "generate" if self.needs_model else "extractive")

    def ask_stream(self, question, history):
        from rag.answer.records import Answer, Event

        if self.fail:
            raise self.fail
        yield Event("delta", "An answer.")
        yield Event("final", answer=Answer(question=question, answer="An answer.", abstained=True))


def _api(tmp_path, assistant, **settings):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from rag.web.api import ApiService

    runtime = _Runtime(tmp_path, assistant, **settings)
    key = runtime.store.keys.create("t")
    app = TestClient(Starlette(routes=ApiService(runtime).routes()), raise_server_exceptions=False)
    return app, {"Authorization": f"Bearer {key}"}, runtime


ASK = {"messages": [{"role": "user", "content": "Which industries?"}]}


def test_a_full_line_for_the_model_is_503_busy(tmp_path):
    app, auth, runtime = _api(tmp_path, _Assistant(needs_model=True))
    holder, waiting = runtime.line.join("page-a"), runtime.line.join("page-b")  # the slot held, the line full
    r = app.post("/v1/chat/completions", json=ASK, headers=auth)
    assert r.status_code == 503 and r.json()["error"]["code"] == "busy" and r.headers["retry-after"] == "60"
    korean = {"messages": [{"role": "user", "content": "어떤 산업을 지원하나요?"}]}  # said in the question's language
    r = app.post("/v1/chat/completions", json=korean, headers=auth)
    assert r.status_code == 503 and r.json()["error"]["message"] == chat_texts("ko")["busy"]
    runtime.line.leave(waiting)
    runtime.line.leave(holder)
    assert app.post("/v1/chat/completions", json=ASK, headers=auth).status_code == 200
    assert runtime.admission.in_flight("api:t") == 0 and runtime.line.waiting() == 0  # every place given back


def test_a_failure_reaches_the_client_as_its_class_name_only(tmp_path):
    app, auth, _ = _api(tmp_path, _Assistant(fail=OSError("/srv/secret/index.faiss is damaged")))
    for stream in (False, True):
        r = app.post("/v1/chat/completions", json={**ASK, "stream": stream}, headers=auth)
        assert "secret" not in r.text and "Traceback" not in r.text and "OSError" in r.text
        assert r.status_code == (200 if stream else 500)  # a stream has begun: its error is an event
        assert '"type": "server_error"' in r.text or r.json()["error"]["type"] == "server_error"


def test_the_daily_cap_is_429(tmp_path):
    app, auth, _ = _api(tmp_path, _Assistant(), api_daily_cap=2)
    codes = [app.post("/v1/chat/completions", json=ASK, headers=auth).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    r = app.post("/v1/chat/completions", json=ASK, headers=auth)
    assert r.json()["error"]["code"] == "daily_cap_exceeded"
