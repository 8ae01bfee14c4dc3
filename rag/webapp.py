"""Web app: the Gradio Blocks UI for investors (chat); the staff tab is rag.staff_ui.

Owns everything the investor's browser sees and the public Gradio API endpoints:
  * start-up: the index is loaded (or built, with progress shown in the page and the log) and
    the embedder and language model are warmed up in a background thread while the server
    already listens; the chat waits for that, showing progress, so the page opens at once;
  * the chat: streamed answers from ``Assistant.ask_stream`` with the session's history (the
    assistant rewrites follow-ups itself; the app passes its own raw history of questions and
    answer texts, never the rendered messages), numbered sources after ``SOURCES_SEPARATOR``
    (title, publisher, date, link, passage with the supporting sentences in <mark>), related
    reading when the assistant abstains, a model notice shown once per session, example
    questions, clearing; labels in English, Chinese and Korean (browser language; the tables
    are in rag.languages);
  * fair serving (rag.serving): every question starts at once; ``Assistant.plan`` says whether
    it needs the language model; those that do wait in a fair line for the one model slot and
    see their place and an estimate in the chat turn, the others (abstentions, the extractive
    backend) never wait behind them; questions in flight are capped per client address and per
    conversation, waits are bounded ("busy, try again in a minute" in the question's language);
    request bodies are capped and Gradio's upload route is closed but to staff;
  * a re-index by another process sharing the index folder is picked up: each request checks
    where ``embeddings/current`` points and loads that version when it changed;
  * escaping: every question, answer, passage and notice is HTML-escaped (and markdown-escaped)
    before it reaches the page, so a document containing ``<script>`` shows the text; every
    kind of line break becomes ``<br>`` inside a source, so a source stays one HTML block and
    markdown in a document (a link, an image) stays text;
  * no server paths or addresses in anything public (notices, ``/status``, ``/ask`` records,
    the footer); the log keeps them;
  * feedback: thumbs up / down on each answer (``Chatbot.like``) plus an optional comment,
    stored by ``rag.feedback.FeedbackStore``; the ``/feedback`` endpoint does the same for
    API clients.

Public endpoints: ``/ask`` (streaming), ``/feedback``, ``/clear``, ``/status``; the staff
endpoints exist only with a staff password (rag.staff_ui).
"""

from __future__ import annotations

import html
import logging
import math
import os
import re
import threading
import time
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from .answering import Answer, Assistant
from .config import Settings
from .feedback import FeedbackUnavailable, open_store
from .index import IndexUnavailable, current_path
from .languages import UI_LABELS, chat_texts
from .serving import Admission, ModelLine, RequestLimits, client_address, public_text, session_id, settings_secrets
from .staff_ui import MAX_UPLOAD_FILES, StaffService, staff_tab
from .text import detect_language

log = logging.getLogger(__name__)

SOURCES_SEPARATOR = "\n\n**Sources**"  # what rag.answering strips from assistant messages
RELATED_SEPARATOR = "\n\n**Related reading**"
MAX_QUESTION_CHARS = 1000

EXAMPLES = [
    "Which semiconductor fields does the China-ROK zone want to cooperate in?",
    "What does the Norman Bethune Center for Medical Sciences focus on?",
    "中韩国际合作示范区在生物医药方面有哪些合作方向？",
    "중한 국제협력시범구는 어떤 산업 분야에서 협력하나요?",
]

I18N = gr.I18n(**UI_LABELS)

CSS = """
.rag-source { margin: .55em 0; padding: .45em .7em; border-left: 3px solid var(--color-accent);
  background: var(--background-fill-secondary); border-radius: 4px; }
.rag-source-head { font-weight: 600; font-size: .95em; }
.rag-source-meta { font-size: .85em; opacity: .8; }
.rag-passage { font-size: .9em; margin: .35em 0 0 0; padding: 0; border: 0; white-space: normal; }
.rag-passage mark { background: #fde68a; color: #1f2937; padding: 0 .1em; border-radius: 2px; }
.rag-notice { font-size: .9em; padding: .35em .6em; border-radius: 4px; background: #fef3c7; color: #78350f; }
.rag-note { font-size: .85em; opacity: .8; }
"""

# --- escaping and rendering ------------------------------------------------------------------

_MD_ESCAPE = re.compile(r"([\\`*_{}\[\]#|~$!])")
_MD_LINE_START = re.compile(r"(?m)^(\s*)([-+]|\d+[.)])(\s)")


# every line break a browser's markdown parser may see: CR, LF, CRLF, VT, FF, NEL, the Unicode
# line and paragraph separators (a lone "\r\r" would otherwise end a source's HTML block)
_LINE_BREAKS = re.compile(r"\r\n?|[\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


# brackets as character references inside HTML: they show the same, and form no markdown link even
# if an HTML block ever ended early (CommonMark never reads a reference as markdown syntax)
_HTML_MD = str.maketrans({"[": "&#91;", "]": "&#93;"})


def one_kind_of_line_break(text: str) -> str:
    return _LINE_BREAKS.sub("\n", text or "")


def _html_escape(text: str) -> str:
    return html.escape(one_kind_of_line_break(text), quote=True).translate(_HTML_MD)


def md_text(text: str) -> str:
    """Plain text made safe to put in a markdown message: HTML-escaped, markdown inert."""
    s = html.escape(one_kind_of_line_break(text), quote=False)
    s = _MD_ESCAPE.sub(r"\\\1", s)
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2) + m.group(3), s)


def html_text(text: str) -> str:
    """Plain text as HTML (escaped; line breaks kept, blank lines collapsed)."""
    return re.sub(r"(?:\s*\n\s*)+", "<br>", _html_escape(text).strip())


def safe_url(url: str) -> str | None:
    url = (url or "").strip()
    return url if re.match(r"^https?://[^\s\"'<>]+$", url, re.I) else None


def highlighted(text: str, spans) -> str:
    """The passage as escaped HTML with the given (start, end) spans wrapped in <mark>."""
    text = text or ""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, int(a)), min(len(text), int(b))) for a, b in spans or []):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out.append(html_text_keep(text[pos:start]))
        out.append("<mark>" + html_text_keep(text[start:end]) + "</mark>")
        pos = end
    out.append(html_text_keep(text[pos:]))
    return "".join(out).strip()


def html_text_keep(text: str) -> str:
    """Like html_text but without trimming (pieces of one passage)."""
    return re.sub(r"(?:[ \t]*\n[ \t]*)+", "<br>", _html_escape(text))


def render_citation(c: dict) -> str:
    """One numbered source as one line of HTML (no blank lines: it stays one markdown HTML block)."""
    title = html_text(c.get("title") or c.get("doc_id") or "")
    url = safe_url(c.get("source", ""))
    link = title
    if url:
        link = f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{title}</a>'
    meta = [c.get("publisher") or "", c.get("date") or ""]
    if c.get("page"):
        meta.append(f"p. {c['page']}")
    meta_html = " · ".join(html_text(m) for m in meta if m)
    passage = highlighted(c.get("text", ""), c.get("highlights") or [])
    block = (
        f'<div class="rag-source" data-n="{int(c.get("n", 0))}">'
        f'<div class="rag-source-head">[{int(c.get("n", 0))}] {link}</div>'
        + (f'<div class="rag-source-meta">{meta_html}</div>' if meta_html else "")
        + f'<blockquote class="rag-passage">{passage}</blockquote></div>'
    )
    return block.replace("\n", " ")  # none is left; the whole source on one line whatever happens


def render_answer(turn: dict) -> str:
    """The assistant message of one turn: notice, answer text, then sources or related reading."""
    lang = turn.get("lang", "en")
    t = chat_texts(lang)
    parts = []
    if turn.get("notice"):
        parts.append(f'<div class="rag-notice">ⓘ {html_text(turn["notice"])}</div>')
    if turn.get("text"):
        parts.append(md_text(turn["text"]))
    elif turn.get("answer") is None:
        parts.append(f"*{md_text(turn.get('waiting') or t['searching'])}*")
    body = "\n\n".join(parts)
    answer = turn.get("answer")
    if not answer:
        return body
    if answer.get("abstained"):
        related = answer.get("related") or []
        if related:
            note = f'<div class="rag-note">{html_text(t["related_note"])}</div>'
            body += RELATED_SEPARATOR + t["related"] + "\n\n" + note
            body += "".join(render_citation(c) for c in related)
    elif answer.get("citations"):
        if answer.get("source_language") and answer.get("source_answer"):
            # the translation is marked as such, the verified answer one click away
            src_lang = answer["source_language"]
            source = t["source_answer"].format(lang=t["lang_names"].get(src_lang, src_lang))
            body += (
                f'\n\n<div class="rag-note">{html_text(t["translated_note"])}</div>'
                f'<details class="rag-source-answer"><summary>{html_text(source)}</summary>'
                f'<div lang="{html.escape(src_lang, quote=True)}">{html_text(answer["source_answer"])}</div></details>'
            )
        body += SOURCES_SEPARATOR + t["sources"] + "\n\n" + "".join(render_citation(c) for c in answer["citations"])
    return body


def render_chat(turns: list[dict]) -> list[dict]:
    """The Chatbot value: exactly two messages per turn (user, assistant)."""
    messages = []
    for turn in turns:
        messages.append({"role": "user", "content": md_text(turn["question"])})
        messages.append({"role": "assistant", "content": render_answer(turn)})
    return messages


def raw_history(turns: list[dict]) -> list[dict]:
    """What the assistant sees of the conversation: questions and answer texts, no sources
    (nor turns the server refused: a busy server is no part of the conversation)."""
    history = []
    for turn in turns:
        if turn.get("answer") is None or turn["answer"].get("busy"):
            continue
        history.append({"role": "user", "content": turn["question"]})
        history.append({"role": "assistant", "content": turn["answer"].get("answer", "")})
    return history


def new_session() -> dict:
    return {"turns": [], "notices": [], "last_feedback": None}


# --- the service behind the page -------------------------------------------------------------


class ChatService:
    """Start-up, answering and feedback; the chat's Gradio callbacks are its methods (the staff
    tab's are in rag.staff_ui)."""

    def __init__(self, settings: Settings, started: float | None = None, assistant: Assistant | None = None):
        self.settings = settings
        self.started = started if started is not None else time.perf_counter()
        self.assistant = assistant
        self.store = open_store(settings)
        self.ready = threading.Event()
        self.progress: tuple[float, str] = (0.0, "Starting")
        self.error: str | None = None
        self.ready_after: float | None = None
        self.backend = settings.backend
        self.model = ""
        self.model_notice: str | None = None
        self._models_after: threading.Event | None = None
        self.admission = Admission(settings.serve_max_per_client)
        self.line = ModelLine(settings.serve_max_waiting, settings.serve_max_wait_s)
        self._secrets = settings_secrets(settings)
        self._reload_lock = threading.Lock()

    def public(self, text: str | None) -> str:
        """``text`` as the public may see it: no server paths or addresses (rag.serving)."""
        return public_text(text, self._secrets)

    # --- start-up ---------------------------------------------------------------------------

    def start(self, background: bool = True, models_after: threading.Event | None = None) -> None:
        """Open (or build) the index and load the models; ``models_after``: wait for this event
        before loading the language model (llama.cpp silences stdout/stderr while it loads, so
        app.py lets the server announce itself first)."""
        self._models_after = models_after
        if background:
            threading.Thread(target=self._prepare, name="rag-startup", daemon=True).start()
        else:
            self._prepare()

    def _on_progress(self, frac: float, msg: str) -> None:
        self.progress = (float(frac), msg)
        log.info("index: %3d%% %s", round(frac * 100), msg)

    def _prepare(self) -> None:
        from .retrieval import open_retriever

        try:
            if self.assistant is None:
                self._on_progress(0.01, "Opening the index")
                retriever = open_retriever(self.settings, progress=self._on_progress)
                self.assistant = Assistant(self.settings, retriever=retriever)
            self._on_progress(0.96, "Loading the embedding and language models")
            # both at once: llama.cpp loads in C (no GIL) while the embedder's imports run
            loaded: dict = {}

            def load_llm():
                if self._models_after is not None:
                    self._models_after.wait(60)
                try:
                    loaded["g"] = self.assistant.generator()
                except Exception as e:  # re-raised below, in the start-up thread
                    loaded["error"] = e

            llm = threading.Thread(target=load_llm, name="rag-llm-load", daemon=True)
            llm.start()
            self.assistant.retriever.search("warm up")  # loads the embedder
            llm.join()
            if "error" in loaded:
                raise loaded["error"]
            generator, notice = loaded["g"]
            self.backend, self.model, self.model_notice = generator.name, generator.model, notice
            if notice:
                log.warning(notice)
            self.ready_after = time.perf_counter() - self.started
            self.progress = (1.0, "Ready")
            log.warning(
                "ready %.1f s after start: %d chunks from %d documents, backend %s (%s)",
                self.ready_after,
                self.assistant.retriever.index.size,
                self._documents(),
                self.backend,
                self.model,
            )
        except Exception as e:  # shown in the chat instead of a dead page
            log.exception("start-up failed")
            self.error = f"{e.__class__.__name__}: {e}"
        finally:
            self.ready.set()

    def _running(self) -> bool:
        return self.ready.is_set() and not self.error and self.assistant is not None

    def reload_index(self) -> None:
        """Use the index on disk now (after a re-index here)."""
        with self._reload_lock:
            self.assistant.reload_index()

    def follow_index(self) -> None:
        """Pick up a re-index made by another process: when ``embeddings/current`` points at
        another version than the one loaded, load that (a cheap check, made per request)."""
        if not self._running() or not self.assistant.retriever_loaded:
            return
        target = Path(os.path.realpath(current_path(Path(self.settings.index_dir))))
        if target == self.assistant.retriever.index.path or not target.is_dir():
            return
        with self._reload_lock:
            if target != self.assistant.retriever.index.path:
                try:
                    self.assistant.reload_index()
                    log.warning("index %s from another process loaded", target.name)
                except IndexUnavailable as e:  # keep answering from the one loaded
                    log.warning("index %s not loaded: %s", target.name, e)

    def _documents(self) -> int:
        a = self.assistant
        if a is None or not a.retriever_loaded:
            return 0
        return len(a.retriever.index.manifest.get("files", {}))

    def status(self) -> dict:
        """Whether the assistant is ready, and what it runs on (no server paths or addresses)."""
        self.follow_index()
        frac, msg = self.progress
        chunks = self.assistant.retriever.index.size if self._running() else 0
        return {
            "ready": self._running(),
            "progress": round(frac, 3),
            "message": self.public(msg),
            "error": self.public(self.error) if self.error else None,
            "backend": self.backend,
            "model": self.public(self.model),
            "documents": self._documents() if chunks else 0,
            "chunks": chunks,
            "seconds_to_ready": round(self.ready_after, 2) if self.ready_after is not None else None,
            "waiting_for_model": self.line.waiting(),
        }

    def footer(self) -> str:
        if self.error:
            return f"*{md_text('Not available: ' + self.public(self.error))}*"
        if not self.ready.is_set():
            return ""
        model = f"{self.backend} ({self.model})" if self.model and self.model != "none" else self.backend
        return (
            f"<small>{self._documents()} documents, {self.assistant.retriever.index.size} passages indexed · "
            f"answers by {html_text(self.public(model))} · every answer is checked against its sources</small>"
        )

    def wait_ready(self, progress=gr.Progress()):  # noqa: B008 (Gradio's way of asking for a progress bar)
        """Page load: show a progress bar while the index is built and models load."""
        while not self.ready.wait(0.4):
            frac, msg = self.progress
            progress(frac, desc=self.public(msg))
        return self.footer(), gr.skip()

    # --- chat -------------------------------------------------------------------------------

    def respond(self, message: str, session: dict, request: gr.Request = None):
        """Stream one answer: yields (chat, session, question box, answer record).

        A question is admitted if its conversation has none in flight and its client fewer than
        ``serve_max_per_client``; one that needs the language model (``Assistant.plan``) then
        waits in the fair line for the model slot, seeing its place and an estimate; the others
        are answered at once, never behind a model answer."""
        question = (message or "").strip()[:MAX_QUESTION_CHARS]
        session = session or new_session()
        if not question:
            yield render_chat(session["turns"]), session, "", gr.skip()
            return
        lang = detect_language(question)
        t = chat_texts(lang)
        history = raw_history(session["turns"])
        turn = {"question": question, "lang": lang, "text": "", "notice": "", "answer": None}
        session["turns"].append(turn)
        yield render_chat(session["turns"]), session, "", gr.skip()

        client, sid = client_address(request), session_id(request)
        refused = self.admission.enter(client, sid)
        if refused:
            yield self._refused(turn, session, t[refused])
            return
        try:
            yield from self._answer(question, history, turn, session, t, client)
        finally:
            self.admission.leave(client, sid)

    def _answer(self, question: str, history: list[dict], turn: dict, session: dict, t: dict, client: str):
        while not self.ready.wait(0.5):
            frac, msg = self.progress
            turn["waiting"] = f"{t['preparing']}: {round(frac * 100)}% ({self.public(msg)})"
            yield render_chat(session["turns"]), session, gr.skip(), gr.skip()
        turn.pop("waiting", None)
        if self.error:
            turn["text"] = t["unavailable"].format(error=self.public(self.error))
            turn["answer"] = {"question": question, "answer": turn["text"], "abstained": True, "citations": []}
            yield render_chat(session["turns"]), session, gr.skip(), turn["answer"]
            return
        try:
            self.follow_index()
            plan = self.assistant.plan(question, history)
        except Exception as e:  # the search itself failed: said in the chat like any answering failure
            yield self._failed(turn, session, t, e)
            return
        if not plan.needs_model:
            yield from self._stream(question, history, turn, session, t)
            return
        ticket = self.line.join(client)
        if ticket is None:
            yield self._refused(turn, session, t["busy"])
            return
        try:
            while not self.line.wait(ticket, 1.0 if turn.get("waiting") else 0.05):
                if ticket.waited_s() > self.line.max_wait_s:
                    yield self._refused(turn, session, t["busy"])
                    return
                turn["waiting"] = self._place(ticket, t)
                yield render_chat(session["turns"]), session, gr.skip(), gr.skip()
            turn.pop("waiting", None)
            yield from self._stream(question, history, turn, session, t)
        finally:
            self.line.leave(ticket)

    def _place(self, ticket, t: dict) -> str:
        """ "n ahead of you, about T s" for a ticket waiting for the model."""
        ahead, estimate = self.line.ahead(ticket), self.line.estimate_s(ticket)
        if estimate is None:
            return t["queued_no_estimate"].format(ahead=ahead)
        return t["queued"].format(ahead=ahead, seconds=max(5, 5 * round(estimate / 5)))

    def _stream(self, question: str, history: list[dict], turn: dict, session: dict, t: dict):
        try:
            for event in self.assistant.ask_stream(question, history):
                if event.kind == "notice":
                    if event.text and event.text not in session["notices"]:
                        session["notices"].append(event.text)  # said once per conversation
                        turn["notice"] = self.public(event.text)
                        yield render_chat(session["turns"]), session, gr.skip(), gr.skip()
                elif event.kind == "delta":
                    turn["text"] += event.text
                    yield render_chat(session["turns"]), session, gr.skip(), gr.skip()
                elif event.kind == "final" and event.answer is not None:
                    turn["answer"] = self._record_of(event.answer)
                    turn["text"] = event.answer.answer
        except Exception as e:  # never a dead chat: say what happened, keep the session
            yield self._failed(turn, session, t, e)
            return
        if turn["answer"] is None:
            turn["answer"] = {
                "question": question,
                "answer": turn["text"],
                "abstained": not turn["text"],
                "citations": [],
            }
        yield render_chat(session["turns"]), session, gr.skip(), turn["answer"]

    def _record_of(self, answer: Answer) -> dict:
        """The answer as the public gets it in ``/ask``: no removed sentences, notices without
        server paths or addresses."""
        record = answer.to_json()
        record.pop("removed", None)
        record["notices"] = [self.public(n) for n in record.get("notices") or []]
        return record

    def _failed(self, turn: dict, session: dict, t: dict, error: Exception):
        log.exception("answering failed for %r", turn["question"])
        turn.pop("waiting", None)
        turn["text"] = t["failed"].format(error=error.__class__.__name__)
        turn["answer"] = {
            "question": turn["question"],
            "answer": turn["text"],
            "abstained": True,
            "citations": [],
            "error": error.__class__.__name__,
        }
        return render_chat(session["turns"]), session, gr.skip(), turn["answer"]

    def _refused(self, turn: dict, session: dict, text: str):
        """The turn answered with ``text`` (busy, one at a time ...), kept out of the history."""
        turn.pop("waiting", None)
        turn["text"] = text
        turn["answer"] = {
            "question": turn["question"],
            "answer": text,
            "abstained": True,
            "citations": [],
            "busy": True,
        }
        return render_chat(session["turns"]), session, gr.skip(), turn["answer"]

    def clear(self):
        return [], new_session(), gr.update(visible=False, value=""), ""

    # --- feedback ---------------------------------------------------------------------------

    def _record(self, session: dict, turn_index: int, rating: str) -> tuple[int, str]:
        turns = session["turns"]
        if not turns:
            raise gr.Error("There is no answer to rate yet.")
        if turn_index < 0:
            turn_index += len(turns)
        if not 0 <= turn_index < len(turns) or turns[turn_index].get("answer") is None:
            raise gr.Error("There is no such answer to rate.")
        turn = turns[turn_index]
        a = turn["answer"]
        try:
            return self._store_rating(session, turn, a, rating)
        except FeedbackUnavailable as e:
            raise gr.Error(self.public(str(e))) from None

    def _store_rating(self, session: dict, turn: dict, a: dict, rating: str) -> tuple[int, str]:
        if turn.get("feedback_id"):
            self.store.update(turn["feedback_id"], rating=rating)
        else:
            turn["feedback_id"] = self.store.add(
                rating=rating,
                question=turn["question"],
                answer=a.get("answer", ""),
                citations=a.get("citations") or a.get("related") or [],
                backend=a.get("backend", ""),
                model=a.get("model", ""),
                standalone_question=a.get("standalone_question", ""),
                abstained=bool(a.get("abstained")),
                language=a.get("language") or turn.get("lang", ""),
            )
        session["last_feedback"] = turn["feedback_id"]
        t = chat_texts(turn.get("lang", "en"))
        return turn["feedback_id"], t["thanks_up" if rating == "up" else "thanks_down"]

    def on_like(self, session: dict, data: gr.LikeData):
        """Thumbs on an answer in the chat: store the rating at once, offer a comment box."""
        if data.liked is True:
            rating = "up"
        elif data.liked is False:
            rating = "down"
        else:  # the thumb was taken back: keep what was stored, hide the comment box
            return session, gr.update(visible=False), ""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        _, thanks = self._record(session, int(index) // 2, rating)
        return session, gr.update(visible=True, value=""), thanks

    def on_comment(self, comment: str, session: dict):
        fid = session.get("last_feedback")
        if not fid:
            raise gr.Error("Rate an answer first (thumbs up or down).")
        try:
            self.store.update(fid, comment=(comment or "").strip()[:2000])
        except FeedbackUnavailable as e:
            raise gr.Error(self.public(str(e))) from None
        lang = next((t.get("lang", "en") for t in session["turns"] if t.get("feedback_id") == fid), "en")
        return session, gr.update(visible=False, value=""), chat_texts(lang)["comment_saved"]

    def api_feedback(self, rating: str, comment: str, turn: float | None, session: dict):
        """API: rate answer ``turn`` (1-based; 0 or empty = the latest) 'up' or 'down', with a comment."""
        rating = (rating or "").strip().lower()
        if rating not in ("up", "down"):
            raise gr.Error("rating must be 'up' or 'down'")
        if turn is not None and not (isinstance(turn, (int, float)) and math.isfinite(turn) and turn >= 0):
            raise gr.Error("turn must be a whole number: 1 for the first answer, 0 for the latest")
        n = int(turn or 0)
        fid, thanks = self._record(session, n - 1 if n > 0 else -1, rating)
        if comment and comment.strip():
            try:
                self.store.update(fid, comment=comment.strip()[:2000])
            except FeedbackUnavailable as e:
                raise gr.Error(self.public(str(e))) from None
        return session, f"{thanks} (feedback #{fid})"


# --- the page --------------------------------------------------------------------------------


def build_app(
    settings: Settings, started: float | None = None, start: bool = True, models_after: threading.Event | None = None
) -> gr.Blocks:
    """The whole app. ``start`` loads the index and models in the background right away
    (the language model once ``models_after`` is set, if given)."""
    service = ChatService(settings, started=started)
    if start:
        service.start(models_after=models_after)
    staff = StaffService(service) if settings.staff_password else None
    L = I18N
    # temporary files (uploads never sent on to the staff handler) deleted after an hour, checked every 10 min
    with gr.Blocks(title=UI_LABELS["en"]["rag_title"], analytics_enabled=False, delete_cache=(600, 3600)) as demo:
        session = gr.State(new_session())
        gr.Markdown(L("rag_intro"), elem_id="intro")
        with gr.Tabs():
            with gr.Tab(L("rag_tab_chat"), id="chat"):
                chatbot = gr.Chatbot(
                    label=L("rag_chatbot"),
                    elem_id="chat",
                    height=None,
                    min_height=380,
                    max_height="78vh",
                    sanitize_html=True,
                    render_markdown=True,
                    latex_delimiters=[],
                    buttons=["copy"],
                    feedback_options=("Like", "Dislike"),
                    placeholder=UI_LABELS["en"]["rag_chat_placeholder"],
                    allow_tags=False,
                )
                with gr.Row():
                    question = gr.Textbox(
                        label=L("rag_question"),
                        placeholder=L("rag_question_placeholder"),
                        show_label=False,
                        scale=8,
                        lines=1,
                        max_length=MAX_QUESTION_CHARS,
                        autofocus=True,
                        elem_id="question",
                    )
                    send = gr.Button(L("rag_send"), variant="primary", scale=1, min_width=90, elem_id="send")
                feedback_note = gr.Markdown("", elem_id="feedback-note")
                with gr.Row(visible=False, elem_id="comment-row") as comment_row:
                    comment = gr.Textbox(
                        label=L("rag_comment"),
                        placeholder=L("rag_comment_placeholder"),
                        scale=8,
                        max_length=2000,
                        elem_id="comment",
                    )
                    comment_send = gr.Button(L("rag_comment_send"), scale=1, min_width=90, elem_id="comment-send")
                gr.Examples([[q] for q in EXAMPLES], inputs=[question], label=L("rag_examples"))
                clear = gr.Button(L("rag_clear"), variant="secondary", elem_id="clear")
                footer = gr.Markdown(service.footer(), elem_id="footer")
                # inputs of the /feedback API (the page itself uses the thumbs on each answer)
                api_rating = gr.Textbox(visible=False)
                api_comment = gr.Textbox(visible=False)
                api_turn = gr.Number(visible=False, precision=0)
                api_answer = gr.JSON(visible=False)
                api_feedback_btn = gr.Button(visible=False)

            if staff is not None:
                staff_tab(staff, L, footer)

        # every question starts at once (no Gradio queue in front of it): rag.serving decides who
        # waits for the language model, and no-model answers never wait
        ask = dict(
            fn=service.respond,
            inputs=[question, session],
            outputs=[chatbot, session, question, api_answer],
            concurrency_id="ask",
            concurrency_limit=None,
        )
        question.submit(**ask, api_name="ask", api_description="Ask a question; streams the chat with sources.")
        send.click(**ask, api_visibility="private")
        chatbot.like(service.on_like, [session], [session, comment_row, feedback_note], api_visibility="private")
        comment_send.click(
            service.on_comment, [comment, session], [session, comment_row, feedback_note], api_visibility="private"
        )
        comment.submit(
            service.on_comment, [comment, session], [session, comment_row, feedback_note], api_visibility="private"
        )
        api_feedback_btn.click(
            service.api_feedback,
            [api_rating, api_comment, api_turn, session],
            [session, feedback_note],
            api_name="feedback",
            api_description="Rate an answer: rating 'up'|'down', comment, turn (1-based, 0 = latest).",
        )
        clear.click(service.clear, None, [chatbot, session, comment_row, feedback_note], api_name="clear")
        chatbot.clear(service.clear, None, [chatbot, session, comment_row, feedback_note], api_visibility="private")
        gr.api(service.status, api_name="status", concurrency_limit=None)
        demo.load(
            service.wait_ready,
            None,
            [footer, chatbot],
            api_visibility="private",
            concurrency_limit=None,
            show_progress="full",
        )
    demo.service = service  # for callers (app.py logs start-up times, tests)
    demo.staff = staff
    return demo


MAX_REQUEST_BYTES = 256 * 1024  # any request but an upload: a question is at most 1000 characters


def launch_options(settings: Settings, demo: gr.Blocks | None = None) -> dict:
    """Keyword arguments for ``demo.launch``: request limits, the upload route only for staff
    (``rag.serving.RequestLimits``), enough worker threads for the model line and the rest."""
    staff = getattr(demo, "staff", None)
    upload_max = settings.upload_max_mb * 1024 * 1024
    limits = Middleware(
        RequestLimits,
        max_body=MAX_REQUEST_BYTES,
        upload_max_body=upload_max * MAX_UPLOAD_FILES + MAX_REQUEST_BYTES,
        uploads_allowed=staff.uploads_allowed if staff is not None else None,
    )
    return dict(
        server_name=settings.host,
        server_port=settings.port,
        max_file_size=upload_max,
        max_threads=max(40, settings.serve_max_waiting + 2 * settings.serve_max_per_client + 16),
        app_kwargs={"middleware": [limits]},
        i18n=I18N,
        css=CSS,
        ssr_mode=False,
        mcp_server=False,
        footer_links=["api"],
        show_error=False,  # gr.Error messages only: the text of any other exception stays in the log
        quiet=False,
    )
