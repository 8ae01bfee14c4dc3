"""Generator backends: one registry of name -> factory, and the function that picks one.

Each backend is a module of its own behind ``Generator`` (``base.py``); its factory below imports
only that module, so a backend whose package is missing costs nothing until asked for. Adding a
backend is one factory here (plus its module and test): ``Settings.backend``, both CLIs'
``--backend`` choices and the README's list all read ``BACKENDS``. Loaded models stay in-process,
so each model file loads once however often the factory is called.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from .base import Generator, GeneratorError, Prompt

Factory = Callable[..., Generator]  # (settings, embedder) -> Generator; raises GeneratorError
REGISTRY: dict[str, Factory] = {}

_loaded: dict[Hashable, Generator] = {}
_lock = threading.Lock()


def register(name: str) -> Callable[[Factory], Factory]:
    def add(factory: Factory) -> Factory:
        REGISTRY[name] = factory
        return factory

    return add


def _cached(key: Hashable, build) -> Generator:
    with _lock:  # also serialises loads: two threads never load the same model twice
        if key not in _loaded:
            _loaded[key] = build()
        return _loaded[key]


@register("llamacpp")
def _llamacpp(settings, embedder=None) -> Generator:
    """A local GGUF model in-process (the default: Qwen2.5-Coder-1.5B, fetched by rag.generation.gguf)."""
    from .gguf import resolve_gguf
    from .llamacpp import LlamaCppGenerator

    path = resolve_gguf(settings)
    key = (
        "llamacpp",
        str(path.resolve()),
        settings.llm_context,
        settings.llm_threads,
        settings.llm_prompt_lookup,
        settings.llm_state_cache_mb,
    )
    return _cached(
        key,
        lambda: LlamaCppGenerator(
            path,
            n_ctx=settings.llm_context,
            n_threads=settings.llm_threads,
            prompt_lookup=settings.llm_prompt_lookup,
            state_cache_mb=settings.llm_state_cache_mb,
        ),
    )


@register("openai")
def _openai(settings, embedder=None) -> Generator:
    """Any OpenAI-compatible server: vLLM, llama.cpp server, Ollama, a hosted API."""
    from .openai_compat import OpenAIGenerator

    return OpenAIGenerator(
        base_url=settings.openai_base_url,
        model=settings.openai_model,
        api_key=settings.openai_api_key,
        timeout=settings.openai_timeout,
    )


@register("transformers")
def _transformers(settings, embedder=None) -> Generator:
    """A local Hugging Face model folder (transformers_model_dir)."""
    from .hf import TransformersGenerator

    model_dir = settings.transformers_model_dir
    if model_dir is None:
        raise GeneratorError("backend 'transformers' needs transformers_model_dir (env RAG_TRANSFORMERS_MODEL_DIR)")
    key = ("transformers", str(model_dir), settings.llm_threads)
    return _cached(key, lambda: TransformersGenerator(model_dir, threads=settings.llm_threads))


@register("extractive")
def _extractive(settings, embedder=None) -> Generator:
    """No model: the passages' best supporting sentences, quoted (also the fallback)."""
    from .extractive import ExtractiveGenerator

    return ExtractiveGenerator(embedder=embedder)


BACKENDS: tuple[str, ...] = tuple(REGISTRY)


def get_generator(settings, backend: str | None = None, embedder=None) -> Generator:
    """The generator for ``backend`` (default ``settings.backend``). Raises GeneratorError."""
    backend = backend or settings.backend
    if backend not in REGISTRY:
        raise GeneratorError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    return REGISTRY[backend](settings, embedder)


__all__ = ["BACKENDS", "REGISTRY", "Generator", "GeneratorError", "Prompt", "get_generator", "register"]
