"""The OpenAI-compatible API (issue 21) with the real ``openai`` Python client against the running
app (``python app.py``, extractive backend: fast, no language model): a plain and a streamed answer
with citations, an abstention, a follow-up, a bad and a revoked key (401), a rate-limited key (429),
malformed and oversized requests (400 / 413 in OpenAI's error shape, no traceback in the server's
log), keys made in the staff tab, the origin check; one answer with the default model, where only
the pipeline's guarantees are asserted (markers match citations, quotes come from their passages).

Each test makes its own keys (``python -m rag keys create``), so one test's rate never reaches another's.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import time

import httpx
import openai
import pytest

from .conftest import API_RATE_PER_MINUTE, ROOT, STAFF_PASSWORD, new_api_key

QUESTION = "Which semiconductor fields does the China-ROK zone want to cooperate in?"
CHINA_ROK_DOC = "china-rok-zone-industrial-layout"
UNANSWERABLE = "How do I bake sourdough bread at home?"
MODEL = "changchun-assistant"


def client(app, key: str) -> openai.OpenAI:
    # max_retries=0: the client would otherwise retry a 429 or 503 by itself
    return openai.OpenAI(base_url=f"{app.url}v1", api_key=key, max_retries=0, timeout=120)


def markers(text: str) -> set[int]:
    return {int(n) for group in re.findall(r"\[(\d+(?:,\s*\d+)*)\]", text) for n in re.split(r",\s*", group)}


def assert_cited(content: str, citations: list[dict]) -> None:
    """The answer's markers name the citations given, and each citation says where it is from and
    quotes its passage."""
    numbers = {c["n"] for c in citations}
    assert citations and markers(content) and markers(content) <= numbers, (content, numbers)
    for c in citations:
        assert c["title"] and c["url"].startswith("http") and c["publisher"] and c["date"]
        assert c["quote"] and all(q in c["passage"] for q in c["quotes"])


def logged(app, question: str, match=lambda entry: True, timeout_s: float = 10.0) -> dict:
    """The question log's newest entry for ``question`` that ``match``es (the writer is a background thread)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with sqlite3.connect(app.feedback_db) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM questions WHERE question = ? ORDER BY id DESC", (question,)).fetchall()
        found = [dict(r) for r in rows if match(dict(r))]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"{question!r} is not in the question log")
        time.sleep(0.2)


def test_plain_answer_with_citations(api_app):
    api = client(api_app, new_api_key(api_app, "plain"))
    assert [m.id for m in api.models.list().data] == [MODEL]
    t0 = time.perf_counter()
    response = api.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    took = time.perf_counter() - t0
    content = response.choices[0].message.content
    extra = response.model_extra
    assert not extra["abstained"] and extra["outcome"] in ("answered", "quoted")
    assert_cited(content, extra["citations"])
    assert any(c["doc_id"] == CHINA_ROK_DOC for c in extra["citations"])
    assert "semiconductor" in " ".join(c["quote"] for c in extra["citations"])
    assert took < 30, f"an extractive API answer took {took:.1f} s"
    assert logged(api_app, QUESTION)["outcome"] == extra["outcome"]  # the chat's own question log


def test_streamed_answer_with_citations_on_the_last_chunk(api_app):
    api = client(api_app, new_api_key(api_app, "stream"))
    plain = api.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    chunks = list(
        api.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}], stream=True)
    )
    assert len(chunks) >= 3 and chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == plain.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert_cited(text, last.model_extra["citations"])
    assert last.model_extra["citations"] == plain.model_extra["citations"]


def test_an_unanswerable_question_is_an_abstention_with_related_reading(api_app):
    api = client(api_app, new_api_key(api_app, "abstain"))
    response = api.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": UNANSWERABLE}])
    extra = response.model_extra
    assert extra["abstained"] and extra["outcome"] == "abstained" and extra["citations"] == []
    assert response.choices[0].message.content == "The documents I have do not answer this question."
    assert extra["related"] and all(r["title"] and r["passage"] for r in extra["related"])


def test_a_follow_up_is_read_with_the_conversation(api_app):
    api = client(api_app, new_api_key(api_app, "follow-up"))
    first = "Which industries does the China-ROK zone develop?"
    answer = api.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": first}])
    follow_up = "and what about biomedicine?"
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},  # read by OpenAI's models; left out here
        {"role": "user", "content": first},
        {"role": "assistant", "content": answer.choices[0].message.content},
        {"role": "user", "content": follow_up},
    ]
    response = api.chat.completions.create(model=MODEL, messages=messages)
    assert_cited(response.choices[0].message.content, response.model_extra["citations"])
    # made standalone from the earlier turn, as in the chat (the question log shows what was searched)
    logged(api_app, follow_up, lambda e: "China-ROK" in e["standalone_question"])
    api.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": follow_up}])
    logged(api_app, follow_up, lambda e: e["standalone_question"] == follow_up)  # no history: as asked


def test_no_key_a_wrong_key_and_a_revoked_key_get_401(api_app):
    for key in ("rag-not-a-key", "sk-something-else"):
        with pytest.raises(openai.AuthenticationError) as e:
            client(api_app, key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
        assert e.value.status_code == 401 and e.value.code == "invalid_api_key"
    r = httpx.post(f"{api_app.url}v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    key = new_api_key(api_app, "revoked")
    assert client(api_app, key).models.list().data
    subprocess.run(
        [sys.executable, "-m", "rag", "keys", "revoke", "revoked"], cwd=ROOT, env=api_app.env, check=True, timeout=60
    )
    with pytest.raises(openai.AuthenticationError):
        client(api_app, key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    with sqlite3.connect(api_app.feedback_db) as db:  # only its digest is kept
        assert key not in str(db.execute("SELECT * FROM api_keys").fetchall())


def test_a_key_past_its_rate_gets_429_and_another_key_is_not_slowed(api_app):
    busy, other = client(api_app, new_api_key(api_app, "rate")), client(api_app, new_api_key(api_app, "rate-other"))
    ask = [{"role": "user", "content": UNANSWERABLE}]
    for _ in range(API_RATE_PER_MINUTE):
        busy.chat.completions.create(model=MODEL, messages=ask)
    with pytest.raises(openai.RateLimitError) as e:
        busy.chat.completions.create(model=MODEL, messages=ask)
    assert e.value.status_code == 429 and e.value.code == "rate_limit_exceeded"
    assert int(e.value.response.headers["retry-after"]) >= 1
    assert other.chat.completions.create(model=MODEL, messages=ask).model_extra["abstained"]


def test_malformed_and_oversized_requests_get_400_and_no_traceback(api_app):
    log_before = len(api_app.log_text())
    key = new_api_key(api_app, "malformed")
    api = client(api_app, key)
    with pytest.raises(openai.BadRequestError) as e:
        api.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x " * 2000}])
    assert e.value.code == "question_too_long"
    with pytest.raises(openai.BadRequestError):
        api.chat.completions.create(model=MODEL, messages=[{"role": "assistant", "content": "no question"}])
    url, auth = f"{api_app.url}v1/chat/completions", {"Authorization": f"Bearer {key}"}
    bodies = [
        b"{not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"messages": "hello"}',
        b'{"messages": [{"role": "user", "content": 5}]}',
        b'{"messages": [{"role": "wizard", "content": "hi"}]}',
        b'{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}',
        b'{"messages": [{"role": "user", "content": "hi"}], "stream": "yes"}',
    ]
    for body in bodies:
        r = httpx.post(url, content=body, headers={**auth, "content-type": "application/json"})
        assert r.status_code == 400, (body, r.text)
        assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    r = httpx.post(url, content=b"{" + b" " * 300_000 + b"}", headers=auth)  # over the server's body cap
    assert r.status_code == 413 and r.json()["error"]["type"] == "invalid_request_error"
    time.sleep(0.5)  # the server's log written
    log = api_app.log_text()[log_before:]
    assert "Traceback" not in log and "Exception" not in log


def test_keys_made_and_revoked_in_the_staff_tab(api_app):
    staff = api_app.client()
    rows, key, note = staff.predict(STAFF_PASSWORD, "staff-made", api_name="/admin_key_create")
    assert key.startswith("rag-") and "not shown again" in note
    assert ["staff-made", key[:10] + "…"] == rows["data"][-1][:2]
    assert client(api_app, key).models.list().data[0].id == MODEL
    rows, shown, _ = staff.predict(STAFF_PASSWORD, "staff-made", api_name="/admin_key_revoke")
    assert shown == "" and rows["data"][-1][3].startswith("revoked")
    with pytest.raises(openai.AuthenticationError):
        client(api_app, key).models.list()
    _rows, origins, snippet, _ = staff.predict(STAFF_PASSWORD, api_name="/admin_keys")
    assert snippet == f'<script src="{api_app.url}embed.js" defer></script>'
    with pytest.raises(Exception, match="Wrong staff password"):
        staff.predict("wrong-password", "sneaky", api_name="/admin_key_create")


def test_only_allowed_origins_may_call_from_a_browser(api_app, host_sites):
    headers = {"Authorization": f"Bearer {new_api_key(api_app, 'origins')}"}
    r = httpx.get(f"{api_app.url}v1/models", headers={**headers, "Origin": host_sites.allowed})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == host_sites.allowed
    r = httpx.get(f"{api_app.url}v1/models", headers={**headers, "Origin": host_sites.other})
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    page = httpx.get(f"{api_app.url}embed")
    assert page.headers["content-security-policy"] == f"frame-ancestors 'self' {host_sites.allowed}"


def test_default_model_answer_keeps_the_pipeline_guarantees(llm_app):
    api = client(llm_app, new_api_key(llm_app, "llm"))
    response = api.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    content, extra = response.choices[0].message.content, response.model_extra
    if extra["abstained"]:
        assert extra["citations"] == [] and extra["related"]
    else:
        assert_cited(content, extra["citations"])


def test_streams_left_early_give_their_place_back(api_app):
    """More streams than the API answers at once (``api_max_in_flight``, 2), each left after its
    first line: the next question is still answered at once."""
    key = new_api_key(api_app, "left-early")
    body = {"messages": [{"role": "user", "content": QUESTION}], "stream": True}
    for _ in range(4):
        with httpx.stream(
            "POST", f"{api_app.url}v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}
        ) as r:
            assert r.status_code == 200
            assert next(r.iter_lines()).startswith("data: ")
    time.sleep(1.0)
    t0 = time.perf_counter()
    response = client(api_app, key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": UNANSWERABLE}], timeout=20
    )
    assert response.model_extra["abstained"] and time.perf_counter() - t0 < 20
