"""Serving the public chat fairly and safely: who may ask how much at once, who gets the language
model next, how large a request may be, and what of the server the public may see.

Owns, with nothing here knowing about Gradio's components:
  * ``Admission``: questions in flight (waiting or being answered) per client and per
    conversation; a client is its network address (``client_address``), a conversation its
    session. The address, not the session, is the client: a caller picks its own session ids (a
    script can take a new one for every question), not its address. Behind a reverse proxy on
    the same machine the proxy's ``X-Forwarded-For`` gives the address (uvicorn trusts it from
    loopback only);
  * ``ModelLine``: the one language-model slot (llama.cpp runs one generation at a time anyway)
    with a fair line in front of it: start-time fair queuing per client, so a client with many
    questions waiting gets one turn per round and a newcomer waits behind at most one of them;
    each waiting ticket knows how many are ahead and an estimate of its wait (from the measured
    times of recent model answers); the line has a length bound and a wait bound, past which a
    question is refused with "busy" instead of a long silence;
  * ``RequestLimits``: an ASGI middleware capping request bodies and refusing Gradio's upload
    route unless uploads are allowed (the app has a staff tab and the client's address passed
    the staff password recently);
  * ``public_text``: server paths and URLs cut from a text before the public sees it (notices,
    ``/status``, errors); the logs keep them whole.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

LOCAL_CLIENT = "local"  # the client of calls made in-process (no HTTP request)


def client_address(request) -> str:
    """The network address of a Gradio request's client (``gr.Request``), or ``LOCAL_CLIENT``."""
    host = getattr(getattr(request, "client", None), "host", None)
    return str(host) if host else LOCAL_CLIENT


def session_id(request) -> str | None:
    return getattr(request, "session_hash", None) or None


# --- questions in flight per client and per conversation ----------------------------------------


class Admission:
    """Counts the questions in flight; ``enter`` refuses one over a limit, ``leave`` ends one."""

    def __init__(self, per_client: int, per_session: int = 1):
        self.per_client = per_client
        self.per_session = per_session
        self._lock = threading.Lock()
        self._clients: Counter[str] = Counter()
        self._sessions: Counter[str] = Counter()

    def enter(self, client: str, session: str | None) -> str | None:
        """None when admitted, else why not: ``one_at_a_time`` (this conversation has a question
        in flight) or ``too_many`` (this client has ``per_client`` in flight)."""
        with self._lock:
            if session is not None and self._sessions[session] >= self.per_session:
                return "one_at_a_time"
            if self._clients[client] >= self.per_client:
                return "too_many"
            self._clients[client] += 1
            if session is not None:
                self._sessions[session] += 1
            return None

    def leave(self, client: str, session: str | None) -> None:
        with self._lock:
            _decrement(self._clients, client)
            if session is not None:
                _decrement(self._sessions, session)

    def in_flight(self, client: str) -> int:
        with self._lock:
            return self._clients[client]


def _decrement(counter: Counter[str], key: str) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]


# --- the language-model slot and its fair line ---------------------------------------------------


@dataclass(eq=False)
class Ticket:
    client: str
    tag: int  # virtual start time (fair queuing): the line is served in (tag, seq) order
    seq: int
    joined: float = field(default_factory=time.monotonic)
    started: float | None = None  # when it got the slot

    @property
    def key(self) -> tuple[int, int]:
        return self.tag, self.seq

    def waited_s(self) -> float:
        return (self.started or time.monotonic()) - self.joined


class ModelLine:
    """One slot for model answers and a fair line of tickets waiting for it.

    ``join`` returns a ticket (None: refused, the line is full or the wait would be too long);
    ``wait(ticket, timeout)`` is True once the ticket holds the slot; ``leave(ticket)`` gives
    the slot up (or leaves the line) and must always follow ``join``.
    """

    def __init__(self, max_waiting: int, max_wait_s: float, smoothing: float = 0.3):
        self.max_waiting = max_waiting
        self.max_wait_s = max_wait_s
        self.smoothing = smoothing
        self._cond = threading.Condition()
        self._waiting: list[Ticket] = []  # in service order
        self._holder: Ticket | None = None
        self._clock = 0  # the tag of the ticket served last
        self._last_tag: dict[str, int] = {}
        self._seq = itertools.count()
        self.answer_s: float | None = None  # smoothed time a model answer holds the slot

    def join(self, client: str) -> Ticket | None:
        with self._cond:
            if len(self._waiting) >= self.max_waiting:
                return None
            tag = max(self._clock, self._last_tag.get(client, 0)) + 1
            ticket = Ticket(client, tag, next(self._seq))
            self._waiting.append(ticket)
            self._waiting.sort(key=lambda t: t.key)
            estimate = self._estimate(ticket)
            if estimate is not None and estimate > self.max_wait_s:
                self._waiting.remove(ticket)
                return None
            self._last_tag[client] = tag
            self._grant()
            return ticket

    def wait(self, ticket: Ticket, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._holder is ticket, timeout)

    def leave(self, ticket: Ticket) -> None:
        with self._cond:
            if self._holder is ticket:
                held = time.monotonic() - (ticket.started or ticket.joined)
                a = self.smoothing
                self.answer_s = held if self.answer_s is None else (1 - a) * self.answer_s + a * held
                self._holder = None
            elif ticket in self._waiting:
                self._waiting.remove(ticket)
            self._grant()

    def ahead(self, ticket: Ticket) -> int:
        """Questions to be answered before this one (the one being answered included)."""
        with self._cond:
            return self._ahead(ticket)

    def estimate_s(self, ticket: Ticket) -> float | None:
        """Seconds until this ticket gets the slot (None until a model answer was timed)."""
        with self._cond:
            return self._estimate(ticket)

    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)

    def _grant(self) -> None:
        if self._holder is None and self._waiting:
            self._holder = self._waiting.pop(0)
            self._holder.started = time.monotonic()
            self._clock = self._holder.tag
            self._cond.notify_all()

    def _ahead(self, ticket: Ticket) -> int:
        if self._holder is ticket:
            return 0
        before = self._waiting.index(ticket) if ticket in self._waiting else len(self._waiting)
        return before + (self._holder is not None)

    def _estimate(self, ticket: Ticket) -> float | None:
        if self.answer_s is None or self._holder is ticket:
            return None if self._holder is not ticket else 0.0
        before = self._ahead(ticket) - (self._holder is not None)
        current = 0.0
        if self._holder is not None:
            running = time.monotonic() - (self._holder.started or self._holder.joined)
            current = max(self.answer_s - running, 0.1 * self.answer_s)
        return current + before * self.answer_s


# --- request size limits and the upload route ---------------------------------------------------

UPLOAD_ROUTE = "/gradio_api/upload"
STAFF_FIRST = "Enter the staff password and press 'Show documents' before choosing files."


class RequestLimits:
    """ASGI middleware: a request body over ``max_body`` bytes (``upload_max_body`` on the upload
    route) is refused with 413 before it is read, one without a declared length with 411; the
    upload route answers 404 when ``uploads_allowed`` is None (no staff tab: no upload exists),
    else 403 unless ``uploads_allowed(client address)`` is True."""

    def __init__(self, app, max_body: int, upload_max_body: int, uploads_allowed: Callable[[str], bool] | None):
        self.app = app
        self.max_body = max_body
        self.upload_max_body = upload_max_body
        self.uploads_allowed = uploads_allowed

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        upload = scope["path"].rstrip("/").endswith(UPLOAD_ROUTE)
        if upload:
            client = (scope.get("client") or (LOCAL_CLIENT,))[0]
            if self.uploads_allowed is None:
                return await _refuse(send, 404, "Not Found")
            if not self.uploads_allowed(client):
                return await _refuse(send, 403, STAFF_FIRST)
        if scope["method"] in ("POST", "PUT", "PATCH"):
            api = scope["path"].startswith("/v1/")
            headers = dict(scope.get("headers") or [])
            length = headers.get(b"content-length")
            limit = self.upload_max_body if upload else self.max_body
            if length is None:
                if b"chunked" in headers.get(b"transfer-encoding", b""):
                    return await _refuse(send, 411, "Length Required", api)
            elif not length.isdigit() or int(length) > limit:
                return await _refuse(send, 413, f"Request too large: at most {limit // 1024} KB", api)
        return await self.app(scope, receive, send)


async def _refuse(send, status: int, message: str, api: bool = False) -> None:
    """Plain text, or for the OpenAI-compatible API (``api``) its error shape (``rag.web.api``)."""
    kind = b"text/plain; charset=utf-8"
    body = message.encode("utf-8")
    if api:
        kind = b"application/json"
        error = {"message": message, "type": "invalid_request_error", "param": None, "code": f"http_{status}"}
        body = json.dumps({"error": error}).encode("utf-8")
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# --- what the public may see ----------------------------------------------------------------------

HIDDEN_PATH = "(server path)"
HIDDEN_ADDRESS = "(server address)"
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>)\]]+", re.I)
_POSIX_PATH = re.compile(r"(?<![\w.:/~-])(?:~|\.{1,2})?/(?:[\w.@+-]+/?)+")
_WINDOWS_PATH = re.compile(r"\b[A-Za-z]:\\[^\s'\"<>]*")
# an IP address (with or without a port), or a host name with a port (db.internal:5432, localhost:8000)
_HOST_PORT = re.compile(
    r"\b(?:\d{1,3}(?:\.\d{1,3}){3}(?::\d{2,5})?|(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+):\d{2,5})\b", re.I
)


def public_text(text: str | None, known: Iterable[str | Path] = ()) -> str:
    """``text`` with server paths and network addresses replaced by placeholders: the ``known``
    ones first (folders and URLs from the settings), then anything that looks like one."""
    s = str(text or "")
    for value in sorted({str(k) for k in known if k and len(str(k)) > 1}, key=len, reverse=True):
        s = s.replace(value, HIDDEN_ADDRESS if "://" in value else HIDDEN_PATH)
    s = _URL.sub(HIDDEN_ADDRESS, s)
    s = _WINDOWS_PATH.sub(HIDDEN_PATH, s)
    s = _POSIX_PATH.sub(HIDDEN_PATH, s)
    return _HOST_PORT.sub(HIDDEN_ADDRESS, s)


def settings_secrets(settings) -> list[str]:
    """The paths and addresses in ``settings`` that must not reach the public."""
    values: list[str | Path] = [
        settings.corpus_dir,
        settings.index_dir,
        settings.cache_dir,
        settings.models_dir,
        settings.feedback_db,
        settings.openai_base_url,
        settings.gguf_model if "/" in settings.gguf_model else "",
        settings.transformers_model_dir or "",
        Path.home(),
    ]
    if settings.feedback_url:
        values.append(settings.feedback_url)
    out = []
    for v in values:
        if v:
            out.append(str(v))
            if isinstance(v, Path):
                out.append(str(Path(v).resolve()))
    return out
