"""The staff tab's translation memory: every translated sentence the investors were shown, newest
first, filtered by language; staff correct an entry (their text wins from then on and the model
never overwrites it) or mark it wrong (it is not shown again; the sentence is translated anew).

A person corrects the memory, not the model (``rag.store.memory``). Each handler checks the staff
password server-side first (``StaffService.check``), as every staff endpoint does. A correction is
checked like a model's translation (markers, numbers, names, terms, meaning:
``rag.answer.translation.check``); what the check says is shown to staff beside the saved entry,
and staff decide: they may know better than the check.

Endpoints (undocumented, password-checked): ``/admin_memory``, ``/admin_memory_correct``,
``/admin_memory_wrong``.
"""

from __future__ import annotations

import gradio as gr

from ..answer.translation import check
from ..store import FeedbackUnavailable

HEADERS = ["Id", "Updated", "Language", "Status", "Sentence", "Translation", "Model"]
LANGUAGES = ("all", "zh", "ko", "en")


class MemoryService:
    """Handlers of the translation-memory section (see the module docstring)."""

    def __init__(self, staff):
        self.staff = staff  # rag.web.staff.StaffService: the password check, the runtime
        self.memory = staff.runtime.store.memory

    def _rows(self, language: str) -> list[list]:
        try:
            entries = self.memory.entries(None if language in ("", "all", None) else language)
        except FeedbackUnavailable as e:
            raise gr.Error(str(e)) from None
        return [
            [
                e["id"],
                e["updated_at"][:16].replace("T", " "),
                e["language"],
                e["status"],
                e["source"],
                e["text"],
                e["model"],
            ]
            for e in entries
        ]

    def admin_memory(self, password, language, request: gr.Request):
        self.staff.check(password, request)
        rows = self._rows(language)
        return rows, f"{len(rows)} translations, newest first."

    def admin_memory_correct(self, password, language, entry_id, text, request: gr.Request):
        self.staff.check(password, request)
        entry = self._entry(entry_id)
        text = (text or "").strip()
        if not text:
            raise gr.Error("Write the corrected translation first.")
        self.memory.correct(entry["id"], text[:2000])
        why = check(entry["source"], text, entry["language"])
        note = f" The translation check says: {why}." if why else " It passes the translation check."
        return self._rows(language), f"Entry {entry['id']} corrected: investors see your text from now on.{note}"

    def admin_memory_wrong(self, password, language, entry_id, request: gr.Request):
        self.staff.check(password, request)
        entry = self._entry(entry_id)
        self.memory.mark_wrong(entry["id"])
        return self._rows(language), f"Entry {entry['id']} marked wrong: it is not shown again."

    def _entry(self, entry_id) -> dict:
        if entry_id is None or int(entry_id) < 1:
            raise gr.Error("Give the entry's id (first column).")
        entry = self.memory.get(int(entry_id))
        if entry is None:
            raise gr.Error(f"There is no entry {int(entry_id)}.")
        return entry


def memory_section(service: MemoryService, L, password: gr.Textbox, hidden: dict) -> None:
    """The section's components and events (inside the staff tab, under its password box)."""
    with gr.Accordion(L("rag_memory"), open=False, elem_id="staff-memory-section"):
        with gr.Row():
            language = gr.Dropdown(list(LANGUAGES), value="all", label=L("rag_language"), elem_id="staff-memory-lang")
            show = gr.Button(L("rag_show_memory"), elem_id="staff-show-memory")
        table = gr.Dataframe(headers=HEADERS, interactive=False, wrap=True, elem_id="staff-memory")
        status = gr.Markdown(elem_id="staff-memory-status")
        with gr.Row():
            entry = gr.Number(label=L("rag_memory_entry"), precision=0, elem_id="staff-memory-id")
            text = gr.Textbox(label=L("rag_memory_text"), scale=3, max_length=2000, elem_id="staff-memory-text")
        with gr.Row():
            correct = gr.Button(L("rag_memory_correct"), variant="primary", elem_id="staff-memory-correct")
            wrong = gr.Button(L("rag_memory_wrong"), variant="stop", elem_id="staff-memory-wrong")
    out = [table, status]
    show.click(service.admin_memory, [password, language], out, api_name="admin_memory", **hidden)
    language.change(service.admin_memory, [password, language], out, api_visibility="private", **_no_api(hidden))
    correct.click(
        service.admin_memory_correct, [password, language, entry, text], out, api_name="admin_memory_correct", **hidden
    )
    wrong.click(service.admin_memory_wrong, [password, language, entry], out, api_name="admin_memory_wrong", **hidden)


def _no_api(hidden: dict) -> dict:
    return {k: v for k, v in hidden.items() if k != "api_visibility"}
