"""Start-up and status: the assistant as this server runs it.

``Runtime`` owns:
  * start-up: the index is loaded (or built, with progress shown in the page and the log) and
    the embedder and language model are warmed up in a background thread while the server
    already listens; the chat waits for that, showing progress, so the page opens at once;
  * a re-index by another process sharing the index folder is picked up: each request checks
    where ``embeddings/current`` points and loads that version when it changed;
  * ``status`` (the public ``/status`` endpoint) and the page footer, with no server paths or
    addresses in them (``public``; the log keeps them);
  * what every question shares, whichever way it comes in: the questions in flight per client
    and conversation (``admission``) and the fair line for the one model slot (``line``;
    ``rag.web.serving``);
  * the store (``rag.store``: ratings, the question log, curated answers) and the question log's
    background writer (``question_log``; None with ``log_questions`` off), flushed at exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from pathlib import Path

import gradio as gr

from ..answer.pipeline import Assistant
from ..config import Settings
from ..ingest.store import IndexUnavailable, current_path
from ..store import LogWriter, open_store
from .render import html_text, md_text
from .serving import Admission, ModelLine, public_text, settings_secrets

log = logging.getLogger(__name__)


class Runtime:
    """The assistant being started, then running, on this server (see the module docstring)."""

    def __init__(self, settings: Settings, started: float | None = None, assistant: Assistant | None = None):
        self.settings = settings
        self.started = started if started is not None else time.perf_counter()
        self.assistant = assistant
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
        self.store = open_store(settings)
        self.question_log: LogWriter | None = None
        if settings.log_questions:
            self.question_log = LogWriter(self.store.questions, settings.log_retention_days)
            atexit.register(self.question_log.close)

    def public(self, text: str | None) -> str:
        """``text`` as the public may see it: no server paths or addresses (``rag.web.serving``)."""
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
        from ..search.retrieval import open_retriever

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
                self.documents(),
                self.backend,
                self.model,
            )
        except Exception as e:  # shown in the chat instead of a dead page
            log.exception("start-up failed")
            self.error = f"{e.__class__.__name__}: {e}"
        finally:
            self.ready.set()

    def running(self) -> bool:
        return self.ready.is_set() and not self.error and self.assistant is not None

    def reload_index(self) -> None:
        """Use the index on disk now (after a re-index here)."""
        with self._reload_lock:
            self.assistant.reload_index()

    def follow_index(self) -> None:
        """Pick up a re-index made by another process: when ``embeddings/current`` points at
        another version than the one loaded, load that (a cheap check, made per request)."""
        if not self.running() or not self.assistant.retriever_loaded:
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

    def documents(self) -> int:
        a = self.assistant
        if a is None or not a.retriever_loaded:
            return 0
        return len(a.retriever.index.manifest.get("files", {}))

    def status(self) -> dict:
        """Whether the assistant is ready, and what it runs on (no server paths or addresses)."""
        self.follow_index()
        frac, msg = self.progress
        chunks = self.assistant.retriever.index.size if self.running() else 0
        return {
            "ready": self.running(),
            "progress": round(frac, 3),
            "message": self.public(msg),
            "error": self.public(self.error) if self.error else None,
            "backend": self.backend,
            "model": self.public(self.model),
            "documents": self.documents() if chunks else 0,
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
            f"<small>{self.documents()} documents, {self.assistant.retriever.index.size} passages indexed · "
            f"answers by {html_text(self.public(model))} · every answer is checked against its sources</small>"
        )

    def wait_ready(self, progress=gr.Progress()):  # noqa: B008 (Gradio's way of asking for a progress bar)
        """Page load: show a progress bar while the index is built and models load."""
        while not self.ready.wait(0.4):
            frac, msg = self.progress
            progress(frac, desc=self.public(msg))
        return self.footer(), gr.skip()
