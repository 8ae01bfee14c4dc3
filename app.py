"""The web app: ``python app.py`` (or ``make run``) serves the investor chat on
http://127.0.0.1:7860 (``RAG_HOST`` / ``RAG_PORT``). The UI lives in rag/web/ (the page in
app.py, the staff tab in staff.py, fair serving and request limits in serving.py); set
``RAG_STAFF_PASSWORD`` to enable the staff tab. The same port serves the OpenAI-compatible API under
``/v1`` (api.py) and the chat for other websites at ``/embed`` with its snippet ``/embed.js``
(embed.py). The server listens within seconds; the index
(built first if missing, with progress in the page and here) and the models load meanwhile."""

import time

STARTED = time.perf_counter()

import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "urllib3", "sentence_transformers", "faiss", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from rag.config import get_settings
    from rag.web.app import build_app, launch_options

    settings = get_settings()
    listening = threading.Event()
    demo = build_app(settings, started=STARTED, models_after=listening)
    demo.queue(max_size=64)
    demo.launch(**launch_options(settings, demo), prevent_thread_lock=True)
    logging.getLogger("app").warning(
        "listening on http://%s:%d after %.1f s%s",
        settings.host,
        settings.port,
        time.perf_counter() - STARTED,
        ""
        if settings.staff_password
        else f" (staff tab off: {settings.staff_disabled_reason or 'RAG_STAFF_PASSWORD is not set'})",
    )
    listening.set()
    # a termination (the tests, a service manager) exits like Ctrl-C: atexit handlers run, so the
    # question log's background writer writes what it still holds (rag.web.startup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    demo.block_thread()


if __name__ == "__main__":
    main()
