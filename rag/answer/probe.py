"""Retrieval test: what the assistant would see for a question, for staff checking why an answer
went wrong, without calling the language model.

``probe(assistant, question)`` gives each reading of the question that can be made without the
model (as asked; the glossary's English reading of a Chinese or Korean question, names put into
English: the model's rewrite into a standalone English query, step 1, is not run), the passages each
finds with their dense (cosine), BM25 and fused scores, the evidence gate's decision with its
numbers against ``min_similarity`` and ``min_coverage`` (``reading.evidence``; the reading with the
stronger evidence is the one the gate judges, as ``QueryReader.read`` picks it), what the question
asks for (``intent.analyse``), and the path answering would take: a curated answer (and how close),
the answer cache, or ``Assistant.plan``'s decision (abstain, generate, rewrite first, extractive).
"""

from __future__ import annotations

from ..glossary import to_english
from ..text import clean_text, detect_language
from .intent import analyse
from .pipeline import Assistant
from .reading import evidence

PATHS = {
    "curated": "a curated answer, at once",
    "cached": "the stored answer of the same question (answer cache)",
    "abstain": "abstains: the passages are too far from the question or lack its keywords",
    "generate": "the language model drafts an answer from the passages, checked sentence by sentence",
    "rewrite": "the language model first rewrites or translates the question (not run here), then answers",
    "extractive": "the extractive backend answers with the passages' best sentences (or abstains at the gate)",
}


def probe(assistant: Assistant, question: str) -> dict:
    """What the assistant would see for ``question`` (see the module docstring), as a dict."""
    s = assistant.settings
    question = clean_text(question)[: s.max_question_chars]
    lang = detect_language(question)
    queries = {question: "as asked"}
    if lang != "en":
        queries.setdefault(to_english(question), "the glossary's English names")
    readings = []
    for query, label in queries.items():
        hits = assistant.retriever.search(query, k=s.top_k)
        similarity, coverage = evidence(query, hits)
        readings.append(
            {
                "label": label,
                "query": query,
                "similarity": round(similarity, 4),
                "coverage": round(coverage, 4),
                "passes_gate": similarity >= s.min_similarity and coverage >= s.min_coverage,
                "passages": [
                    h.to_json()
                    | {
                        "dense": None if h.dense_score is None else round(float(h.dense_score), 4),
                        "bm25": None if h.bm25_score is None else round(float(h.bm25_score), 4),
                    }
                    for h in hits
                ],
            }
        )
    chosen = max(range(len(readings)), key=lambda i: (readings[i]["coverage"], readings[i]["similarity"]))
    readings[chosen]["chosen"] = True
    intent = analyse(question, "", tuple(r["query"] for r in readings[1:]), lang=lang)
    curated = assistant.curator.match(question, assistant.retriever) if question else None
    plan = assistant.plan(question)
    return {
        "question": question,
        "language": lang,
        "readings": readings,
        "gate": {"min_similarity": s.min_similarity, "min_coverage": s.min_coverage},
        "passes_gate": readings[chosen]["passes_gate"],
        "intent": intent.to_json(),
        "curated": {"id": curated[0]["id"], "question": curated[0]["question"], "similarity": round(curated[1], 4)}
        if curated
        else None,
        "path": plan.reason,
        "path_text": PATHS.get(plan.reason, plan.reason),
        "needs_model": plan.needs_model,
        "not_run": "the model's rewrite into a standalone English query (step 1) and any query translation",
    }
