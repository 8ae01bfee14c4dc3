"""The web app's staff tab: its components and the handlers behind them.

Built only when ``settings.staff_password`` is set (``rag.web.app``), so without one neither the tab,
its endpoints nor any upload component exist. Every staff endpoint takes the password as its
first input and checks it server-side (``rag.web.login.check_password``, failures counted per client
address, lockout) before doing anything; a client address that passed it may upload files to
Gradio's upload route for ``UPLOAD_WINDOW_S`` (``StaffService.uploads_allowed``, used by
``rag.web.serving.RequestLimits``). An uploaded file's temporary copy is deleted once it was copied
into the corpus (or refused). A staff mistake (no file chosen, bad metadata) is one message in
the tab's status line, the other components keep what they show; progress and errors show on the
status line only. After a re-index the page footer is updated.

Endpoints (undocumented, password-checked): ``/admin_list``, ``/admin_upload``,
``/admin_remove``, ``/admin_reindex``; the insight sections below the documents (the question log,
what the documents miss, usage, curated answers, the retrieval test) are ``rag.web.staff_insight``;
the translation memory is ``rag.web.staff_memory``; API keys and the websites that may embed the
chat are ``rag.web.staff_keys``.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import gradio as gr

from ..ingest import corpus
from ..ingest.documents import SUPPORTED
from . import login
from .serving import client_address
from .staff_insight import InsightService, insight_sections
from .staff_keys import KeysService, keys_section
from .staff_memory import MemoryService, memory_section

log = logging.getLogger(__name__)

UPLOAD_WINDOW_S = 3600.0  # how long after a right staff password a client address may upload files
MAX_UPLOAD_FILES = 10  # one upload request may carry this many times upload_max_mb


class StaffService:
    """The staff tab's handlers over the runtime's settings and assistant."""

    def __init__(self, runtime):
        self.runtime = runtime  # rag.web.startup.Runtime: the assistant, its index, the page footer
        self.settings = runtime.settings
        self._passed: dict[str, float] = {}  # client address -> when it last passed the password
        self._lock = threading.Lock()

    def uploads_allowed(self, client: str) -> bool:
        with self._lock:
            return time.monotonic() - self._passed.get(client, float("-inf")) < UPLOAD_WINDOW_S

    def check(self, password: str | None, request: gr.Request | None = None) -> None:
        """The staff password, checked server-side; failed tries are counted per client address,
        and a client past the limit is locked out for a while (``rag.web.login``)."""
        s = self.settings
        client = client_address(request)
        limits = {"max_failures": s.staff_max_failures, "lockout_s": s.staff_lockout_s}
        wait = login.lockout_remaining(client, **limits)
        if wait > 0:
            raise gr.Error(f"Too many failed tries; try again in {max(1, round(wait / 60))} min.")
        if not login.check_password(password, s.staff_password, client=client, **limits):
            raise gr.Error("Wrong staff password.")
        with self._lock:
            self._passed[client] = time.monotonic()

    def _embedder(self):
        runtime = self.runtime
        runtime.ready.wait()
        if runtime.error or runtime.assistant is None:
            raise gr.Error(f"The assistant is not running: {runtime.public(runtime.error)}")
        return runtime.assistant.retriever.embedder

    def _view(self, message: str):
        """(document table, remove choices, status message, page footer)."""
        docs = corpus.list_documents(self.settings)
        rows = [
            [
                d["file"],
                d["title"],
                d["publisher"],
                d["date"],
                d["chunks"],
                d["indexed_at"][:16].replace("T", " "),
                d["status"],
            ]
            for d in docs
        ]
        choices = [d["file"] for d in docs if d["status"] != "removed (re-index)"]
        return rows, gr.update(choices=choices, value=None), message, self.runtime.footer()

    def _reindex(self, progress) -> str:
        report = corpus.reindex(self.settings, self._embedder(), progress=lambda f, m: progress(f, desc=m))
        self.runtime.reload_index()
        return corpus.report_text(report)

    def admin_list(self, password: str, request: gr.Request):
        self.check(password, request)
        return self._view("")

    def admin_upload(
        self, password, files, title, publisher, date, url, replace, request: gr.Request, progress=gr.Progress()
    ):
        paths = [files] if isinstance(files, (str, Path)) else list(files or [])
        try:
            self.check(password, request)
            return self._upload(
                [Path(getattr(p, "name", p)) for p in paths], title, publisher, date, url, replace, progress
            )
        finally:
            _delete_temporary(paths)

    def _upload(self, paths: list[Path], title, publisher, date, url, replace, progress):
        unchanged = (gr.skip(), gr.skip())
        if not paths:
            return (*unchanged, "Choose one or more files to upload.", gr.skip(), gr.skip())
        try:
            meta = corpus.clean_metadata(title or "", publisher or "", date or "", url or "")
        except corpus.CorpusError as e:
            return (*unchanged, str(e), gr.skip(), gr.skip())
        if meta and len(paths) > 1:
            message = "Title, publisher, date and URL describe one document: upload one file at a time with them."
            return (*unchanged, message, gr.skip(), gr.skip())
        saved, refused = [], []
        for p in paths:
            try:
                saved.append(corpus.save_upload(self.settings, p, p.name, meta=meta or None, replace=bool(replace)))
            except corpus.CorpusError as e:
                refused.append(str(e))
        lines = [f"Added {name}." for name in saved] + [f"Refused: {r}" for r in refused]
        if saved:
            lines.append(self._reindex(progress))
        rows, choices, message, footer = self._view("\n\n".join(lines))
        return rows, choices, message, footer, gr.update(value=None)

    def admin_remove(self, password: str, name: str, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        self.check(password, request)
        try:
            corpus.remove_document(self.settings, name or "")
        except corpus.CorpusError as e:
            raise gr.Error(str(e)) from e
        return self._view(f"Removed {name}.\n\n" + self._reindex(progress))

    def admin_reindex(self, password: str, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        self.check(password, request)
        return self._view(self._reindex(progress))


def _delete_temporary(paths) -> None:
    """Delete Gradio's temporary copies of uploaded files (only inside Gradio's upload folder)."""
    from gradio.utils import get_upload_folder, is_in_or_equal

    folder = Path(get_upload_folder()).resolve()
    for p in paths:
        path = Path(getattr(p, "name", p))
        if not is_in_or_equal(path, folder) or path.resolve() == folder:
            continue
        try:
            path.unlink(missing_ok=True)
            if path.parent.resolve() != folder:
                path.parent.rmdir()  # Gradio keeps each upload in a folder of its own; left if not empty
        except OSError as e:
            log.debug("temporary upload %s not removed: %s", path, e)


def staff_tab(service: StaffService, insight: InsightService, L, footer: gr.Markdown, origins=None) -> None:
    """The staff tab (inside the page's ``gr.Tabs``); ``footer`` is the page footer to update;
    ``origins``: the embedding origins (``rag.web.embed.Origins``) the keys section changes."""
    s = service.settings
    with gr.Tab(L("rag_tab_staff"), id="staff"):
        gr.Markdown(
            f"Upload documents ({', '.join(SUPPORTED)}; at most {s.upload_max_mb} MB each and "
            f"{MAX_UPLOAD_FILES * s.upload_max_mb} MB in one go), remove them, and re-index. Every action needs the "
            "staff password: enter it and press 'Show documents' before choosing files."
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
                label=L("rag_upload_files"),
                file_count="multiple",
                file_types=list(SUPPORTED),
                type="filepath",
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
            remove_choice = gr.Dropdown(
                label=L("rag_remove_choice"),
                choices=[],
                allow_custom_value=True,
                scale=3,
                elem_id="staff-remove-choice",
            )
            remove = gr.Button(L("rag_remove"), variant="stop", scale=1, elem_id="staff-remove")
        reindex = gr.Button(L("rag_reindex"), elem_id="staff-reindex")

        view = [table, remove_choice, status, footer]
        # progress bars and errors on the status line only: the table and the rest keep what they show
        hidden = dict(
            api_visibility="undocumented", concurrency_id="staff", concurrency_limit=1, show_progress_on=[status]
        )
        refresh.click(service.admin_list, [password], view, api_name="admin_list", **hidden)
        upload.click(
            service.admin_upload,
            [password, files, title, publisher, date, url, replace],
            [*view, files],
            api_name="admin_upload",
            **hidden,
        )
        remove.click(service.admin_remove, [password, remove_choice], view, api_name="admin_remove", **hidden)
        reindex.click(service.admin_reindex, [password], view, api_name="admin_reindex", **hidden)
        insight_hidden = dict(api_visibility="undocumented", concurrency_id="staff", concurrency_limit=1)
        insight_sections(insight, L, password, insight_hidden)
        memory_section(MemoryService(service), L, password, insight_hidden)
        if origins is not None:
            keys_section(KeysService(service, origins), L, password, insight_hidden)
