"""The generator interface every backend implements.

A backend turns a :class:`Prompt` into streamed text. LLM backends read ``prompt.messages``
(chat format, already holding the numbered passages and grounding rules); the extractive
backend reads ``prompt.question`` and ``prompt.passages`` directly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field


class GeneratorError(RuntimeError):
    """A backend could not load or could not generate; the caller falls back to extractive."""


@dataclass
class Prompt:
    messages: list[dict]  # [{"role": "system"|"user"|"assistant", "content": str}, ...]
    question: str  # the (standalone) question
    passages: list[str] = field(default_factory=list)  # passage texts, passage n is passages[n-1]
    max_tokens: int = 320
    temperature: float = 0.0


class Generator(ABC):
    """One backend. ``name`` is the backend name, ``model`` says which model it runs."""

    name: str = "base"
    model: str = ""

    @abstractmethod
    def stream(self, prompt: Prompt) -> Iterator[str]:
        """Yield pieces of the answer as they are produced. Raises GeneratorError on failure."""

    def generate(self, prompt: Prompt) -> str:
        return "".join(self.stream(prompt))

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` in the model's vocabulary. This default over-counts on purpose (a
        token per 3 bytes of UTF-8: about 4 characters of English, 1 Chinese or Korean
        character); backends that know their tokenizer override it."""
        return len(text.encode("utf-8")) // 3 + 1
