"""The OpenAI-compatible backend: any server speaking the chat-completions API
(``python -m llama_cpp.server``, vLLM, Ollama, a hosted API), streamed through the
``openai`` client."""

from __future__ import annotations

from collections.abc import Iterator

from .base import Generator, GeneratorError, Prompt


class OpenAIGenerator(Generator):
    name = "openai"

    def __init__(
        self, base_url: str, model: str, api_key: str = "not-needed", timeout: float = 120.0, max_retries: int = 1
    ):
        try:
            import openai
        except ImportError as exc:
            raise GeneratorError("the openai package is not installed (pip install openai)") from exc
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries)
        self.base_url = base_url
        self.model = model

    def stream(self, prompt: Prompt) -> Iterator[str]:
        try:
            chunks = self._client.chat.completions.create(
                model=self.model,
                messages=prompt.messages,
                max_tokens=prompt.max_tokens,
                temperature=prompt.temperature,
                stream=True,
            )
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except Exception as exc:  # openai.APIError family, or a transport error mid-stream
            raise GeneratorError(
                f"OpenAI-compatible endpoint {self.base_url} failed: {type(exc).__name__}: {exc}"
            ) from exc
