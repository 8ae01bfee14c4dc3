"""The OpenAI-compatible API: ``POST /v1/chat/completions`` (streamed or not) and ``GET /v1/models``,
served by the chat's own server (``rag.web.app.launch_options`` hands ``routes`` to Gradio's app),
so whatever was written for OpenAI's API (its clients, LangChain's ``ChatOpenAI``, chat front ends)
asks the assistant unchanged.

Owns the HTTP side only: the key (``Authorization: Bearer rag-...``, ``rag.store.keys``; none,
unknown or revoked: 401), the key's rate (``api_rate_per_minute``, in this process) and daily cap
(``api_daily_cap``, in the store), the request's shape (400), and the answer in OpenAI's shape.
The answering is the chat's (``rag.web.turns.Turn``): the same admission and fair line, with the key
as the client, and the same question log. The answer text keeps its ``[n]`` markers; beside
``choices`` the response carries ``citations`` (title, publisher, date, url, the quoted sentences),
``abstained`` with ``related`` reading, ``outcome``, ``language`` and ``notices``; a stream carries
them on its last chunk. Errors are ``{"error": {"message", "type", "param", "code"}}``; nothing of
an exception but its class name reaches a client (the log keeps the rest).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..answer.records import Answer
from ..store import FeedbackUnavailable
from .turns import ApiError, Turn

log = logging.getLogger(__name__)

MODEL_ID = "changchun-assistant"
MAX_MESSAGES = 64
ROLES = ("system", "developer", "user", "assistant")


def error_response(e: ApiError) -> JSONResponse:
    body = {"error": {"message": e.message, "type": e.type, "param": e.param, "code": e.code}}
    headers = {"Retry-After": str(max(1, round(e.retry_after)))} if e.retry_after else None
    return JSONResponse(body, status_code=e.status, headers=headers)


class RateWindow:
    """Questions per key in any ``window_s`` seconds, in this process."""

    def __init__(self, limit: int, window_s: float = 60.0):
        self.limit, self.window_s = limit, window_s
        self._times: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when the key may ask now (and it is counted), else seconds until it may."""
        now = time.monotonic()
        with self._lock:
            times = self._times.setdefault(key, deque())
            while times and times[0] <= now - self.window_s:
                times.popleft()
            if len(times) >= self.limit:
                return times[0] + self.window_s - now
            times.append(now)
            return 0.0


def parse_request(body: bytes, max_chars: int) -> tuple[str, list[dict], bool]:
    """The question, its conversation as the chat keeps it (``render.raw_history``: user and
    assistant turns, system messages left out) and whether to stream; ApiError 400 otherwise."""
    try:
        data = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "The request body is not valid JSON.", code="invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "'messages' must be a non-empty list.", param="messages", code="invalid_messages")
    if len(messages) > MAX_MESSAGES:
        raise ApiError(400, f"At most {MAX_MESSAGES} messages.", param="messages", code="too_many_messages")
    stream = data.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "'stream' must be true or false.", param="stream", code="invalid_stream")
    turns = [_message(m, i) for i, m in enumerate(messages)]
    turns = [t for t in turns if t["role"] in ("user", "assistant")]
    if not turns or turns[-1]["role"] != "user" or not turns[-1]["content"].strip():
        raise ApiError(400, "The last message must be the user's question.", param="messages", code="no_question")
    question = turns[-1]["content"].strip()
    if len(question) > max_chars:
        raise ApiError(
            400, f"The question is longer than {max_chars} characters.", param="messages", code="question_too_long"
        )
    history = [{"role": t["role"], "content": t["content"][: 4 * max_chars]} for t in turns[:-1]]
    return question, history, stream


def _message(m, i: int) -> dict:
    if not isinstance(m, dict) or m.get("role") not in ROLES:
        raise ApiError(400, f"messages[{i}] needs a role of {', '.join(ROLES)}.", param=f"messages[{i}]")
    content = m.get("content")
    if isinstance(content, list):  # content parts: the text ones are read, an image is refused
        if any(not isinstance(p, dict) or p.get("type") != "text" for p in content):
            raise ApiError(400, f"messages[{i}]: only text content is read.", param=f"messages[{i}].content")
        content = "".join(str(p.get("text") or "") for p in content)
    if not isinstance(content, str):
        raise ApiError(400, f"messages[{i}].content must be text.", param=f"messages[{i}].content")
    return {"role": m["role"], "content": content}


def citation_json(c: dict) -> dict:
    """A cited (or related) passage as the API gives it: where it is from and what it says."""
    text = c.get("text") or ""
    quotes = [text[a:b] for a, b in c.get("highlights") or []]
    return {
        "n": c.get("n"),
        "title": c.get("title") or "",
        "publisher": c.get("publisher") or "",
        "date": c.get("date") or "",
        "url": c.get("source") or "",
        "page": c.get("page"),
        "quote": " ".join(quotes),
        "quotes": quotes,
        "quote_translated": [x for x in c.get("translated") or [] if x],
        "passage": text,
        "doc_id": c.get("doc_id") or "",
        "chunk_id": c.get("chunk_id") or "",
    }


def answer_fields(record: dict) -> dict:
    """The extra fields of a response (and of a stream's last chunk) from the answer's page record."""
    return {
        "citations": [citation_json(c) for c in record.get("citations") or []],
        "abstained": bool(record.get("abstained")),
        "related": [citation_json(c) for c in record.get("related") or []],
        "outcome": record.get("outcome", ""),
        "language": record.get("language", ""),
        "notices": record.get("notices") or [],
    }


class ApiService:
    """The ``/v1`` endpoints over the runtime (see the module docstring)."""

    def __init__(self, runtime):
        self.runtime = runtime  # rag.web.startup.Runtime
        self.settings = runtime.settings
        self.rate = RateWindow(self.settings.api_rate_per_minute)
        self.lane = threading.BoundedSemaphore(self.settings.api_max_in_flight)  # rag.web.turns

    def routes(self) -> list[Route]:
        return [
            Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
            Route("/v1/models", self.models, methods=["GET"]),
        ]

    async def models(self, request: Request) -> Response:
        try:
            await run_in_threadpool(self.authorise, request)
        except ApiError as e:
            return error_response(e)
        return JSONResponse({"object": "list", "data": [_model()]})

    async def chat_completions(self, request: Request) -> Response:
        try:
            body = await request.body()
            turn = await run_in_threadpool(self._open, request, body)
        except ApiError as e:
            return error_response(e)
        except Exception:  # never a stack trace to the client: the log has it
            log.exception("API request failed")
            return error_response(ApiError(500, "The assistant failed to take the question.", "server_error"))
        if turn.stream:
            chunks = self._chunks(turn)
            # runs however the stream ended, a client that left included (its generator is then never
            # finished, and may never have begun): the turn's places are given back at once
            ended = BackgroundTask(_finish, chunks, turn)
            return StreamingResponse(chunks, media_type="text/event-stream", background=ended)
        try:
            answer = await run_in_threadpool(turn.answer)
        except ApiError as e:
            return error_response(e)
        finally:
            turn.close()
        return JSONResponse(self._completion(turn, answer))

    def authorise(self, request: Request) -> dict:
        auth = request.headers.get("authorization", "")
        key = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        try:
            found = self.runtime.store.keys.check(key)
        except FeedbackUnavailable:
            raise ApiError(503, "Keys cannot be checked right now; try again later.", "server_error") from None
        if found is None:
            message = "No API key given." if not key else "The API key is not valid (unknown or revoked)."
            raise ApiError(401, message, "invalid_request_error", code="invalid_api_key")
        return found

    def _open(self, request: Request, body: bytes) -> Turn:
        """Everything decided before an answer starts: the key, its limits, the request, a place."""
        key = self.authorise(request)
        question, history, stream = parse_request(body, self.settings.max_question_chars)
        wait = self.rate.take(key["name"])
        if wait:
            raise ApiError(
                429,
                f"Rate limit: {self.settings.api_rate_per_minute} questions per minute for this key.",
                "rate_limit_exceeded",
                code="rate_limit_exceeded",
                retry_after=wait,
            )
        if not self.runtime.store.keys.count_today(key["id"], self.settings.api_daily_cap):
            raise ApiError(
                429,
                f"Daily cap: {self.settings.api_daily_cap} questions per UTC day for this key.",
                "insufficient_quota",
                code="daily_cap_exceeded",
            )
        turn = Turn(self.runtime, question, history, f"api:{key['name']}", self.lane, stream)
        turn.open()
        return turn

    def _completion(self, turn: Turn, answer: Answer) -> dict:
        record = turn.record(answer)
        return {
            "id": turn.id,
            "object": "chat.completion",
            "created": turn.created,
            "model": MODEL_ID,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": record["answer"]}, "finish_reason": "stop"}
            ],
            **answer_fields(record),
        }

    def _chunks(self, turn: Turn):
        """The stream: a first chunk at once, the verified text as it comes, then the last chunk
        with the citations; an error after the stream began is an ``error`` event (OpenAI's way)."""
        try:
            yield _sse(_chunk(turn, {"role": "assistant", "content": ""}))
            answer = None
            for kind, value in turn.events():
                if kind == "delta":
                    yield _sse(_chunk(turn, {"content": value}))
                else:
                    answer = value
            yield _sse({**_chunk(turn, {}, "stop"), **answer_fields(turn.record(answer))})
            yield "data: [DONE]\n\n"
        except ApiError as e:
            yield _sse({"error": {"message": e.message, "type": e.type, "param": e.param, "code": e.code}})
        finally:
            turn.close()


def _finish(chunks, turn: Turn) -> None:
    try:
        chunks.close()  # a suspended stream runs its ``finally``
    except ValueError:  # still running in its thread (the client left mid-sentence): it stops at its next yield
        pass
    turn.close()


def _model() -> dict:
    return {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "changchun-investment-zones"}


def _chunk(turn: Turn, delta: dict, finish: str | None = None) -> dict:
    return {
        "id": turn.id,
        "object": "chat.completion.chunk",
        "created": turn.created,
        "model": MODEL_ID,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _sse(data: dict) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"
