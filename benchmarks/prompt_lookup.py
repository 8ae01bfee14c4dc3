"""Prompt-lookup speculative decoding against plain greedy decoding, on the pipeline's own prompts.

    python benchmarks/prompt_lookup.py [--questions 8] [--drafts 10 4] [--step answer|translate]

The answer prompts of the first N answerable English questions of eval/questions.jsonl are taken
from the pipeline (``fit_answer_prompt``, recorded while the extractive backend answers, so no
model runs to get them); with ``--step translate``, the translation prompts of the sentences the
extractive backend answers the first N answerable English questions with, each into Chinese and
into Korean (protected as the pipeline protects them, ``rag.answer.protect``; the extractive
backend cannot read a Chinese or Korean question without the model). Each prompt goes through llama.cpp plain and with
``LlamaPromptLookupDecoding`` for each draft length, in turn (interleaved, so a change of load
hits every variant alike). Prints prompt reading and decoding time, pieces per second, and how
many outputs are identical to plain greedy. Figures: docs/benchmarks.md ("Issue 19").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def answer_prompts(n: int) -> list:
    """The pipeline's answer prompts for the first ``n`` answerable English questions."""
    import rag.answer.pipeline as pipeline
    from rag.config import get_settings

    lines = (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [q for q in map(json.loads, lines) if q["lang"] == "en" and q["answerable"]][:n]
    prompts, fit = [], pipeline.fit_answer_prompt

    def recorded(*args, **kwargs):
        prompt, hits = fit(*args, **kwargs)
        prompts.append(prompt)
        return prompt, hits

    pipeline.fit_answer_prompt = recorded
    try:
        assistant = pipeline.Assistant(get_settings().model_copy(update={"backend": "extractive"}))
        for q in questions:
            assistant.ask(q["question"])
    finally:
        pipeline.fit_answer_prompt = fit
    return prompts


def translation_prompts(n: int) -> list:
    """The translation prompts of the sentences answering the first ``n`` answerable English
    questions, each into Chinese and into Korean."""
    from rag.answer.pipeline import Assistant
    from rag.answer.protect import protect
    from rag.answer.translation import Translator
    from rag.config import get_settings
    from rag.text import split_sentences

    lines = (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [q for q in map(json.loads, lines) if q["lang"] == "en" and q["answerable"]][:n]
    assistant = Assistant(get_settings().model_copy(update={"backend": "extractive"}))
    prompts = []
    for q in questions:
        answer = assistant.ask(q["question"])
        for sentence in split_sentences(answer.answer):
            for lang in ("zh", "ko"):
                prompts.append(Translator(None).prompt(protect(sentence.text, "en", lang).text, "en", lang))
    return prompts


def timed(llm, prompt) -> tuple[float, float, str, int]:
    """(seconds to the first piece, seconds from the first to the last, text, pieces)."""
    t0, first, pieces = time.perf_counter(), None, []
    for chunk in llm.create_chat_completion(
        messages=prompt.messages, stream=True, max_tokens=prompt.max_tokens, temperature=0.0
    ):
        piece = chunk["choices"][0]["delta"].get("content")
        if piece:
            first = first or time.perf_counter()
            pieces.append(piece)
    end = time.perf_counter()
    first = first or end
    return first - t0, end - first, "".join(pieces), len(pieces)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--drafts", type=int, nargs="+", default=[10, 4], help="tokens drafted per step")
    parser.add_argument("--step", choices=["answer", "translate"], default="answer", help="whose prompts")
    args = parser.parse_args(argv)
    from llama_cpp import Llama
    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

    from rag.config import get_settings
    from rag.generation.gguf import resolve_gguf

    settings = get_settings()
    prompts = answer_prompts(args.questions) if args.step == "answer" else translation_prompts(args.questions)
    path = str(resolve_gguf(settings))
    common = {"model_path": path, "n_ctx": settings.llm_context, "n_threads": settings.llm_threads, "verbose": False}
    variants = {"plain": Llama(**common)}
    for n in args.drafts:
        draft = LlamaPromptLookupDecoding(num_pred_tokens=n)
        variants[f"lookup{n}"] = Llama(**common, draft_model=draft, logits_all=True)
    results: dict[str, list] = {name: [] for name in variants}
    for prompt in prompts:
        for name, llm in variants.items():
            llm.reset()  # every prompt read cold
            results[name].append(timed(llm, prompt))
    print(f"{len(prompts)} {args.step} prompts, {settings.llm_threads} threads")
    print("variant     reading   decoding  pieces/s  total     identical to plain")
    for name, rows in results.items():
        read, decode, pieces = sum(r[0] for r in rows), sum(r[1] for r in rows), sum(r[3] for r in rows)
        same = sum(a[2] == b[2] for a, b in zip(results["plain"], rows, strict=True))
        print(
            f"{name:<11} {read:>6.1f} s  {decode:>6.1f} s  {pieces / max(decode, 1e-9):>7.1f}  "
            f"{read + decode:>6.1f} s  {same}/{len(rows)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
