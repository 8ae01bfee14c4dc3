"""The llama.cpp backend: a local GGUF model run in-process through llama-cpp-python.

One ``Llama`` instance per model file (the factory caches it); a lock lets one generation
run at a time, since llama.cpp contexts are not re-entrant and already use every thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from .base import Generator, GeneratorError, Prompt


class LlamaCppGenerator(Generator):
    name = "llamacpp"

    def __init__(
        self, model_path: Path, n_ctx: int = 4096, n_threads: int = 2, prompt_lookup: int = 0, state_cache_mb: int = 0
    ):
        try:
            from llama_cpp import Llama, LlamaRAMCache
            from llama_cpp.llama_speculative import LlamaPromptLookupDecoding
        except ImportError as exc:
            raise GeneratorError("llama-cpp-python is not installed (pip install llama-cpp-python)") from exc
        model_path = Path(model_path)
        if not model_path.is_file():
            raise GeneratorError(f"GGUF model file not found: {model_path}")
        try:
            # prompt lookup: runs copied from the prompt are drafted and checked in one step (greedy
            # output unchanged); llama-cpp-python needs logits for every prompt token then (without
            # logits_all it fails on a prompt longer than one batch)
            draft = (
                {"draft_model": LlamaPromptLookupDecoding(num_pred_tokens=prompt_lookup), "logits_all": True}
                if prompt_lookup
                else {}
            )
            self._llm = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=n_threads, verbose=False, **draft)
            # llama.cpp re-reads a prompt only from its first token that differs from the last one;
            # the state cache keeps the model's state after recent prompts, so an answer after a
            # translation still starts from the constant prefix it shares with the last answer
            if state_cache_mb:
                self._llm.set_cache(LlamaRAMCache(capacity_bytes=state_cache_mb << 20))
        except Exception as exc:  # llama-cpp raises ValueError/RuntimeError with little detail
            raise GeneratorError(f"llama.cpp could not load {model_path}: {exc}") from exc
        self.model = model_path.stem
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(self, prompt: Prompt) -> Iterator[str]:
        with self._lock:
            try:
                chunks = self._llm.create_chat_completion(
                    messages=prompt.messages,
                    stream=True,
                    max_tokens=prompt.max_tokens,
                    temperature=prompt.temperature,
                )
                for chunk in chunks:
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            except Exception as exc:  # e.g. prompt longer than the context window
                raise GeneratorError(f"llama.cpp generation failed: {exc}") from exc
