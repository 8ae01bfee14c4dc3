"""Encoding speed of registered embedders on the same real passages, and how far their vectors
are from the PyTorch MiniLM ones (the ONNX variants must stay close to be a drop-in).

    python benchmarks/embed_speed.py [--embedders minilm minilm-onnx minilm-onnx-int8] [--passages 640]
                                     [--queries 100] [--rounds 3] [--wiki FILE]

Passages: Wikipedia summaries (as benchmarks/bench.py fetches them) chunked by the project's
chunker at the configured size, embedded with their title as the index does. Each embedder
encodes them ``--rounds`` times, interleaved with the others so that a busy machine slows all
alike; the best round counts. Queries are encoded one at a time, as the chat does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench import wiki_file, wiki_queries

from rag.config import get_settings
from rag.embedders import get_embedder
from rag.ingest.chunking import chunk_document
from rag.ingest.documents import Document
from rag.ingest.store import embedding_text


def passages(path, n: int, settings) -> tuple[list[str], list[dict]]:
    counter = get_embedder(settings.model_copy(update={"embedder": "minilm"}))
    items = [v for v in json.loads(path.read_text(encoding="utf-8")).values() if v.get("extract")]
    texts: list[str] = []
    for i, item in enumerate(items):
        doc = Document(f"wiki-{i}", f"wiki-{i}.txt", item["extract"], item["title"])
        texts += [
            embedding_text(c)
            for c in chunk_document(doc, counter.count_tokens, settings.chunk_tokens, settings.chunk_overlap)
        ]
        if len(texts) >= n:
            return texts[:n], items[: i + 1]
    return texts, items


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--embedders", nargs="+", default=["minilm", "minilm-onnx", "minilm-onnx-int8"])
    ap.add_argument("--passages", type=int, default=640)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--wiki", default=None)
    args = ap.parse_args()
    settings = get_settings()
    texts, items = passages(wiki_file(settings, args.wiki), args.passages, settings)
    queries = wiki_queries(items, args.queries)
    embedders = {name: get_embedder(settings.model_copy(update={"embedder": name})) for name in args.embedders}
    for e in embedders.values():
        e.encode(texts[:32])  # load, export if needed, warm up
    load = os.getloadavg()
    best = dict.fromkeys(embedders, float("inf"))
    vectors = {}
    for _ in range(args.rounds):
        for name, e in embedders.items():
            t = time.perf_counter()
            vectors[name] = e.encode(texts)
            best[name] = min(best[name], time.perf_counter() - t)
    query_ms = {}
    for name, e in embedders.items():
        times = []
        for q in queries:
            t = time.perf_counter()
            e.encode([q], kind="query")
            times.append((time.perf_counter() - t) * 1000)
        query_ms[name] = (statistics.median(times), float(np.percentile(times, 95)))
    ref = vectors.get("minilm")
    print(
        f"{len(texts)} passages of {settings.chunk_tokens} tokens at most, {len(queries)} single queries, "
        f"{settings.embed_threads} threads; load average {load} at start, {os.getloadavg()} at end"
    )
    print("| embedder | passages/s | x minilm | query ms p50 | query ms p95 | cosine to minilm (min / mean) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in embedders:
        rate = len(texts) / best[name]
        speedup = best["minilm"] / best[name] if "minilm" in best else float("nan")
        cos = (vectors[name] * ref).sum(axis=1) if ref is not None and vectors[name].shape == ref.shape else None
        agree = f"{cos.min():.4f} / {cos.mean():.4f}" if cos is not None else "-"
        p50, p95 = query_ms[name]
        print(f"| {name} | {rate:.1f} | {speedup:.2f} | {p50:.1f} | {p95:.1f} | {agree} |", flush=True)


if __name__ == "__main__":
    main()
