"""Choosing chunk size and the abstention thresholds by measurement on the question set.

    python -m eval tune [--questions eval/questions.jsonl] [--sizes 64:16 96:24 128:32 192:48]

For each chunking setting it builds a temporary index of ``corpus/`` and, over the English
questions (Chinese and Korean ones reach retrieval through the LLM's English rewrite, which this
retrieval-only measurement leaves out):
- passage fact recall: share of an answerable question's facts present in its top-k passages
  (what the generator can possibly say), and document MRR;
- the evidence the answerer abstains on (best cosine similarity, keyword coverage) for answerable
  and unanswerable questions, and the thresholds that keep every answerable question while
  rejecting the most unanswerable ones.
No LLM is involved, so a full run takes about a minute.
"""

from __future__ import annotations

import json
import tempfile
from itertools import product
from pathlib import Path

from rag.answer.reading import evidence
from rag.config import get_settings
from rag.embedders import get_embedder
from rag.ingest.build import build_index
from rag.ingest.store import load_index
from rag.search.retrieval import Retriever

from .metrics import fact_present, ranked_docs, retrieval_metrics
from .run import load_questions


def measure(questions: list[dict], tokens: int, overlap: int, top_k: int) -> dict:
    settings = get_settings(chunk_tokens=tokens, chunk_overlap=overlap, top_k=top_k)
    embedder = get_embedder(settings)
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings.model_copy(update={"index_dir": Path(tmp)})
        build_index(settings, embedder)
        retriever = Retriever(load_index(settings.index_dir), embedder, settings)
        fact_recall, rows = [], []
        rankings, gold = {}, {}
        for q in questions:
            hits = retriever.search(q["question"], k=top_k)
            similarity, coverage = evidence(q["question"], hits)
            rows.append({"id": q["id"], "answerable": q["answerable"], "similarity": similarity, "coverage": coverage})
            if q["answerable"]:
                text = " ".join(h.chunk.text for h in hits)
                facts = q.get("facts") or []
                if facts:
                    fact_recall.append(sum(fact_present(text, f) for f in facts) / len(facts))
                rankings[q["id"]] = ranked_docs(h.chunk.doc_id for h in hits)
                gold[q["id"]] = q["doc"]
        chunks = load_index(settings.index_dir).size
    mrr = [m["mrr"] for m in retrieval_metrics(rankings, gold).values()]  # ranx, as the runs are scored
    return {
        "chunk_tokens": tokens,
        "chunk_overlap": overlap,
        "chunks": chunks,
        "passage_fact_recall": sum(fact_recall) / max(len(fact_recall), 1),
        "doc_mrr": sum(mrr) / max(len(mrr), 1),
        "evidence": rows,
    }


def best_thresholds(rows: list[dict]) -> dict:
    """The (similarity, coverage) pair with the fewest answerable questions refused, then the
    most unanswerable ones refused; thresholds sit halfway between neighbouring observed values."""
    sims = sorted({round(r["similarity"], 3) for r in rows} | {0.0})
    covs = sorted({round(r["coverage"], 3) for r in rows} | {0.0})
    best = None
    for s, c in product(sims, covs):
        refused = [r for r in rows if r["similarity"] < s or r["coverage"] < c]
        false_refusals = sum(r["answerable"] for r in refused)
        caught = sum(not r["answerable"] for r in refused)
        key = (false_refusals, -caught, -s, -c)
        if best is None or key < best[0]:
            best = (key, s, c, false_refusals, caught)
    _, s, c, false_refusals, caught = best
    below = lambda vals, v: max([x for x in vals if x < v], default=0.0)  # noqa: E731
    return {
        "min_similarity": round((s + below(sims, s)) / 2, 3) if s else 0.0,
        "min_coverage": round((c + below(covs, c)) / 2, 3) if c else 0.0,
        "false_refusals": false_refusals,
        "answerable": sum(r["answerable"] for r in rows),
        "unanswerable_caught": caught,
        "unanswerable": sum(not r["answerable"] for r in rows),
    }


def run(questions_path: Path, sizes: list[str], top_k: int, out: Path | None) -> list[dict]:
    questions = [q for q in load_questions(questions_path) if q["lang"] == "en"]
    results = []
    print(
        "| chunk tokens:overlap | chunks | passage fact recall@k | doc MRR | min_similarity | min_coverage "
        "| false refusals | unanswerable caught |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        tokens, overlap = (int(x) for x in size.split(":"))
        m = measure(questions, tokens, overlap, top_k)
        m["thresholds"] = best_thresholds(m["evidence"])
        t = m["thresholds"]
        print(
            f"| {tokens}:{overlap} | {m['chunks']} | {m['passage_fact_recall']:.3f} | {m['doc_mrr']:.3f} | "
            f"{t['min_similarity']} | {t['min_coverage']} | {t['false_refusals']}/{t['answerable']} | "
            f"{t['unanswerable_caught']}/{t['unanswerable']} |",
            flush=True,
        )
        results.append(m)
    if out:
        out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return results
