"""The chat on another website: the embeddable page, the snippet that puts it there, and who may.

Owns:
  * the page ``/embed`` (a second page of the same Gradio app, so it shares the chat's answering,
    fair serving and question log): the conversation and its sources panel as the chat renders
    them (``render.render_chat``), a question box, "new conversation". The conversation is kept
    in the browser (``gr.BrowserState``: localStorage of this server's origin, inside the frame), so
    it survives the host site's page loads; the labels follow ``?lang=en|zh|ko`` (the snippet
    passes the host page's ``<html lang>``), the answers the question's language as in the chat;
  * ``/embed.js``: the snippet's script (``<script src=".../embed.js" defer></script>``): a chat
    button in the host page's corner opening the page in an iframe (open or closed across the host's
    page loads);
  * ``EmbedPolicy``: an ASGI middleware saying who may embed and call: every page response carries
    ``Content-Security-Policy: frame-ancestors 'self' ORIGINS``, so only allowed sites can frame
    it; ``/v1`` answers an allowed origin with CORS headers and refuses (403) a browser page from
    any other (requests without an ``Origin``, from servers and scripts, are not browsers' and pass).
    The origins are ``embed_origins`` from the settings plus those staff allow in the staff tab
    (``rag.store.keys``), read again every few seconds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import gradio as gr
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..store import FeedbackUnavailable
from ..store.keys import AccessError, check_origin
from .render import new_session, render_chat
from .texts import UI_LABELS

log = logging.getLogger(__name__)

KEPT_TURNS = 20  # the conversation kept in the browser: its last turns
ORIGINS_TTL_S = 5.0


class Origins:
    """The origins allowed to embed the chat: the settings' and staff's (cached ``ttl_s``)."""

    def __init__(self, settings, keys, ttl_s: float = ORIGINS_TTL_S):
        self.configured = set()
        for given in filter(None, re.split(r"[\s,]+", settings.embed_origins or "")):
            try:
                self.configured.add(check_origin(given))
            except AccessError as e:  # never into the header: a '*' or a path would change its meaning
                log.warning("embed_origins: %s (left out)", e)
        self.keys = keys  # rag.store.keys.ApiKeys
        self.ttl_s = ttl_s
        self._cached: tuple[float, frozenset[str]] = (float("-inf"), frozenset())
        self._lock = threading.Lock()

    def __call__(self) -> frozenset[str]:
        with self._lock:
            at, found = self._cached
            if time.monotonic() - at < self.ttl_s:
                return found
            try:
                found = frozenset(self.configured | set(self.keys.origins()))
            except FeedbackUnavailable:
                found = frozenset(self.configured)
            self._cached = (time.monotonic(), found)
            return found

    def forget(self) -> None:
        """Read them again at the next request (staff changed them)."""
        with self._lock:
            self._cached = (float("-inf"), frozenset())


def same_origin(origin: str, host: str | None) -> bool:
    return bool(host) and urlsplit(origin).netloc.lower() == host.lower()


class EmbedPolicy:
    """ASGI middleware: frame-ancestors on the pages, CORS and the origin check on ``/v1``."""

    def __init__(self, app, origins: Callable[[], frozenset[str]]):
        self.app = app
        self.origins = origins

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = self.origins()
        if scope["path"].startswith("/v1/") or scope["path"] == "/v1":
            if origin and not same_origin(origin, headers.get("host")) and origin.lower() not in allowed:
                body = json.dumps(
                    {
                        "error": {
                            "message": "This web origin may not call the API from a browser.",
                            "type": "invalid_request_error",
                            "param": None,
                            "code": "origin_not_allowed",
                        }
                    }
                ).encode()
                response = Response(body, 403, media_type="application/json")
                return await response(scope, receive, send)
            return await self.app(scope, receive, _with_headers(send, _cors(origin) if origin else {}))
        ancestors = " ".join(["'self'", *sorted(allowed)])
        policy = {"content-security-policy": f"frame-ancestors {ancestors}"}
        return await self.app(scope, receive, _with_headers(send, policy))


def _cors(origin: str) -> dict[str, str]:
    return {"access-control-allow-origin": origin, "vary": "Origin"}


def _with_headers(send, extra: dict[str, str]):
    async def sending(message):
        if message["type"] == "http.response.start" and extra:
            headers = MutableHeaders(scope=message)
            for k, v in extra.items():
                headers[k] = v
        await send(message)

    return sending


# --- the snippet's script ---------------------------------------------------------------------------

SCRIPT = """(function () {
  var me = document.currentScript, base = new URL(me.src).origin;
  var lang = (me.dataset.lang || document.documentElement.lang || navigator.language || "en").slice(0, 2).toLowerCase();
  var labels = {en: "Ask the investment assistant", zh: "投资咨询助手", ko: "투자 상담 도우미"};
  var label = me.dataset.label || labels[lang] || labels.en;
  var key = "rag-chat-open", frame = null;
  var button = document.createElement("button");
  button.id = "rag-chat-button"; button.type = "button"; button.textContent = label; button.title = label;
  button.style.cssText = "position:fixed;right:20px;bottom:20px;z-index:2147483000;padding:12px 18px;" +
    "border:0;border-radius:24px;background:#1d4ed8;color:#fff;font:600 15px sans-serif;cursor:pointer;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.25)";
  function show(open) {
    if (open && !frame) {
      frame = document.createElement("iframe");
      frame.id = "rag-chat-frame"; frame.title = label;
      frame.src = base + "/embed?lang=" + encodeURIComponent(lang);
      frame.style.cssText = "position:fixed;right:20px;bottom:76px;z-index:2147483000;" +
        "width:min(420px,calc(100vw - 40px));height:min(640px,calc(100vh - 100px));" +
        "border:1px solid #d1d5db;border-radius:12px;background:#fff;" +
        "box-shadow:0 8px 28px rgba(0,0,0,.25)";
      document.body.appendChild(frame);
    }
    if (frame) frame.style.display = open ? "block" : "none";
    try { sessionStorage.setItem(key, open ? "1" : ""); } catch (e) {}
  }
  button.addEventListener("click", function () { show(!frame || frame.style.display === "none"); });
  document.body.appendChild(button);
  try { if (sessionStorage.getItem(key)) show(true); } catch (e) {}
})();
"""


async def _script(request: Request) -> Response:
    return Response(SCRIPT, media_type="text/javascript", headers={"cache-control": "public, max-age=300"})


def routes() -> list[Route]:
    return [Route("/embed.js", _script, methods=["GET"])]


def snippet(base_url: str) -> str:
    """The one line a host site adds to its pages."""
    return f'<script src="{base_url.rstrip("/")}/embed.js" defer></script>'


# --- the embedded page --------------------------------------------------------------------------------


def kept(session) -> dict:
    """The conversation the browser kept, as the chat keeps one: its last ``KEPT_TURNS`` answered
    turns; anything else (an unfinished turn, a damaged or altered value) is dropped, and a value
    that still cannot be rendered starts a new conversation. Whatever it holds is escaped when shown."""
    if not isinstance(session, dict) or not isinstance(session.get("turns"), list):
        return new_session()
    turns = [
        t
        for t in session["turns"]
        if isinstance(t, dict) and isinstance(t.get("question"), str) and isinstance(t.get("answer"), dict)
    ]
    out = {**new_session(), "notices": [n for n in session.get("notices") or [] if isinstance(n, str)]}
    out["turns"] = turns[-KEPT_TURNS:]
    try:
        render_chat(out["turns"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return new_session()
    return out


class EmbedChat:
    """The embedded page's handlers over the chat's (``rag.web.chat.ChatTurns``)."""

    def __init__(self, chat):
        self.chat = chat

    def respond(self, message: str, session: dict, request: gr.Request = None):
        yield from self.chat.respond(message, kept(session), request)

    def restore(self, session: dict, request: gr.Request = None):
        """Page load: the kept conversation, and the labels of ``?lang=``."""
        chat = render_chat(kept(session)["turns"])
        lang = (request.query_params.get("lang", "") if request is not None else "")[:2].lower()
        labels = UI_LABELS.get(lang)
        if labels is None:
            return chat, gr.skip(), gr.skip(), gr.skip()
        return (
            chat,
            gr.update(placeholder=labels["rag_question_placeholder"], label=labels["rag_question"]),
            gr.update(value=labels["rag_send"]),
            gr.update(value=labels["rag_clear"]),
        )

    def clear(self):
        return [], new_session(), ""


def embed_page(demo: gr.Blocks, chat, settings, L) -> None:
    """The page's components and events (inside ``demo.route(...)``)."""
    service = EmbedChat(chat)
    # a fixed secret: the conversation stays readable after a restart of the server
    secret = hashlib.sha256(f"rag-embed:{settings.feedback_url or settings.feedback_db}".encode()).hexdigest()[:32]
    session = gr.BrowserState(new_session(), storage_key="rag-embed-conversation", secret=secret)
    chatbot = gr.Chatbot(
        label=L("rag_chatbot"),
        show_label=False,
        elem_id="chat",
        height="calc(100vh - 200px)",
        sanitize_html=True,
        render_markdown=True,
        latex_delimiters=[],
        buttons=["copy"],
        allow_tags=False,
    )
    with gr.Row():
        question = gr.Textbox(
            label=L("rag_question"),
            placeholder=L("rag_question_placeholder"),
            show_label=False,
            scale=8,
            lines=1,
            max_length=settings.max_question_chars,
            elem_id="question",
        )
        send = gr.Button(L("rag_send"), variant="primary", scale=1, min_width=70, elem_id="send")
    clear = gr.Button(L("rag_clear"), variant="secondary", size="sm", elem_id="clear")
    record = gr.JSON(visible=False)
    ask = dict(
        fn=service.respond,
        inputs=[question, session],
        outputs=[chatbot, session, question, record],
        concurrency_id="ask",
        concurrency_limit=None,
        api_visibility="private",
    )
    question.submit(**ask)
    send.click(**ask)
    clear.click(service.clear, None, [chatbot, session, question], api_visibility="private")
    demo.load(service.restore, [session], [chatbot, question, send, clear], api_visibility="private")
