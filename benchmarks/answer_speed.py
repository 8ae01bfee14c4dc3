"""How long an answer takes with each generation backend, through the real Assistant.

    python benchmarks/answer_speed.py [--backends extractive llamacpp ...] [--gguf qwen2.5-coder-0.5b]
                                      [--transformers-dir DIR] [--openai-url URL]

For each backend: the time to load it, then for a few fixed corpus questions the time to the
first verified sentence (what the investor waits for) and to the complete answer. The ``openai``
backend needs a running OpenAI-compatible server (e.g. ``python -m llama_cpp.server --model
FILE``); ``transformers`` needs a Hugging Face model folder.
"""

from __future__ import annotations

import argparse
import statistics
import time

from rag.answer.pipeline import Assistant
from rag.config import get_settings

QUESTIONS = [
    "Which semiconductor fields does the China-ROK zone want to cooperate in?",
    "What does the Norman Bethune Center for Medical Sciences focus on?",
    "What kind of tourism cooperation does the China-ROK zone support?",
    "What is the corporate income tax rate in the China-ROK zone?",
]


def run(assistant: Assistant, backend: str) -> dict:
    t = time.perf_counter()
    generator, notice = assistant.generator(backend)
    load_s = time.perf_counter() - t
    if notice:
        return {"backend": backend, "error": notice}
    first, total = [], []
    for q in QUESTIONS:
        t = time.perf_counter()
        seen_first = False
        for event in assistant.ask_stream(q, backend=backend):
            if event.kind == "delta" and not seen_first:
                first.append(time.perf_counter() - t)
                seen_first = True
        total.append(time.perf_counter() - t)
    return {
        "backend": backend,
        "model": generator.model,
        "load_s": load_s,
        "first_sentence_s": statistics.median(first),
        "answer_s": statistics.median(total),
        "max_answer_s": max(total),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", nargs="+", default=["extractive", "llamacpp"])
    ap.add_argument("--gguf", default=None, help="registry name or .gguf path for llamacpp")
    ap.add_argument("--transformers-dir", default=None)
    ap.add_argument("--openai-url", default=None)
    args = ap.parse_args()
    settings = get_settings(
        gguf_model=args.gguf, transformers_model_dir=args.transformers_dir, openai_base_url=args.openai_url
    )
    assistant = Assistant(settings)
    assistant.retriever.search("warm up")  # the embedder and index load once, outside the timings
    print("| backend | model | load s | first sentence s (median) | full answer s (median) | slowest s |")
    print("|---|---|---:|---:|---:|---:|")
    for backend in args.backends:
        r = run(assistant, backend)
        if "error" in r:
            print(f"| {backend} | unavailable: {r['error']} | | | | |")
            continue
        print(
            f"| {backend} | {r['model']} | {r['load_s']:.1f} | {r['first_sentence_s']:.1f} | "
            f"{r['answer_s']:.1f} | {r['max_answer_s']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
