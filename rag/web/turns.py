"""One API question answered the way the chat answers one (``rag.web.chat``), without a page:
the same admission (questions in flight per client; an API key is its own client, ``api:NAME``,
so no key can take the page's share), the same plan and fair line for the one model slot (a key
waits its turn like any page user, bounded by ``serve_max_wait_s``), the same pipeline with the
conversation as history, and the same question log (``rag.store.questions``: the entry says
nothing about who asked, nor which key). Beyond the chat's rules, the API as a whole answers at
most ``api_max_in_flight`` questions at once (its ``lane``; the others wait, bounded the same way):
answers that need no model (abstentions, the extractive backend) never wait in the model's line,
so without this bound many keys at once would take the CPU the page's answers need.

``Turn.open`` decides everything that can be refused before an answer starts (so a refusal is an
HTTP status, not half a stream); ``events`` then yields the verified text and the ``Answer``;
``close`` gives the place back and must always follow ``open``. A refusal is an ``ApiError``
carrying its HTTP status and OpenAI's error fields.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from ..answer.records import Answer
from ..store.questions import log_entry, new_entry
from ..text import detect_language
from .render import page_record
from .texts import chat_texts

log = logging.getLogger(__name__)

READY_WAIT_S = 30.0  # an API question during start-up waits this long, then is told to come back


class ApiError(Exception):
    """A refusal in OpenAI's shape: HTTP ``status`` and the error's message, type, param, code."""

    def __init__(
        self,
        status: int,
        message: str,
        type: str = "invalid_request_error",  # noqa: A002 (OpenAI's field name)
        param: str | None = None,
        code: str | None = None,
        retry_after: float = 0.0,
    ):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code
        self.retry_after = retry_after


class Turn:
    """One API question from admission to its logged answer (see the module docstring)."""

    def __init__(
        self, runtime, question: str, history: list[dict], client: str, lane: threading.Semaphore, stream: bool = False
    ):
        self.runtime = runtime  # rag.web.startup.Runtime
        self.lane = lane
        self.question, self.history, self.client, self.stream = question, history, client, stream
        self.lang = detect_language(question)
        self.started = time.perf_counter()
        self.id = "chatcmpl-" + uuid.uuid4().hex
        self.created = int(time.time())
        self._admitted = False
        self._in_lane = False
        self._ticket = None
        self._closing = threading.Lock()  # the stream's end and its generator may both close it

    def open(self) -> None:
        runtime = self.runtime
        refused = runtime.admission.enter(self.client, None)
        if refused:  # said in the question's language, as the chat says it
            text = chat_texts(self.lang)[refused]
            self._log(Answer.refused(self.question, text, self.lang))
            raise ApiError(429, text, "rate_limit_exceeded", code="too_many_in_flight", retry_after=5)
        self._admitted = True
        try:
            self._in_lane = self.lane.acquire(timeout=runtime.line.max_wait_s)
            if not self._in_lane:
                raise self._busy()
            self._place()
        except BaseException:
            self.close()
            raise

    def _place(self) -> None:
        runtime = self.runtime
        if not runtime.ready.wait(READY_WAIT_S):
            raise ApiError(
                503, "The assistant is starting; try again shortly.", "server_error", code="starting", retry_after=10
            )
        if runtime.error:
            raise ApiError(503, "The assistant is not available: " + runtime.public(runtime.error), "server_error")
        try:
            runtime.follow_index()
            plan = runtime.assistant.plan(self.question, self.history)
        except Exception as e:
            raise self._failed(e) from None
        if plan.needs_model:  # the others never wait behind a model answer
            self._ticket = runtime.line.join(self.client)
            if self._ticket is None:
                raise self._busy()

    def events(self):
        """("delta", verified text) ... then ("final", Answer); ApiError when it cannot finish."""
        line = self.runtime.line
        if self._ticket is not None:
            while not line.wait(self._ticket, 1.0):
                if self._ticket.waited_s() > line.max_wait_s:
                    raise self._busy()
        final = None
        try:
            for event in self.runtime.assistant.ask_stream(self.question, self.history):
                if event.kind == "delta":
                    yield "delta", event.text
                elif event.kind == "final" and event.answer is not None:
                    final = event.answer
        except Exception as e:  # the class name to the client, the rest to the log
            raise self._failed(e) from None
        if final is None:
            final = Answer(question=self.question, abstained=True, language=self.lang)
        self._log(final)
        yield "final", final

    def answer(self) -> Answer:
        for kind, value in self.events():
            if kind == "final":
                return value
        raise ApiError(500, "The assistant ended without an answer.", "server_error")

    def record(self, answer: Answer) -> dict:
        """The answer as the page gets it (no server paths in notices; ``render.page_record``)."""
        return page_record(answer, self.runtime.public)

    def close(self) -> None:
        with self._closing:
            if self._ticket is not None:
                self.runtime.line.leave(self._ticket)
                self._ticket = None
            if self._in_lane:
                self.lane.release()
                self._in_lane = False
            if self._admitted:
                self.runtime.admission.leave(self.client, None)
                self._admitted = False

    def _busy(self) -> ApiError:
        text = chat_texts(self.lang)["busy"]
        self._log(Answer.refused(self.question, text, self.lang))
        return ApiError(503, text, "server_error", code="busy", retry_after=60)

    def _failed(self, error: Exception) -> ApiError:
        log.error("API answering failed for %r", self.question, exc_info=error)
        name = error.__class__.__name__
        self._log(Answer.failed(self.question, f"failed ({name})", self.lang, name))
        return ApiError(500, f"The assistant failed to answer ({name}). Please try again.", "server_error")

    def _log(self, answer: Answer) -> None:
        """Queue the question for the question log, as the chat does (never blocks or raises)."""
        writer = self.runtime.question_log
        if writer is not None:
            writer.record(log_entry(new_entry(), answer, (time.perf_counter() - self.started) * 1000))
