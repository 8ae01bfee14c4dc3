"""The transformers backend: a local Hugging Face-format model folder (config, weights,
tokenizer) run with ``AutoModelForCausalLM`` and streamed through ``TextIteratorStreamer``.

Slow on CPU next to llama.cpp (the README's speed table); it exists for models that have no
GGUF. The folder is the ``transformers_model_dir`` setting (``RAG_TRANSFORMERS_MODEL_DIR``).
Nothing is fetched: the folder must hold everything.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

from .base import Generator, GeneratorError, Prompt


class TransformersGenerator(Generator):
    name = "transformers"

    def __init__(self, model_dir: Path, threads: int = 2):
        model_dir = Path(model_dir).expanduser()
        if not model_dir.is_dir():
            raise GeneratorError(f"transformers model folder not found: {model_dir}")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            torch.set_num_threads(threads)
            self._tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
            self._model = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True).eval()
        except Exception as exc:
            raise GeneratorError(f"transformers could not load {model_dir}: {exc}") from exc
        self.model = model_dir.name
        self._lock = threading.Lock()

    def _inputs(self, messages: list[dict]) -> dict:
        if self._tokenizer.chat_template:
            return dict(
                self._tokenizer.apply_chat_template(
                    messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
                )
            )
        text = "\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\nassistant:"
        return dict(self._tokenizer(text, return_tensors="pt"))

    def stream(self, prompt: Prompt) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        stop = threading.Event()

        class _StopWhenAsked(StoppingCriteria):  # lets an abandoned stream end the generate thread
            def __call__(self, input_ids, scores, **kwargs):
                return torch.full((input_ids.shape[0],), stop.is_set(), dtype=torch.bool)

        with self._lock:
            try:
                inputs = self._inputs(prompt.messages)
            except Exception as exc:
                raise GeneratorError(f"could not build the model input: {exc}") from exc
            streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True)
            sampling = {"do_sample": False}
            if prompt.temperature > 0:
                sampling = {"do_sample": True, "temperature": prompt.temperature}
            pad_id = self._tokenizer.pad_token_id
            if pad_id is None:
                pad_id = self._tokenizer.eos_token_id
            errors: list[BaseException] = []

            def run() -> None:
                try:
                    with torch.inference_mode():
                        self._model.generate(
                            **inputs,
                            streamer=streamer,
                            max_new_tokens=prompt.max_tokens,
                            pad_token_id=pad_id,
                            stopping_criteria=StoppingCriteriaList([_StopWhenAsked()]),
                            **sampling,
                        )
                except Exception as exc:
                    errors.append(exc)
                    streamer.end()  # unblock the reader below

            thread = threading.Thread(target=run, name="transformers-generate", daemon=True)
            thread.start()
            try:
                for piece in streamer:
                    if piece:
                        yield piece
            finally:
                stop.set()
                thread.join()
            if errors:
                raise GeneratorError(f"transformers generation failed: {errors[0]}") from errors[0]
