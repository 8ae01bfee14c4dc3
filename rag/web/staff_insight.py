"""The staff tab's insight sections: the question log, what the documents miss, usage at a glance,
curated answers ("answer it once") and the retrieval test.

``InsightService`` holds the handlers over the runtime (its store, question log, assistant); each
checks the staff password server-side first (``StaffService.check``: failures counted per client,
lockout), exactly as the document handlers do, so none of this exists without a staff password and
none of it answers without the password. ``insight_sections`` lays the components out inside the
staff tab; texts for staff that are no labels (reports, messages) are English, as in the rest of
the staff tab. How each report is drawn as markdown: ``rag.web.insight_render``.

Endpoints (undocumented, password-checked): ``/admin_log``, ``/admin_log_delete``, ``/admin_gaps``,
``/admin_usage``, ``/admin_curate_load``, ``/admin_curate_save``, ``/admin_curated``,
``/admin_curated_delete``, ``/admin_probe``.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pandas as pd

from ..answer.curated import CurationError, renumbered
from ..answer.probe import probe
from ..search.gaps import eval_questions, gap_report, write_csv
from ..store import FeedbackUnavailable
from ..store.feedback import write_jsonl
from ..store.questions import DAY_S, utc_now
from ..store.usage import usage
from .insight_render import curated_rows, gaps_markdown, log_rows, probe_markdown, usage_markdown

log = logging.getLogger(__name__)

LOG_HEADERS = ["Id", "Asked (UTC)", "Language", "Outcome", "Rating", "Seconds", "Backend", "Question", "Cited"]
CURATED_HEADERS = ["Id", "Status", "Question", "Languages", "Cites", "Note"]
LANGS = ("en", "zh", "ko")
# the usage plots, in the order ``admin_usage`` returns their data: (component, x, y, colour, label, elem_id)
PLOTS = (
    (gr.BarPlot, "day", "questions", "outcome", "rag_per_day", "staff-plot-day"),
    (gr.BarPlot, "language", "questions", None, "rag_languages", "staff-plot-lang"),
    (gr.ScatterPlot, "day", "seconds", "percentile", "rag_latency", "staff-plot-latency"),
    (gr.BarPlot, "day", "answers", "rating", "rag_thumbs", "staff-plot-thumbs"),
)


class InsightService:
    """Handlers of the insight sections (see the module docstring)."""

    def __init__(self, staff):
        self.staff = staff  # rag.web.staff.StaffService: the password check, the runtime
        self.runtime = staff.runtime
        self.store = self.runtime.store

    def _assistant(self):
        runtime = self.runtime
        runtime.ready.wait()
        if runtime.error or runtime.assistant is None:
            raise gr.Error(f"The assistant is not running: {runtime.public(runtime.error)}")
        runtime.follow_index()
        return runtime.assistant

    def _since(self, days) -> str:
        days = float(days or 30)
        if not 0 < days <= 3650:
            raise gr.Error("The period is 1 to 3650 days.")
        return utc_now(-days * DAY_S)

    def _flushed(self) -> None:
        """What was asked so far is in the log before staff read it."""
        if self.runtime.question_log is not None:
            self.runtime.question_log.flush(5.0)

    # --- the question log ----------------------------------------------------------------------

    def admin_log(self, password, days, request: gr.Request):
        self.staff.check(password, request)
        self._flushed()
        try:
            entries = self.store.questions.entries(self._since(days), limit=2000)
        except FeedbackUnavailable as e:
            return gr.skip(), str(e)
        return log_rows(entries), f"{len(entries)} questions in the last {days:g} days (newest first)."

    def admin_log_delete(self, password, entry_id, days, request: gr.Request):
        self.staff.check(password, request)
        if not entry_id:
            return gr.skip(), "Give the id of the log entry to delete."
        try:
            deleted = self.store.questions.delete(int(entry_id))
        except FeedbackUnavailable as e:
            return gr.skip(), str(e)
        rows, _ = self.admin_log(password, days, request)
        return rows, (f"Log entry {int(entry_id)} deleted." if deleted else f"There is no log entry {int(entry_id)}.")

    # --- what the documents miss ---------------------------------------------------------------

    def admin_gaps(self, password, days, request: gr.Request):
        """The gap report as markdown, and its CSV and evaluation-question files."""
        self.staff.check(password, request)
        self._flushed()
        assistant = self._assistant()
        try:
            entries = self.store.questions.gaps(self._since(days))
        except FeedbackUnavailable as e:
            return gr.skip(), None, None, str(e)
        gaps = gap_report(entries, assistant.retriever, self.runtime.settings)
        if not gaps:
            return "No abstained or thumbs-down questions in this period.", None, None, ""
        folder = Path(tempfile.mkdtemp(prefix="rag-gaps-"))
        stamp = time.strftime("%Y%m%d-%H%M%S")
        csv_path = write_csv(gaps, folder / f"gaps-{stamp}.csv")
        jsonl_path = folder / f"gap-questions-{stamp}.jsonl"
        write_jsonl(eval_questions(gaps), jsonl_path)
        message = f"{len(entries)} questions in {len(gaps)} group{'s' if len(gaps) != 1 else ''}."
        return gaps_markdown(gaps), str(csv_path), str(jsonl_path), message

    # --- usage ------------------------------------------------------------------------------------

    def admin_usage(self, password, days, request: gr.Request):
        self.staff.check(password, request)
        self._flushed()
        try:
            u = usage(self.store.questions.entries(self._since(days)))
        except FeedbackUnavailable as e:
            return str(e), *(gr.skip(),) * 4
        frames = (
            pd.DataFrame(u["per_day"], columns=["day", "outcome", "questions"]),
            pd.DataFrame([{"language": k, "questions": v} for k, v in u["languages"].items()]),
            pd.DataFrame(u["latency"], columns=["day", "percentile", "seconds"]).dropna(),
            pd.DataFrame(u["ratings"], columns=["day", "rating", "answers"]),
        )
        return usage_markdown(u, days), *frames

    # --- answer it once ----------------------------------------------------------------------------

    def admin_curate_load(self, password, entry_id, request: gr.Request):
        """A logged answer into the form: its question, its text in its language, its passages."""
        self.staff.check(password, request)
        self._flushed()
        entry = self.store.questions.get(int(entry_id)) if entry_id else None
        if entry is None:
            return *(gr.skip(),) * 6, "Give the id of a log entry (the log's first column)."
        text, chunks = renumbered(entry["answer"], entry["citations"])
        texts = {lang: text if lang == entry["language"] else "" for lang in LANGS}
        if entry["outcome"] not in ("answered", "quoted", "cached", "curated"):
            texts = dict.fromkeys(LANGS, "")  # an abstention's text is no answer: staff write one
        cited = ", ".join(chunks)
        note = f"Loaded log entry {entry['id']} ({entry['outcome']}); check the answer, then save it."
        return entry["question"], texts["en"], texts["zh"], texts["ko"], cited, entry["entry"], note

    def admin_curate_save(self, password, question, en, zh, ko, chunk_ids, source_entry, request: gr.Request):
        self.staff.check(password, request)
        assistant = self._assistant()
        chunks = [c for c in (chunk_ids or "").replace("\n", ",").split(",") if c.strip()]
        texts = {"en": en or "", "zh": zh or "", "ko": ko or ""}
        try:
            with self._model_slot() as generator:
                curated_id, notes = assistant.curator.save(
                    question, texts, chunks, assistant.retriever.index, generator, source_entry or ""
                )
        except (CurationError, FeedbackUnavailable) as e:
            return gr.skip(), str(e)
        rows, _ = self.admin_curated(password, request)
        return rows, f"Saved curated answer #{curated_id}." + "".join(f"\n\n- {n}" for n in notes)

    def _model_slot(self):
        """The language model for translating a curated answer, taken through the fair line (one
        generation at a time), or None (extractive, or the line is full)."""
        from contextlib import contextmanager

        runtime = self.runtime

        @contextmanager
        def slot():
            generator, _ = runtime.assistant.generator()
            if generator.name == "extractive":
                yield None
                return
            ticket = runtime.line.join("staff")
            if ticket is None:
                yield None
                return
            try:
                while not runtime.line.wait(ticket, 1.0):
                    if ticket.waited_s() > runtime.line.max_wait_s:
                        yield None
                        return
                yield generator
            finally:
                runtime.line.leave(ticket)

        return slot()

    def admin_curated(self, password, request: gr.Request):
        """Every curated answer; an active one whose cited document changed is suspended first."""
        self.staff.check(password, request)
        assistant = self._assistant()
        try:
            assistant.curator.review(assistant.retriever.index)
            entries = self.store.curated.all()
        except FeedbackUnavailable as e:
            return gr.skip(), str(e)
        suspended = sum(1 for e in entries if e["status"] == "suspended")
        return curated_rows(entries), f"{len(entries)} curated answers, {suspended} suspended for review."

    def admin_curated_delete(self, password, curated_id, request: gr.Request):
        self.staff.check(password, request)
        if not curated_id:
            return gr.skip(), "Give the id of the curated answer to delete."
        try:
            deleted = self.store.curated.delete(int(curated_id))
        except FeedbackUnavailable as e:
            return gr.skip(), str(e)
        rows, _ = self.admin_curated(password, request)
        return rows, (
            f"Curated answer {int(curated_id)} deleted." if deleted else f"No curated answer {int(curated_id)}."
        )

    # --- retrieval test ------------------------------------------------------------------------------

    def admin_probe(self, password, question, request: gr.Request):
        self.staff.check(password, request)
        question = (question or "").strip()
        if not question:
            return "Type a question to test."
        return probe_markdown(probe(self._assistant(), question))


def insight_sections(service: InsightService, L, password: gr.Textbox, hidden: dict) -> None:
    """The sections (inside the staff tab, under its password box); ``hidden``: the endpoints' options."""
    _wire(service, _layout(L), password, hidden)


def _layout(L) -> SimpleNamespace:
    """The sections' components."""
    ui = SimpleNamespace()
    ui.days = gr.Number(
        label=L("rag_period_days"), value=30, minimum=1, maximum=3650, precision=0, elem_id="staff-days"
    )
    with gr.Accordion(L("rag_question_log"), open=False, elem_id="staff-log-section"):
        ui.log_table = gr.Dataframe(headers=LOG_HEADERS, interactive=False, wrap=True, elem_id="staff-log")
        ui.log_status = gr.Markdown(elem_id="staff-log-status")
        with gr.Row():
            ui.show_log = gr.Button(L("rag_show_log"), elem_id="staff-show-log")
            ui.log_id = gr.Number(label=L("rag_log_entry"), precision=0, elem_id="staff-log-id")
            ui.delete_log = gr.Button(L("rag_delete_entry"), variant="stop", elem_id="staff-log-delete")
    with gr.Accordion(L("rag_gaps"), open=False, elem_id="staff-gaps-section"):
        ui.find_gaps = gr.Button(L("rag_find_gaps"), elem_id="staff-find-gaps")
        ui.gaps_status = gr.Markdown(elem_id="staff-gaps-status")
        with gr.Row():
            ui.gaps_csv = gr.File(label="CSV", interactive=False, elem_id="staff-gaps-csv")
            ui.gaps_jsonl = gr.File(label=L("rag_eval_questions"), interactive=False, elem_id="staff-gaps-jsonl")
        ui.gaps_report = gr.Markdown(elem_id="staff-gaps")
    with gr.Accordion(L("rag_usage"), open=False, elem_id="staff-usage-section"):
        ui.show_usage = gr.Button(L("rag_show_usage"), elem_id="staff-show-usage")
        ui.usage_text = gr.Markdown(elem_id="staff-usage")
        ui.plots = []
        for row in (PLOTS[:2], PLOTS[2:]):
            with gr.Row():
                for kind, x, y, color, label, elem_id in row:
                    ui.plots.append(kind(x=x, y=y, color=color, label=L(label), y_lim=[0, None], elem_id=elem_id))
    with gr.Accordion(L("rag_curated"), open=False, elem_id="staff-curated-section"):
        with gr.Row():
            ui.load_id = gr.Number(label=L("rag_log_entry"), precision=0, elem_id="staff-curate-id")
            ui.load = gr.Button(L("rag_load_from_log"), elem_id="staff-curate-load")
        ui.question = gr.Textbox(label=L("rag_curated_question"), elem_id="staff-curate-question")
        ui.texts = [
            gr.Textbox(label=f"{L('rag_curated_answer')} ({code})", lines=2, elem_id=f"staff-curate-{code}")
            for code in LANGS
        ]
        ui.chunk_ids = gr.Textbox(label=L("rag_cited_passages"), elem_id="staff-curate-chunks")
        ui.source_entry = gr.Textbox(visible=False)
        ui.save = gr.Button(L("rag_save_curated"), variant="primary", elem_id="staff-curate-save")
        ui.curated_status = gr.Markdown(elem_id="staff-curate-status")
        ui.curated_table = gr.Dataframe(headers=CURATED_HEADERS, interactive=False, wrap=True, elem_id="staff-curated")
        with gr.Row():
            ui.show_curated = gr.Button(L("rag_show_curated"), elem_id="staff-show-curated")
            ui.curated_id = gr.Number(label=L("rag_curated_id"), precision=0, elem_id="staff-curated-id")
            ui.delete_curated = gr.Button(L("rag_delete_curated"), variant="stop", elem_id="staff-curated-delete")
    with gr.Accordion(L("rag_retrieval_test"), open=False, elem_id="staff-probe-section"):
        ui.probe_question = gr.Textbox(label=L("rag_question"), elem_id="staff-probe-question")
        ui.run_probe = gr.Button(L("rag_test_retrieval"), elem_id="staff-probe")
        ui.probe_out = gr.Markdown(elem_id="staff-probe-result")
    return ui


def _wire(service: InsightService, ui: SimpleNamespace, password: gr.Textbox, hidden: dict) -> None:
    """The sections' events: every one a password-checked endpoint."""
    ui.show_log.click(
        service.admin_log, [password, ui.days], [ui.log_table, ui.log_status], api_name="admin_log", **hidden
    )
    ui.delete_log.click(
        service.admin_log_delete,
        [password, ui.log_id, ui.days],
        [ui.log_table, ui.log_status],
        api_name="admin_log_delete",
        **hidden,
    )
    ui.find_gaps.click(
        service.admin_gaps,
        [password, ui.days],
        [ui.gaps_report, ui.gaps_csv, ui.gaps_jsonl, ui.gaps_status],
        api_name="admin_gaps",
        **hidden,
    )
    ui.show_usage.click(
        service.admin_usage,
        [password, ui.days],
        [ui.usage_text, *ui.plots],
        api_name="admin_usage",
        **hidden,
    )
    ui.load.click(
        service.admin_curate_load,
        [password, ui.load_id],
        [ui.question, *ui.texts, ui.chunk_ids, ui.source_entry, ui.curated_status],
        api_name="admin_curate_load",
        **hidden,
    )
    ui.save.click(
        service.admin_curate_save,
        [password, ui.question, *ui.texts, ui.chunk_ids, ui.source_entry],
        [ui.curated_table, ui.curated_status],
        api_name="admin_curate_save",
        **hidden,
    )
    ui.show_curated.click(
        service.admin_curated, [password], [ui.curated_table, ui.curated_status], api_name="admin_curated", **hidden
    )
    ui.delete_curated.click(
        service.admin_curated_delete,
        [password, ui.curated_id],
        [ui.curated_table, ui.curated_status],
        api_name="admin_curated_delete",
        **hidden,
    )
    ui.run_probe.click(
        service.admin_probe, [password, ui.probe_question], [ui.probe_out], api_name="admin_probe", **hidden
    )
