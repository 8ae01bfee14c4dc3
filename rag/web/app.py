"""The web app: the Gradio page for investors (the chat) and, with a staff password, the staff tab.

``build_app(settings)`` builds the page over three services (``Services``):
  * ``Runtime`` (``startup.py``): start-up in the background while the server already listens,
    status, the index followed across processes, the fair line for the model;
  * ``ChatTurns`` (``chat.py``): one question streamed to its rendered answer (``render.py``);
  * ``Ratings`` (``ratings.py``): thumbs up / down and comments;
and the staff tab's ``StaffService`` (``staff.py``) and ``InsightService`` (``staff_insight.py``)
when ``staff_password`` is set. Labels in
English, Chinese and Korean follow the browser's language (``texts.py``); request bodies are
capped and Gradio's upload route is closed but to staff (``serving.py``).

Public endpoints: ``/ask`` (streaming), ``/feedback``, ``/clear``, ``/status``; the staff
endpoints exist only with a staff password (``staff.py``). Beside them, on the same server: the
OpenAI-compatible API ``/v1/chat/completions`` and ``/v1/models`` (``ApiService``, ``api.py``,
for holders of an API key) and the chat for other websites, the page ``/embed`` and its snippet
``/embed.js`` (``embed.py``), framed only by the origins allowed (``EmbedPolicy``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from types import SimpleNamespace

import gradio as gr
from starlette.middleware import Middleware

from ..answer.pipeline import Assistant
from ..config import Settings
from .api import ApiService
from .chat import ChatTurns
from .embed import EmbedPolicy, Origins, embed_page
from .embed import routes as embed_routes
from .ratings import Ratings
from .render import new_session
from .serving import RequestLimits
from .staff import MAX_UPLOAD_FILES, StaffService, staff_tab
from .staff_insight import InsightService
from .startup import Runtime
from .texts import EXAMPLES, UI_LABELS

I18N = gr.I18n(**UI_LABELS)

# ``.nav-holder``: Gradio's page links; the embedded page (/embed) is reached through its snippet, not a link
CSS = """
.rag-source { margin: .55em 0; padding: .45em .7em; border-left: 3px solid var(--color-accent);
  background: var(--background-fill-secondary); border-radius: 4px; }
.rag-source-head { font-weight: 600; font-size: .95em; }
.rag-source-meta, .rag-source-about { font-size: .85em; opacity: .8; }
.rag-passage { font-size: .9em; margin: .35em 0 0 0; padding: 0; border: 0; white-space: normal; }
.rag-passage mark { background: #fde68a; color: #1f2937; padding: 0 .1em; border-radius: 2px; }
.rag-notice { font-size: .9em; padding: .35em .6em; border-radius: 4px; background: #fef3c7; color: #78350f; }
.rag-note { font-size: .85em; opacity: .8; }
.rag-found { font-size: .88em; margin-top: .5em; }
.rag-found-item { margin: .3em 0; padding-left: .6em; border-left: 2px solid var(--border-color-primary); }
.rag-found-sentence { opacity: .85; }
.nav-holder { display: none !important; }
"""


@dataclass
class Services:
    """What the page calls: the runtime, the chat, the ratings and (with a staff password) staff."""

    runtime: Runtime
    chat: ChatTurns
    ratings: Ratings
    api: ApiService
    origins: Origins
    staff: StaffService | None = None
    insight: InsightService | None = None

    @classmethod
    def create(cls, settings: Settings, started: float | None = None, assistant: Assistant | None = None) -> Services:
        runtime = Runtime(settings, started=started, assistant=assistant)
        staff = StaffService(runtime) if settings.staff_password else None
        insight = InsightService(staff) if staff else None
        origins = Origins(settings, runtime.store.keys)
        return cls(runtime, ChatTurns(runtime), Ratings(runtime), ApiService(runtime), origins, staff, insight)


def build_app(
    settings: Settings, started: float | None = None, start: bool = True, models_after: threading.Event | None = None
) -> gr.Blocks:
    """The whole app. ``start`` loads the index and models in the background right away
    (the language model once ``models_after`` is set, if given)."""
    services = Services.create(settings, started=started)
    if start:
        services.runtime.start(models_after=models_after)
    L = I18N
    # temporary files (uploads never sent on to the staff handler) deleted after an hour, checked every 10 min
    with gr.Blocks(title=UI_LABELS["en"]["rag_title"], analytics_enabled=False, delete_cache=(600, 3600)) as demo:
        session = gr.State(new_session())
        gr.Markdown(L("rag_intro"), elem_id="intro")
        with gr.Tabs():
            with gr.Tab(L("rag_tab_chat"), id="chat"):
                page = _chat_tab(settings, services.runtime, L)
            if services.staff is not None:
                staff_tab(services.staff, services.insight, L, page.footer, services.origins)
        _wire(demo, services, page, session)
    with demo.route("Embed", "/embed", show_in_navbar=False):  # the chat on other websites (embed.py)
        embed_page(demo, services.chat, settings, L)
    demo.services = services  # for callers (app.py logs start-up times, tests)
    return demo


def _chat_tab(settings: Settings, runtime: Runtime, L) -> SimpleNamespace:
    """The chat tab's components (inside the page's ``gr.Tabs``)."""
    page = SimpleNamespace()
    page.chatbot = gr.Chatbot(
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
        page.question = gr.Textbox(
            label=L("rag_question"),
            placeholder=L("rag_question_placeholder"),
            show_label=False,
            scale=8,
            lines=1,
            max_length=settings.max_question_chars,
            autofocus=True,
            elem_id="question",
        )
        page.send = gr.Button(L("rag_send"), variant="primary", scale=1, min_width=90, elem_id="send")
    page.feedback_note = gr.Markdown("", elem_id="feedback-note")
    with gr.Row(visible=False, elem_id="comment-row") as page.comment_row:
        page.comment = gr.Textbox(
            label=L("rag_comment"),
            placeholder=L("rag_comment_placeholder"),
            scale=8,
            max_length=2000,
            elem_id="comment",
        )
        page.comment_send = gr.Button(L("rag_comment_send"), scale=1, min_width=90, elem_id="comment-send")
    gr.Examples([[q] for q in EXAMPLES], inputs=[page.question], label=L("rag_examples"))
    page.clear = gr.Button(L("rag_clear"), variant="secondary", elem_id="clear")
    page.footer = gr.Markdown(runtime.footer(), elem_id="footer")
    # inputs of the /feedback API (the page itself uses the thumbs on each answer)
    page.api_rating = gr.Textbox(visible=False)
    page.api_comment = gr.Textbox(visible=False)
    page.api_turn = gr.Number(visible=False, precision=0)
    page.api_answer = gr.JSON(visible=False)
    page.api_feedback = gr.Button(visible=False)
    return page


def _wire(demo: gr.Blocks, services: Services, page: SimpleNamespace, session: gr.State) -> None:
    """The chat's events and public endpoints."""
    chat, ratings, runtime = services.chat, services.ratings, services.runtime
    # every question starts at once (no Gradio queue in front of it): the runtime's fair line
    # decides who waits for the language model, and no-model answers never wait
    ask = dict(
        fn=chat.respond,
        inputs=[page.question, session],
        outputs=[page.chatbot, session, page.question, page.api_answer],
        concurrency_id="ask",
        concurrency_limit=None,
    )
    page.question.submit(**ask, api_name="ask", api_description="Ask a question; streams the chat with sources.")
    page.send.click(**ask, api_visibility="private")
    rated = [session, page.comment_row, page.feedback_note]
    page.chatbot.like(ratings.on_like, [session], rated, api_visibility="private")
    page.comment_send.click(ratings.on_comment, [page.comment, session], rated, api_visibility="private")
    page.comment.submit(ratings.on_comment, [page.comment, session], rated, api_visibility="private")
    page.api_feedback.click(
        ratings.api_feedback,
        [page.api_rating, page.api_comment, page.api_turn, session],
        [session, page.feedback_note],
        api_name="feedback",
        api_description="Rate an answer: rating 'up'|'down', comment, turn (1-based, 0 = latest).",
    )
    cleared = [page.chatbot, session, page.comment_row, page.feedback_note]
    page.clear.click(chat.clear, None, cleared, api_name="clear")
    page.chatbot.clear(chat.clear, None, cleared, api_visibility="private")
    gr.api(runtime.status, api_name="status", concurrency_limit=None)
    demo.load(
        runtime.wait_ready,
        None,
        [page.footer, page.chatbot],
        api_visibility="private",
        concurrency_limit=None,
        show_progress="full",
    )


MAX_REQUEST_BYTES = 256 * 1024  # any request but an upload: a question is at most max_question_chars


def launch_options(settings: Settings, demo: gr.Blocks | None = None) -> dict:
    """Keyword arguments for ``demo.launch``: request limits, the upload route only for staff
    (``rag.web.serving.RequestLimits``), enough worker threads for the model line and the rest."""
    services = getattr(demo, "services", None)
    staff = services.staff if services is not None else None
    upload_max = settings.upload_max_mb * 1024 * 1024
    limits = Middleware(
        RequestLimits,
        max_body=MAX_REQUEST_BYTES,
        upload_max_body=upload_max * MAX_UPLOAD_FILES + MAX_REQUEST_BYTES,
        uploads_allowed=staff.uploads_allowed if staff is not None else None,
    )
    middleware = [limits]
    routes = []
    if services is not None:
        middleware.append(Middleware(EmbedPolicy, origins=services.origins))
        # Gradio builds its FastAPI app with these keyword arguments: routes given here come before its own
        routes = services.api.routes() + embed_routes()
    return dict(
        server_name=settings.host,
        server_port=settings.port,
        max_file_size=upload_max,
        max_threads=max(40, settings.serve_max_waiting + 2 * settings.serve_max_per_client + 16),
        app_kwargs={"middleware": middleware, "routes": routes},
        i18n=I18N,
        css=CSS,
        ssr_mode=False,
        mcp_server=False,
        footer_links=["api"],
        show_error=False,  # gr.Error messages only: the text of any other exception stays in the log
        quiet=False,
    )
