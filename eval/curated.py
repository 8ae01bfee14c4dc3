"""Curated answers and the gap report measured on the question set: ``python -m eval curated``.

``eval/paraphrases.jsonl`` names questions of ``eval/questions.jsonl`` as curated (each line's
``of``) and gives, for each, paraphrases in English, Chinese and Korean (``paraphrase``), the
question set's own questions that ask the same in another language (``duplicate``, by ``ref``) and
near misses: questions on the same subject that ask something else (``near-miss``).

Matching (``rag.answer.curated``): with those questions curated, a paraphrase or duplicate is a hit
when its best match is its own curated question at or above the threshold; a false match is any
other question of the set (every unanswerable one included) or a near miss reaching the threshold
of any curated question, or a paraphrase matched to another curated question.

Grouping (``rag.search.gaps``): every curated question with its paraphrases and duplicates is one
topic, each near miss and each other question its own; the questions are grouped at each distance
threshold and scored by pairs (precision: pairs grouped together that share a topic; recall: pairs
sharing a topic that are grouped together).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rag.answer.curated import Curator, decide
from rag.embedders import multilingual_encoder
from rag.search.gaps import cluster

HERE = Path(__file__).resolve().parent
PARAPHRASES = HERE / "paraphrases.jsonl"
QUESTIONS = HERE / "questions.jsonl"


def load(questions_path: Path = QUESTIONS, paraphrases_path: Path = PARAPHRASES) -> dict:
    """{"curated": [(id, text)], "same": [(id, text, of)], "other": [(id, text)]}."""
    questions = {q["id"]: q for q in map(json.loads, questions_path.read_text(encoding="utf-8").splitlines())}
    lines = [json.loads(line) for line in paraphrases_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    curated = list(dict.fromkeys(p["of"] for p in lines))
    same = [
        (p["id"], p["question"] if p["kind"] == "paraphrase" else questions[p["ref"]]["question"], p["of"])
        for p in lines
        if p["kind"] in ("paraphrase", "duplicate")
    ]
    taken = set(curated) | {p["ref"] for p in lines if p["kind"] == "duplicate"}
    other = [(q["id"], q["question"]) for q in questions.values() if q["id"] not in taken]
    other += [(p["id"], p["question"]) for p in lines if p["kind"] == "near-miss"]
    langs = {p["id"]: p.get("lang") or questions[p["ref"]]["lang"] for p in lines if p["kind"] != "near-miss"}
    return {"curated": [(c, questions[c]["question"]) for c in curated], "same": same, "other": other, "langs": langs}


def matching(settings, retriever, grid: list[tuple[float, float]], data: dict | None = None) -> dict:
    """Hit rate and false matches of ``rag.answer.curated`` at each (English, any) threshold pair."""
    data = data or load()
    curator = Curator(settings.model_copy(update={"curated_min_similarity": -1.0, "curated_min_similarity_en": -1.0}))
    entries = [{"id": c, "question": t} for c, t in data["curated"]]
    same = [(pid, of, curator.candidates(t, entries, retriever)) for pid, t, of in data["same"]]
    other = [(oid, curator.candidates(t, entries, retriever)) for oid, t in data["other"]]
    rows = []
    for min_en, min_any in grid:
        found = [(pid, of, decide(c, min_en, min_any)) for pid, of, c in same]
        hits = [pid for pid, of, m in found if m and m[0]["id"] == of]
        wrong = [pid for pid, of, m in found if m and m[0]["id"] != of]
        false = [oid for oid, c in other if decide(c, min_en, min_any)]
        rows.append(
            {
                "min_similarity_en": min_en,
                "min_similarity": min_any,
                "hit_rate": round(len(hits) / len(same), 3),
                "hits": len(hits),
                "by_language": {lang: _share(hits, [p for p, _, _ in same], lang, data) for lang in ("en", "zh", "ko")},
                "false_matches": len(false) + len(wrong),
                "false_ids": false + wrong,
            }
        )
    return {"curated": len(entries), "same": len(same), "other": len(other), "rows": rows}


def _share(hits: list[str], asked: list[str], lang: str, data: dict) -> str:
    """ "hits/asked" of the questions in ``lang``."""
    return f"{sum(data['langs'][h] == lang for h in hits)}/{sum(data['langs'][p] == lang for p in asked)}"


def grouping(settings, distances: list[float], data: dict | None = None) -> list[dict]:
    """Pair precision, recall and F1 of the gap report's grouping at each distance threshold."""
    data = data or load()
    texts = [t for _, t in data["curated"]] + [t for _, t, _ in data["same"]] + [t for _, t in data["other"]]
    topics = [c for c, _ in data["curated"]] + [of for _, _, of in data["same"]] + [oid for oid, _ in data["other"]]
    vectors = multilingual_encoder(settings).encode(texts, kind="query")
    topic = np.array(topics)
    same_topic = topic[:, None] == topic[None, :]
    upper = np.triu(np.ones_like(same_topic, dtype=bool), 1)
    rows = []
    for d in distances:
        labels = cluster(vectors, d)
        together = labels[:, None] == labels[None, :]
        tp = int((together & same_topic & upper).sum())
        precision = tp / max(1, int((together & upper).sum()))
        recall = tp / max(1, int((same_topic & upper).sum()))
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(
            {
                "distance": d,
                "groups": int(labels.max()),
                "precision": round(precision, 3),
                "recall": round(recall, 3),
                "f1": round(f1, 3),
            }
        )
    return rows


MATCH_GRID = [(en, any_) for en in (0.7, 0.75, 0.8) for any_ in (0.55, 0.6, 0.65, 0.7)]
DISTANCES = [0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6]


def run(out: Path | None = None) -> dict:
    """Both measurements with the configured settings over the configured index; printed as tables."""
    from rag.config import get_settings
    from rag.search.retrieval import open_retriever

    settings = get_settings()
    data = load()
    result = {
        "matching": matching(settings, open_retriever(settings), MATCH_GRID, data),
        "grouping": grouping(settings, DISTANCES, data),
        "settings": {
            "curated_min_similarity_en": settings.curated_min_similarity_en,
            "curated_min_similarity": settings.curated_min_similarity,
            "gap_max_distance": settings.gap_max_distance,
        },
    }
    m = result["matching"]
    print(f"matching: {m['curated']} curated questions, {m['same']} asking the same, {m['other']} others")
    print("min_en  min_any  hit rate  en     zh     ko     false matches")
    for r in m["rows"]:
        lang = r["by_language"]
        print(
            f"{r['min_similarity_en']:<7} {r['min_similarity']:<8} {r['hit_rate']:<9} {lang['en']:<6} {lang['zh']:<6} "
            f"{lang['ko']:<6} {r['false_matches']} {' '.join(r['false_ids'][:4])}"
        )
    print("grouping: distance  groups  precision  recall  F1")
    for r in result["grouping"]:
        print(f"          {r['distance']:<9} {r['groups']:<7} {r['precision']:<10} {r['recall']:<7} {r['f1']}")
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    return result
