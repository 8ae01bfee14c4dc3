"""Generator backends and the factory that picks one.

``get_generator(settings, backend)`` imports only the backend asked for and keeps loaded
models in-process, so each model file loads once however often the factory is called.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable

from .base import Generator, GeneratorError, Prompt

BACKENDS: tuple[str, ...] = ("llamacpp", "openai", "transformers", "extractive")

_loaded: dict[Hashable, Generator] = {}
_lock = threading.Lock()


def _cached(key: Hashable, build) -> Generator:
    with _lock:  # also serialises loads: two threads never load the same model twice
        if key not in _loaded:
            _loaded[key] = build()
        return _loaded[key]


def get_generator(settings, backend: str | None = None, embedder=None) -> Generator:
    """The generator for ``backend`` (default ``settings.backend``). Raises GeneratorError."""
    backend = backend or settings.backend
    if backend == "llamacpp":
        from ..models import resolve_gguf
        from .llamacpp import LlamaCppGenerator

        path = resolve_gguf(settings)
        key = (backend, str(path.resolve()), settings.llm_context, settings.llm_threads)
        return _cached(key, lambda: LlamaCppGenerator(path, n_ctx=settings.llm_context, n_threads=settings.llm_threads))
    if backend == "openai":
        from .openai_compat import OpenAIGenerator

        return OpenAIGenerator(
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            api_key=settings.openai_api_key,
            timeout=settings.openai_timeout,
        )
    if backend == "transformers":
        from .hf import TransformersGenerator

        model_dir = settings.transformers_model_dir
        if model_dir is None:
            raise GeneratorError("backend 'transformers' needs transformers_model_dir (env RAG_TRANSFORMERS_MODEL_DIR)")
        key = (backend, str(model_dir), settings.llm_threads)
        return _cached(key, lambda: TransformersGenerator(model_dir, threads=settings.llm_threads))
    if backend == "extractive":
        from .extractive import ExtractiveGenerator

        return ExtractiveGenerator(embedder=embedder)
    raise GeneratorError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Generator", "GeneratorError", "Prompt", "get_generator"]
