"""Replaying a run's drafts through the checks under other attribution settings, without the model.

    python -m eval replay RUN [--meaning-weight 0 0.5 1] [--min-meaning 0.6 0.7 0.8]

A run records every answer's draft as the model wrote it (``draft`` in results.jsonl). Every
draft is put again through the verifier and the quotes with the passages it was written from (the
same chunks, from the index), once per combination of the token/meaning mix
(``Attribution.meaning_weight``) and the meaning threshold (``min_meaning``). The source answer is
scored as a run is: fact recall, false refusals, citation precision, groundedness (the evaluation's
own check), and how many citations were placed or corrected. Translations are not replayed: the
source answer is scored, in the passages' language; facts list an English spelling. Comparing
settings this way takes a minute instead of a full run per setting, and the drafts are identical
across settings, so the comparison is of the checks alone.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from itertools import product
from pathlib import Path

from rag.answer.grounding import ATTRIBUTION
from rag.answer.intent import analyse
from rag.answer.quotes import completions, quote_for
from rag.answer.verify import Verifier, shown_passage
from rag.config import get_settings
from rag.search.retrieval import Hit, open_retriever

from . import metrics as M
from .run import load_questions


def replay(run: Path, weights: list[float], thresholds: list[float]) -> list[dict]:
    settings = get_settings()
    retriever = open_retriever(settings)
    chunks = {c.chunk_id: c for c in retriever.index.chunks}
    questions = {
        q["id"]: q for q in load_questions(Path(json.loads((run / "metrics.json").read_text())["questions_file"]))
    }
    records = [json.loads(line) for line in (run / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    records = [r for r in records if r.get("draft") and r["id"] in questions]
    encode = _encoder(retriever.embedder)
    rows = []
    for weight, threshold in product(weights, thresholds):
        rules = replace(ATTRIBUTION, meaning_weight=weight, min_meaning=threshold)
        scored, placed = [], Counter()
        for r in records:
            q = questions[r["id"]]
            hits = [
                Hit(h["rank"], h["score"], chunks[h["chunk_id"]], h.get("dense_score"), None) for h in r["retrieved"]
            ]
            hits = [h for h in hits if h.chunk.lang == hits[0].chunk.lang]
            answer, placements = _answer(r, hits, encode, rules)
            placed.update(placements)
            scored.append((q, M.score_question(q, answer)))
        ans = [s for q, s in scored if q["answerable"]]
        rows.append(
            {
                "meaning_weight": weight,
                "min_meaning": threshold,
                "drafts": len(scored),
                "fact_recall": M.mean(s["fact_recall"] for s in ans),
                "false_refusals": M.rate(s["refused"] for s in ans),
                "refusal_accuracy": M.rate(s["refused"] for q, s in scored if not q["answerable"]),
                "citation_precision": M.mean(s["citation_precision"] for s in ans),
                "groundedness": M.mean(s["groundedness"] for _, s in scored),
                "placements": dict(placed),
            }
        )
    return rows


def _answer(record: dict, hits: list[Hit], encode, rules) -> tuple[dict, Counter]:
    """The source answer the checks make of one recorded draft, as a results.jsonl record."""
    question, standalone = record["question"], record.get("standalone_question") or record["question"]
    intent = analyse(question, standalone, (standalone,))
    passages = [shown_passage(h.chunk) for h in hits]
    verifier = Verifier(passages, question, intent, standalone, [h.chunk.doc_id for h in hits], encode, rules)
    list(verifier.stream(iter([record["draft"]])))
    kept = verifier.answer()
    quotes = completions(intent, kept, hits) if kept else quote_for(intent, question, hits, encode, standalone)
    texts = [c.text for c in kept] + [q.marked() for q in quotes]
    cited = sorted({n for c in kept for n in c.citations} | {q.n for q in quotes})
    citations = [
        {"n": n, "doc_id": hits[n - 1].chunk.doc_id, "title": hits[n - 1].chunk.title, "about": hits[n - 1].chunk.about,
         "publisher": hits[n - 1].chunk.publisher, "date": hits[n - 1].chunk.date, "text": hits[n - 1].chunk.text}
        for n in cited
    ]  # fmt: skip
    answer = {"answer": " ".join(texts), "abstained": not texts, "citations": citations}
    return answer, Counter(verifier.placements())


def _encoder(embedder):
    return lambda texts: embedder.encode(texts, kind="query")


def table(rows: list[dict]) -> str:
    head = (
        "| meaning weight | min meaning | fact recall | false refusals | refusal acc. | citation precision "
        "| groundedness | placed / corrected |"
    )
    lines = [head, "|" + "---:|" * 8]
    for r in rows:
        p = r["placements"]
        lines.append(
            f"| {r['meaning_weight']} | {r['min_meaning']} | {_f(r['fact_recall'])} | {_f(r['false_refusals'])} "
            f"| {_f(r['refusal_accuracy'])} | {_f(r['citation_precision'])} | {_f(r['groundedness'])} "
            f"| {p.get('placed', 0)} / {p.get('corrected', 0)} |"
        )
    return "\n".join(lines)


def _f(x) -> str:
    return "–" if x is None else f"{x:.3f}"
