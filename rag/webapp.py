"""Web app: the Gradio Blocks UI for investors (chat) and zone staff (admin tab).

Owns everything the browser sees and every Gradio API endpoint:
  * start-up: the index is loaded (or built, with progress shown in the page and the log) and
    the embedder and language model are warmed up in a background thread while the server
    already listens; the chat waits for that, showing progress, so the page opens at once;
  * the chat: streamed answers from ``Assistant.ask_stream`` with the session's history (the
    assistant rewrites follow-ups itself; the app passes its own raw history of questions and
    answer texts, never the rendered messages), numbered sources after ``SOURCES_SEPARATOR``
    (title, publisher, date, link, passage with the supporting sentences in <mark>), related
    reading when the assistant abstains, a model notice shown once per session, example
    questions, clearing; labels in English, Chinese and Korean (browser language);
  * escaping: every question, answer, passage and notice is HTML-escaped (and markdown-escaped)
    before it reaches the page, so a document containing ``<script>`` shows the text;
  * feedback: thumbs up / down on each answer (``Chatbot.like``) plus an optional comment,
    stored by ``rag.feedback.FeedbackStore``; the ``/feedback`` endpoint does the same for
    API clients;
  * the staff tab: created only when ``settings.staff_password`` is set (else neither the tab
    nor its endpoints exist); every staff endpoint takes the password as its first input and
    checks it server-side (``rag.staff.check_password``) before doing anything.

Public endpoints: ``/ask`` (streaming), ``/feedback``, ``/clear``, ``/status``; staff
(undocumented, password-checked): ``/admin_list``, ``/admin_upload``, ``/admin_remove``,
``/admin_reindex``.
"""

from __future__ import annotations

import html
import logging
import re
import threading
import time
from pathlib import Path

import gradio as gr

from . import staff
from .answering import Answer, Assistant
from .config import Settings
from .documents import SUPPORTED
from .feedback import FeedbackUnavailable, open_store
from .languages import UI_LABELS, chat_texts
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


def md_text(text: str) -> str:
    """Plain text made safe to put in a markdown message: HTML-escaped, markdown inert."""
    s = html.escape(text or "", quote=False)
    s = _MD_ESCAPE.sub(r"\\\1", s)
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2) + m.group(3), s)


def html_text(text: str) -> str:
    """Plain text as HTML (escaped; line breaks kept, blank lines collapsed)."""
    s = html.escape(text or "", quote=True)
    return re.sub(r"(?:\s*\n\s*)+", "<br>", s.strip())


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
    s = html.escape(text, quote=True)
    return re.sub(r"(?:[ \t]*\n[ \t]*)+", "<br>", s)


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
    return (
        f'<div class="rag-source" data-n="{int(c.get("n", 0))}">'
        f'<div class="rag-source-head">[{int(c.get("n", 0))}] {link}</div>'
        + (f'<div class="rag-source-meta">{meta_html}</div>' if meta_html else "")
        + f'<blockquote class="rag-passage">{passage}</blockquote></div>'
    )


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
            source = t["source_answer"].format(lang=t["lang_names"].get(answer["source_language"], answer["source_language"]))
            body += (
                f'\n\n<div class="rag-note">{html_text(t["translated_note"])}</div>'
                f'<details class="rag-source-answer"><summary>{html_text(source)}</summary>'
                f'<div lang="{html.escape(answer["source_language"], quote=True)}">{html_text(answer["source_answer"])}</div></details>'
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
    """What the assistant sees of the conversation: questions and answer texts, no sources."""
    history = []
    for turn in turns:
        if turn.get("answer") is None:
            continue
        history.append({"role": "user", "content": turn["question"]})
        history.append({"role": "assistant", "content": turn["answer"].get("answer", "")})
    return history


def new_session() -> dict:
    return {"turns": [], "notices": [], "last_feedback": None}


def _answer_record(answer: Answer) -> dict:
    record = answer.to_json()
    record.pop("removed", None)
    return record


# --- the service behind the page -------------------------------------------------------------


class ChatService:
    """Start-up, answering, feedback and staff actions; the Gradio callbacks are its methods."""

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
                self.ready_after, self.assistant.retriever.index.size, self._documents(), self.backend, self.model,
            )
        except Exception as e:  # shown in the chat instead of a dead page
            log.exception("start-up failed")
            self.error = f"{e.__class__.__name__}: {e}"
        finally:
            self.ready.set()

    def _documents(self) -> int:
        a = self.assistant
        if a is None or not a.retriever_loaded:
            return 0
        return len(a.retriever.index.manifest.get("files", {}))

    def status(self) -> dict:
        """Whether the assistant is ready, and what it runs on."""
        frac, msg = self.progress
        chunks = self.assistant.retriever.index.size if self.ready.is_set() and not self.error else 0
        return {
            "ready": self.ready.is_set() and not self.error,
            "progress": round(frac, 3),
            "message": msg,
            "error": self.error,
            "backend": self.backend,
            "model": self.model,
            "documents": self._documents() if chunks else 0,
            "chunks": chunks,
            "seconds_to_ready": round(self.ready_after, 2) if self.ready_after is not None else None,
        }

    def footer(self) -> str:
        if self.error:
            return f"*{md_text('Not available: ' + self.error)}*"
        if not self.ready.is_set():
            return ""
        model = f"{self.backend} ({self.model})" if self.model and self.model != "none" else self.backend
        return (
            f"<small>{self._documents()} documents, {self.assistant.retriever.index.size} passages indexed · "
            f"answers by {html_text(model)} · every answer is checked against its sources</small>"
        )

    def wait_ready(self, progress=gr.Progress()):
        """Page load: show a progress bar while the index is built and models load."""
        while not self.ready.wait(0.4):
            frac, msg = self.progress
            progress(frac, desc=msg)
        return self.footer(), gr.skip()

    # --- chat -------------------------------------------------------------------------------

    def respond(self, message: str, session: dict):
        """Stream one answer: yields (chat, session, question box, answer record)."""
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

        while not self.ready.wait(0.5):
            frac, msg = self.progress
            turn["waiting"] = f"{t['preparing']}: {round(frac * 100)}% ({msg})"
            yield render_chat(session["turns"]), session, gr.skip(), gr.skip()
        turn.pop("waiting", None)
        if self.error:
            turn["text"] = t["unavailable"].format(error=self.error)
            turn["answer"] = {"question": question, "answer": turn["text"], "abstained": True, "citations": []}
            yield render_chat(session["turns"]), session, gr.skip(), turn["answer"]
            return

        try:
            for event in self.assistant.ask_stream(question, history):
                if event.kind == "notice":
                    if event.text and event.text not in session["notices"]:
                        session["notices"].append(event.text)  # said once per conversation
                        turn["notice"] = event.text
                        yield render_chat(session["turns"]), session, gr.skip(), gr.skip()
                elif event.kind == "delta":
                    turn["text"] += event.text
                    yield render_chat(session["turns"]), session, gr.skip(), gr.skip()
                elif event.kind == "final" and event.answer is not None:
                    turn["answer"] = _answer_record(event.answer)
                    turn["text"] = event.answer.answer
        except Exception as e:  # never a dead chat: say what happened, keep the session
            log.exception("answering failed for %r", question)
            turn["text"] = t["failed"].format(error=e.__class__.__name__)
            turn["answer"] = {"question": question, "answer": turn["text"], "abstained": True, "citations": [],
                              "error": str(e)}
        if turn["answer"] is None:
            turn["answer"] = {"question": question, "answer": turn["text"], "abstained": not turn["text"],
                              "citations": []}
        yield render_chat(session["turns"]), session, gr.skip(), turn["answer"]

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
            raise gr.Error(str(e)) from None

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
            raise gr.Error(str(e)) from None
        lang = next((t.get("lang", "en") for t in session["turns"] if t.get("feedback_id") == fid), "en")
        return session, gr.update(visible=False, value=""), chat_texts(lang)["comment_saved"]

    def api_feedback(self, rating: str, comment: str, turn: float | None, session: dict):
        """API: rate answer ``turn`` (1-based; 0 or empty = the latest) 'up' or 'down', with a comment."""
        rating = (rating or "").strip().lower()
        if rating not in ("up", "down"):
            raise gr.Error("rating must be 'up' or 'down'")
        n = int(turn or 0)
        fid, thanks = self._record(session, n - 1 if n > 0 else -1, rating)
        if comment and comment.strip():
            try:
                self.store.update(fid, comment=comment.strip()[:2000])
            except FeedbackUnavailable as e:
                raise gr.Error(str(e)) from None
        return session, f"{thanks} (feedback #{fid})"

    # --- staff ------------------------------------------------------------------------------

    def _check(self, password: str | None, request: gr.Request | None = None) -> None:
        """The staff password, checked server-side; failed tries are counted per client address,
        and a client past the limit is locked out for a while (rag.staff.check_password)."""
        s = self.settings
        client = getattr(getattr(request, "client", None), "host", None)
        limits = {"max_failures": s.staff_max_failures, "lockout_s": s.staff_lockout_s}
        wait = staff.lockout_remaining(client, **limits)
        if wait > 0:
            raise gr.Error(f"Too many failed tries; try again in {max(1, round(wait / 60))} min.")
        if not staff.check_password(password, s.staff_password, client=client, **limits):
            raise gr.Error("Wrong staff password.")

    def _embedder(self):
        self.ready.wait()
        if self.error or self.assistant is None:
            raise gr.Error(f"The assistant is not running: {self.error}")
        return self.assistant.retriever.embedder

    def _staff_view(self, message: str):
        docs = staff.list_documents(self.settings)
        rows = [
            [d["file"], d["title"], d["publisher"], d["date"], d["chunks"], d["indexed_at"][:16].replace("T", " "),
             d["status"]]
            for d in docs
        ]
        choices = [d["file"] for d in docs if d["status"] != "removed (re-index)"]
        return rows, gr.update(choices=choices, value=None), message

    def _reindex(self, progress) -> str:
        report = staff.reindex(self.settings, self._embedder(), progress=lambda f, m: progress(f, desc=m))
        self.assistant.reload_index()
        return staff.report_text(report)

    def admin_list(self, password: str, request: gr.Request):
        self._check(password, request)
        return self._staff_view("")

    def admin_upload(self, password, files, title, publisher, date, url, replace, request: gr.Request,
                     progress=gr.Progress()):
        self._check(password, request)
        paths = [files] if isinstance(files, (str, Path)) else list(files or [])
        if not paths:
            raise gr.Error("Choose one or more files to upload.")
        try:
            meta = staff.clean_metadata(title or "", publisher or "", date or "", url or "")
        except staff.StaffError as e:
            raise gr.Error(str(e)) from e
        if meta and len(paths) > 1:
            raise gr.Error("Title, publisher, date and URL describe one document: upload one file at a time with them.")
        saved, refused = [], []
        for p in paths:
            p = Path(getattr(p, "name", p))
            try:
                saved.append(staff.save_upload(self.settings, p, p.name, meta=meta or None, replace=bool(replace)))
            except staff.StaffError as e:
                refused.append(str(e))
        lines = [f"Added {name}." for name in saved] + [f"Refused: {r}" for r in refused]
        if saved:
            lines.append(self._reindex(progress))
        return (*self._staff_view("\n\n".join(lines)), gr.update(value=None))

    def admin_remove(self, password: str, name: str, request: gr.Request, progress=gr.Progress()):
        self._check(password, request)
        try:
            staff.remove_document(self.settings, name or "")
        except staff.StaffError as e:
            raise gr.Error(str(e)) from e
        return self._staff_view(f"Removed {name}.\n\n" + self._reindex(progress))

    def admin_reindex(self, password: str, request: gr.Request, progress=gr.Progress()):
        self._check(password, request)
        return self._staff_view(self._reindex(progress))


# --- the page --------------------------------------------------------------------------------


def build_app(
    settings: Settings, started: float | None = None, start: bool = True, models_after: threading.Event | None = None
) -> gr.Blocks:
    """The whole app. ``start`` loads the index and models in the background right away
    (the language model once ``models_after`` is set, if given)."""
    service = ChatService(settings, started=started)
    if start:
        service.start(models_after=models_after)
    L = I18N
    with gr.Blocks(title=UI_LABELS["en"]["rag_title"], analytics_enabled=False) as demo:
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
                    comment = gr.Textbox(label=L("rag_comment"), placeholder=L("rag_comment_placeholder"), scale=8,
                                         max_length=2000, elem_id="comment")
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

            if settings.staff_password:
                _staff_tab(service, L)

        ask = dict(fn=service.respond, inputs=[question, session], outputs=[chatbot, session, question, api_answer])
        question.submit(**ask, api_name="ask", api_description="Ask a question; streams the chat with sources.")
        send.click(**ask, api_visibility="private")
        chatbot.like(service.on_like, [session], [session, comment_row, feedback_note], api_visibility="private")
        comment_send.click(service.on_comment, [comment, session], [session, comment_row, feedback_note],
                           api_visibility="private")
        comment.submit(service.on_comment, [comment, session], [session, comment_row, feedback_note],
                       api_visibility="private")
        api_feedback_btn.click(
            service.api_feedback, [api_rating, api_comment, api_turn, session], [session, feedback_note],
            api_name="feedback",
            api_description="Rate an answer: rating 'up'|'down', comment, turn (1-based, 0 = latest).",
        )
        clear.click(service.clear, None, [chatbot, session, comment_row, feedback_note], api_name="clear")
        chatbot.clear(service.clear, None, [chatbot, session, comment_row, feedback_note], api_visibility="private")
        gr.api(service.status, api_name="status", concurrency_limit=None)
        demo.load(service.wait_ready, None, [footer, chatbot], api_visibility="private", concurrency_limit=None,
                  show_progress="full")
    demo.service = service  # for callers (app.py logs start-up times, tests)
    return demo


def _staff_tab(service: ChatService, L) -> None:
    """The staff tab; only built when a staff password is configured."""
    s = service.settings
    with gr.Tab(L("rag_tab_staff"), id="staff"):
        gr.Markdown(
            f"Upload documents ({', '.join(SUPPORTED)}; at most {s.upload_max_mb} MB each), remove them, and "
            "re-index. Every action needs the staff password."
        )
        password = gr.Textbox(label=L("rag_staff_password"), type="password", elem_id="staff-password")
        status = gr.Markdown(elem_id="staff-status")
        with gr.Accordion(L("rag_documents"), open=True):
            table = gr.Dataframe(
                headers=["File", "Title", "Publisher", "Date", "Chunks", "Indexed at", "Status"],
                datatype=["str", "str", "str", "str", "number", "str", "str"],
                interactive=False,
                wrap=True,
                column_widths=["19%", "31%", "14%", "9%", "7%", "12%", "8%"],
                elem_id="staff-documents",
            )
            refresh = gr.Button(L("rag_refresh"), elem_id="staff-refresh")
        with gr.Accordion(L("rag_add_documents"), open=True):
            files = gr.File(
                label=L("rag_upload_files"), file_count="multiple", file_types=list(SUPPORTED), type="filepath",
                elem_id="staff-files",
            )
            with gr.Row():
                title = gr.Textbox(label=L("rag_doc_title"), max_length=300)
                publisher = gr.Textbox(label=L("rag_doc_publisher"), max_length=200)
            with gr.Row():
                date = gr.Textbox(label=L("rag_doc_date"), max_length=10)
                url = gr.Textbox(label=L("rag_doc_url"), max_length=500)
            replace = gr.Checkbox(label=L("rag_replace"), value=False)
            upload = gr.Button(L("rag_upload"), variant="primary", elem_id="staff-upload")
        with gr.Row():
            remove_choice = gr.Dropdown(label=L("rag_remove_choice"), choices=[], allow_custom_value=True, scale=3,
                                        elem_id="staff-remove-choice")
            remove = gr.Button(L("rag_remove"), variant="stop", scale=1, elem_id="staff-remove")
        reindex = gr.Button(L("rag_reindex"), elem_id="staff-reindex")

        view = [table, remove_choice, status]
        hidden = dict(api_visibility="undocumented", concurrency_id="staff", concurrency_limit=1)
        refresh.click(service.admin_list, [password], view, api_name="admin_list", **hidden)
        upload.click(
            service.admin_upload, [password, files, title, publisher, date, url, replace], [*view, files],
            api_name="admin_upload", **hidden,
        )
        remove.click(service.admin_remove, [password, remove_choice], view, api_name="admin_remove", **hidden)
        reindex.click(service.admin_reindex, [password], view, api_name="admin_reindex", **hidden)


def launch_options(settings: Settings) -> dict:
    """Keyword arguments for ``Blocks.launch``."""
    return dict(
        server_name=settings.host,
        server_port=settings.port,
        max_file_size=settings.upload_max_mb * 1024 * 1024,
        i18n=I18N,
        css=CSS,
        ssr_mode=False,
        mcp_server=False,
        footer_links=["api"],
        show_error=True,
        quiet=False,
    )
