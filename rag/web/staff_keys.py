"""The staff tab's API keys and embedding: who may call ``/v1`` and which websites may embed the chat.

Staff create a key for a partner (shown once, here only: the store keeps its SHA-256,
``rag.store.keys``) and revoke one (for good: a revoked key gets 401 at its next request); they see
every key with its prefix, state and questions today. They set the websites allowed to embed the
chat (origins, one per line; ``embed_origins`` in the settings adds to them) and copy the snippet
that puts the chat on such a site (``rag.web.embed``). A change of origins applies at once.
Each handler checks the staff password server-side first (``StaffService.check``).

Endpoints (undocumented, password-checked): ``/admin_keys``, ``/admin_key_create``,
``/admin_key_revoke``, ``/admin_origins``.
"""

from __future__ import annotations

import gradio as gr

from ..store import FeedbackUnavailable
from ..store.keys import AccessError
from .embed import snippet

HEADERS = ["Name", "Key starts", "Created", "State", "Questions today"]


class KeysService:
    """Handlers of the keys-and-embedding section (see the module docstring)."""

    def __init__(self, staff, origins):
        self.staff = staff  # rag.web.staff.StaffService: the password check, the runtime
        self.keys = staff.runtime.store.keys
        self.origins = origins  # rag.web.embed.Origins: forgets its cache when staff change them

    def _rows(self) -> list[list]:
        try:
            keys = self.keys.all()
        except FeedbackUnavailable as e:
            raise gr.Error(str(e)) from None
        return [
            [k["name"], k["prefix"] + "…", k["created_at"][:16].replace("T", " "), _state(k), k["today"]] for k in keys
        ]

    def admin_keys(self, password, request: gr.Request):
        self.staff.check(password, request)
        origins = "\n".join(self.keys.origins())
        return self._rows(), origins, _snippet(request), f"{len(self._rows())} keys."

    def admin_key_create(self, password, name, request: gr.Request):
        self.staff.check(password, request)
        try:
            key = self.keys.create(name or "")
        except AccessError as e:
            raise gr.Error(str(e)) from None
        note = f"Key for {name.strip()} created. Copy it now: it is not shown again."
        return self._rows(), key, note

    def admin_key_revoke(self, password, name, request: gr.Request):
        self.staff.check(password, request)
        name = (name or "").strip()
        if not self.keys.revoke(name):
            raise gr.Error(f"There is no active key named {name!r}.")
        return self._rows(), "", f"Key {name} revoked: it is refused from now on."

    def admin_origins(self, password, text, request: gr.Request):
        self.staff.check(password, request)
        try:
            saved = self.keys.set_origins((text or "").splitlines())
        except AccessError as e:
            raise gr.Error(str(e)) from None
        self.origins.forget()
        configured = sorted(self.origins.configured)
        extra = f" The settings add: {', '.join(configured)}." if configured else ""
        return "\n".join(saved), f"{len(saved)} websites may embed the chat.{extra}"


def _state(key: dict) -> str:
    return "active" if key["active"] else f"revoked {key['revoked_at'][:10]}"


def _snippet(request: gr.Request | None) -> str:
    headers = getattr(request, "headers", None) or {}
    host = headers.get("x-forwarded-host") or headers.get("host") or "127.0.0.1:7860"
    scheme = headers.get("x-forwarded-proto") or "http"
    return snippet(f"{scheme}://{host}")


def keys_section(service: KeysService, L, password: gr.Textbox, hidden: dict) -> None:
    """The section's components and events (inside the staff tab, under its password box)."""
    with gr.Accordion(L("rag_api_keys"), open=False, elem_id="staff-keys-section"):
        show = gr.Button(L("rag_show_keys"), elem_id="staff-show-keys")
        table = gr.Dataframe(headers=HEADERS, interactive=False, wrap=True, elem_id="staff-keys")
        status = gr.Markdown(elem_id="staff-keys-status")
        with gr.Row():
            name = gr.Textbox(label=L("rag_key_name"), max_length=64, elem_id="staff-key-name")
            create = gr.Button(L("rag_create_key"), variant="primary", elem_id="staff-key-create")
            revoke = gr.Button(L("rag_revoke_key"), variant="stop", elem_id="staff-key-revoke")
        key = gr.Textbox(label=L("rag_new_key"), interactive=False, buttons=["copy"], elem_id="staff-new-key")
        origins = gr.Textbox(label=L("rag_embed_origins"), lines=3, max_length=4000, elem_id="staff-origins")
        save = gr.Button(L("rag_save_origins"), elem_id="staff-save-origins")
        code = gr.Code(label=L("rag_embed_snippet"), language="html", interactive=False, elem_id="staff-snippet")
    show.click(service.admin_keys, [password], [table, origins, code, status], api_name="admin_keys", **hidden)
    create.click(
        service.admin_key_create, [password, name], [table, key, status], api_name="admin_key_create", **hidden
    )
    revoke.click(
        service.admin_key_revoke, [password, name], [table, key, status], api_name="admin_key_revoke", **hidden
    )
    save.click(service.admin_origins, [password, origins], [origins, status], api_name="admin_origins", **hidden)
