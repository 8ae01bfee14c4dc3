"""Serving under load, through the real app over HTTP with real concurrent gradio_client sessions:
fair use of the language model, bounded waits, and the load test of ``benchmarks/loadtest.py``.

The fairness tests need a language model that takes a known time. ``echo_model`` is a small
OpenAI-compatible server on loopback (the ``openai`` backend talks to it as to any): after
``delay`` seconds it answers with the passage sentence sharing most words with the question,
citing it, and counts the questions it was asked. The app, its index, retrieval, the evidence
gate, the grounding check and the web layer are the real ones. Clients are told apart by the
address they come from (``X-Forwarded-For``, trusted from loopback like a reverse proxy's).
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rag.web.serving import Admission, ModelLine
from rag.web.texts import chat_texts

from .conftest import ROOT, free_port, start_app

ANSWERABLE = "Which semiconductor fields does the China-ROK zone want to cooperate in?"
ABSTAIN = "How do I bake sourdough bread at home?"
BETHUNE = "What does the Norman Bethune Center for Medical Sciences focus on?"


# --- the fair line, in-process ------------------------------------------------------------------


def test_line_serves_one_ticket_per_client_per_round_and_keeps_honest_clients_in_order():
    line = ModelLine(max_waiting=20, max_wait_s=1000)
    flood = [line.join("script") for _ in range(5)]
    first_honest = line.join("a")
    second_honest = line.join("b")
    order = []
    holder = flood[0]
    assert line.wait(holder, 0) and line.ahead(holder) == 0
    while True:
        order.append(holder)
        line.leave(holder)
        waiting = [t for t in [*flood, first_honest, second_honest] if t not in order]
        if not waiting:
            break
        holder = next(t for t in waiting if line.wait(t, 0))
    names = ["script" if t in flood else ("a" if t is first_honest else "b") for t in order]
    # the newcomers get in after one more of the script's questions, not after all five
    assert names == ["script", "script", "a", "b", "script", "script", "script"]


def test_line_refuses_when_full_or_when_the_estimate_is_past_the_bound():
    line = ModelLine(max_waiting=2, max_wait_s=10)
    running = line.join("x")
    assert line.wait(running, 0)
    assert line.estimate_s(running) == 0.0
    waiting = [line.join("y"), line.join("z")]
    assert line.join("w") is None  # two waiting: full
    assert [line.ahead(t) for t in waiting] == [1, 2]
    assert line.estimate_s(waiting[0]) is None  # no answer timed yet
    line.answer_s = 6.0  # as if measured
    line.leave(waiting[1])
    assert line.join("v") is None  # 1 running + 1 waiting ahead: about 6 + 6 s > 10 s
    assert 0 < line.estimate_s(waiting[0]) <= 6.0


def test_admission_caps_per_conversation_and_per_client():
    admission = Admission(per_client=2)
    assert admission.enter("1.2.3.4", "s1") is None
    assert admission.enter("1.2.3.4", "s1") == "one_at_a_time"
    assert admission.enter("1.2.3.4", "s2") is None
    assert admission.enter("1.2.3.4", "s3") == "too_many"
    assert admission.enter("5.6.7.8", "s4") is None  # another client is not affected
    admission.leave("1.2.3.4", "s1")
    assert admission.enter("1.2.3.4", "s3") is None


# --- a language model that takes a known time -----------------------------------------------------


_PASSAGE = re.compile(r"^\[(\d+)\] \([^\n]*\)\n(.*?)(?=\n\n\[\d+\] \(|\n\nRules:)", re.M | re.S)


class EchoModel:
    """An OpenAI-compatible chat-completions server on loopback (streaming), see the module doc."""

    def __init__(self, delay: float):
        self.delay = delay
        self.questions: list[str] = []
        self._lock = threading.Lock()
        model = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                self._send(200, b'{"object": "list", "data": [{"id": "echo", "object": "model"}]}', "application/json")

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                text = model.answer(body["messages"][-1]["content"])
                time.sleep(model.delay)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for piece in re.findall(r"\S+\s*", text):
                    chunk = {
                        "id": "echo",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": "echo",
                        "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

            def _send(self, code, data, kind):
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, content: str) -> str:
        question = (re.findall(r"^(?:Question|Last question): (.*)$", content, re.M) or [content])[-1]
        with self._lock:
            self.questions.append(question)
        if "Passages:" not in content:  # the rewrite of a follow-up or a translated question
            return question
        words = set(re.findall(r"\w{4,}", question.lower()))
        best = (0, "The documents do not say.", 0)
        for n, passage in _PASSAGE.findall(content):
            for sentence in re.split(r"(?<=[.!?])\s+", passage):
                score = len(words & set(re.findall(r"\w{4,}", sentence.lower())))
                if score > best[0]:
                    best = (score, sentence.strip().rstrip("."), int(n))
        return f"{best[1]} [{best[2]}]." if best[2] else best[1]

    def asked(self, text: str) -> int:
        with self._lock:
            return sum(text in q for q in self.questions)

    def close(self):
        self.server.shutdown()


@pytest.fixture(scope="module")
def echo_model():
    model = EchoModel(delay=4.0)
    yield model
    model.close()


def model_app(name, tmp_path_factory, public_app, echo_model, **settings):
    """The real app with the openai backend on ``echo_model``, over public_app's corpus and index."""
    return start_app(
        name,
        tmp_path_factory.mktemp(name),
        corpus_dir=public_app.corpus_dir,
        index_dir=public_app.index_dir,
        backend="openai",
        openai_base_url=echo_model.base_url,
        openai_model="echo",
        **settings,
    )


def client_from(app, address: str):
    from gradio_client import Client

    return Client(app.url, verbose=False, headers={"X-Forwarded-For": address})


def last_text(chat: list) -> str:
    content = chat[-1]["content"]
    return "".join(p.get("text", "") for p in content) if isinstance(content, list) else str(content)


def timed_ask(client, question: str, t0: float) -> dict:
    job = client.submit(question, api_name="/ask")
    chat, _box, record = job.result(timeout=300)
    return {"record": record, "done": time.monotonic() - t0, "texts": [last_text(o[0]) for o in job.outputs() if o[0]]}


# --- fairness over HTTP -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fair_app(tmp_path_factory, public_app, echo_model):
    app = model_app("fair", tmp_path_factory, public_app, echo_model, serve_max_per_client="4")
    yield app
    app.stop()


def test_one_client_cannot_hold_everyone_else_behind_its_questions(fair_app, echo_model):
    """A script floods /ask from one address with ten sessions while each answer takes the model
    4 s. Its questions past four are refused at once; an abstention from another investor is
    answered without waiting for the model; an answerable question from a third investor gets the
    model after at most one more of the script's, and sees its place and an estimate meanwhile."""
    en = chat_texts("en")
    with ThreadPoolExecutor(12) as pool:
        script_clients = [client_from(fair_app, "198.51.100.9") for _ in range(10)]
        abstainer, investor = client_from(fair_app, "192.0.2.5"), client_from(fair_app, "203.0.113.7")
        t0 = time.monotonic()
        flood = [pool.submit(timed_ask, c, f"{ANSWERABLE} (script {i})", t0) for i, c in enumerate(script_clients)]
        time.sleep(1.0)
        mine = pool.submit(timed_ask, investor, ANSWERABLE, t0)
        time.sleep(0.5)
        quick = pool.submit(timed_ask, abstainer, ABSTAIN, t0)
        flood, mine, quick = [f.result() for f in flood], mine.result(), quick.result()

    refused = [f for f in flood if f["record"].get("busy")]
    served = [f for f in flood if not f["record"].get("busy")]
    assert len(served) == 4 and all(f["record"]["answer"] == en["too_many"] for f in refused), [
        f["record"]["answer"] for f in flood
    ]
    assert all(f["done"] < 3.0 for f in refused)  # refused at once, not after a wait

    assert quick["record"]["abstained"] and not quick["record"].get("busy")
    assert quick["done"] - 1.5 < 3.0, quick["done"]  # the model was busy for 16 s and more
    assert echo_model.asked("sourdough") == 0

    assert not mine["record"].get("busy") and mine["record"]["backend"] == "openai"
    later = sorted(f["done"] for f in served)
    assert mine["done"] < later[2], (mine["done"], later)  # before the script's third and fourth answers
    places = [int(m.group(1)) for text in mine["texts"] if (m := re.search(r"(\d+) ahead of you", text))]
    assert places and places[0] >= 2 and places == sorted(places, reverse=True), mine["texts"]
    assert any(re.search(r"\d+ ahead of you, about \d+ s", text) for text in mine["texts"]), mine["texts"]


def test_one_conversation_asks_one_question_at_a_time(fair_app):
    client = client_from(fair_app, "192.0.2.77")
    first = client.submit(ANSWERABLE, api_name="/ask")
    time.sleep(0.5)
    _chat, _box, second = client.submit("What does the Norman Bethune Center focus on?", api_name="/ask").result(
        timeout=60
    )
    assert second["busy"] and second["answer"] == chat_texts("en")["one_at_a_time"]
    chat, _box, record = first.result(timeout=300)
    assert not record.get("busy") and record["question"] == ANSWERABLE


# --- bounded waits -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bounded_app(tmp_path_factory, public_app, echo_model):
    app = model_app("bounded", tmp_path_factory, public_app, echo_model, serve_max_wait_s="6", serve_max_waiting="2")
    yield app
    app.stop()


def test_a_long_wait_ends_in_a_busy_message_in_the_investors_language(bounded_app):
    """The model takes 4 s an answer and the wait is bounded at 6 s: of three investors asking at
    once the third would wait 8 s, and is told (in Chinese) the assistant is busy after 6 s; a
    fourth finds two waiting already and is told at once, in Korean."""
    with ThreadPoolExecutor(4) as pool:
        clients = [client_from(bounded_app, f"203.0.113.{n}") for n in (21, 22, 23, 24)]
        t0 = time.monotonic()
        first = pool.submit(timed_ask, clients[0], ANSWERABLE, t0)
        time.sleep(0.5)
        second = pool.submit(timed_ask, clients[1], BETHUNE, t0)
        time.sleep(0.5)
        third = pool.submit(timed_ask, clients[2], "中韩示范区在半导体方面有哪些合作？", t0)
        time.sleep(0.5)
        fourth = pool.submit(timed_ask, clients[3], "중한 국제협력시범구는 어떤 산업 분야에서 협력하나요?", t0)
        first, second, third, fourth = (f.result() for f in (first, second, third, fourth))
    assert not first["record"].get("busy") and not second["record"].get("busy")
    assert third["record"]["busy"] and third["record"]["answer"] == chat_texts("zh")["busy"]
    assert 6.0 <= third["done"] - 1.0 < 9.0, third["done"]
    assert fourth["record"]["busy"] and fourth["record"]["answer"] == chat_texts("ko")["busy"]
    assert fourth["done"] - 1.5 < 3.0, fourth["done"]
    assert any("ahead of you" in text for text in second["texts"])


# --- the load test ---------------------------------------------------------------------------------------


@pytest.mark.server  # starts the web app
def test_load_test_small_run_has_no_errors_and_a_reindex_in_the_middle(tmp_path):
    """benchmarks/loadtest.py as `make loadtest` runs it, smaller: 6 sessions and 2 API clients (the
    ``openai`` client, issue 21) x 5 questions, every question in the question log once the app has stopped."""
    loadtest = _module(ROOT / "benchmarks" / "loadtest.py")  # (a site package is called `benchmarks` too)

    result = loadtest.load_test(
        "extractive", sessions=6, questions=5, deadline_s=600, answer_timeout=300, workdir=tmp_path, api_clients=2
    )
    assert loadtest.passed(result), result["errors"][:5] or result["reindex"]
    assert result["answers"] == 40 and result["all"]["p95_s"] is not None
    assert result["page"]["n"] == 30 and result["api"]["n"] == 10
    assert 0 < result["reindex"]["started_after_answers"] < 40
    assert result["logged"]["entries"] == result["asked"] == 40 and result["logged"]["lost_lines"] == 0
    print(json.dumps(result, indent=1, ensure_ascii=False))


def _module(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
