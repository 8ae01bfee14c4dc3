"""Choosing the embedder and the query path by measurement, per language, in one run.

    python -m eval embedders [--embedders minilm use-multilingual e5-small ...] [--rewrites FILE]
                             [--cmrc DATA --cmrc-split dev] [--out FILE]

For each embedder a temporary index of ``corpus/`` is built, and every question of the question
set is searched along two query paths:
- ``asked``: the question as the investor wrote it (a multilingual embedder can match a Chinese
  or Korean question to English passages without any translation);
- ``pipeline``: what ``QueryReader.read`` does (``rag.answer.reading``): the LLM's standalone English rewrite, and for a
  Chinese/Korean question also the question as asked, keeping the reading with the stronger evidence.
Per language: document hit@1 and MRR (ranx, as the runs are scored), passage fact recall (share
of an answerable question's facts in its top-k passages: what the generator can possibly say),
and the abstention thresholds (``eval.tune.best_thresholds``) that keep every answerable question
while catching the most unanswerable ones. With ``--cmrc``, CMRC 2018 retrieval (hybrid against
BM25 alone) with the same embedder, in the same run.

The rewrites need the LLM (about 2 s each); they do not depend on the embedder, so they are made
once and kept in ``--rewrites`` (a JSON file; made if missing, reused if present).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from rag.answer.languages import LANGUAGES
from rag.answer.pipeline import Assistant
from rag.answer.reading import evidence
from rag.config import get_settings
from rag.embedders import get_embedder
from rag.ingest.build import build_index
from rag.ingest.store import load_index
from rag.search.retrieval import Retriever

from .metrics import fact_present, ranked_docs, retrieval_metrics
from .run import load_questions
from .tune import best_thresholds

LANGS = tuple(LANGUAGES)


def make_rewrites(questions: list[dict], path: Path | None) -> dict[str, str]:
    """The standalone English query of every non-English question (English ones search as asked)."""
    done: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path and path.exists() else {}
    todo = [q for q in questions if q["lang"] != "en" and q["id"] not in done]
    if todo:
        assistant = Assistant(get_settings())
        generator, notice = assistant.generator()
        if notice:
            raise SystemExit(f"rewrites need the language model: {notice}")
        for q in todo:
            done[q["id"]] = assistant.reader.standalone(q["question"], [], generator, q["lang"])
            print(f"rewrite {q['id']}: {done[q['id']]}", file=sys.stderr)
        if path:
            path.write_text(json.dumps(done, ensure_ascii=False, indent=1), encoding="utf-8")
    return done


def measure(name: str, questions: list[dict], rewrites: dict[str, str]) -> dict:
    settings = get_settings(embedder=name, backend="extractive")
    embedder = get_embedder(settings)
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings.model_copy(update={"index_dir": Path(tmp)})
        t0 = time.perf_counter()
        build_index(settings, embedder)
        build_s = time.perf_counter() - t0
        assistant = Assistant(settings, retriever=Retriever(load_index(settings.index_dir), embedder, settings))
        paths: dict[str, dict] = {}
        for path in ("asked", "pipeline"):
            rows, rankings, gold, recall = [], {}, {}, {}
            t0 = time.perf_counter()
            for q in questions:
                standalone = q["question"] if path == "asked" else rewrites.get(q["id"], q["question"])
                if path == "asked":
                    hits = assistant.retriever.search(q["question"])
                    similarity, coverage = evidence(q["question"], hits)
                else:
                    reading = assistant.reader.read(q["question"], standalone)
                    hits, similarity, coverage = reading.hits, reading.similarity, reading.coverage
                rows.append(
                    {
                        "id": q["id"],
                        "lang": q["lang"],
                        "answerable": q["answerable"],
                        "similarity": similarity,
                        "coverage": coverage,
                    }
                )
                if q["answerable"]:
                    rankings[q["id"]] = ranked_docs(h.chunk.doc_id for h in hits)
                    gold[q["id"]] = q["doc"]
                    text = " ".join(f"{h.chunk.title} {h.chunk.text}" for h in hits)
                    recall[q["id"]] = sum(fact_present(text, f) for f in q["facts"]) / len(q["facts"])
            per_q = retrieval_metrics(rankings, gold)
            by_lang = {}
            for lang in LANGS:
                ids = [q["id"] for q in questions if q["lang"] == lang and q["answerable"]]
                lang_rows = [r for r in rows if r["lang"] == lang]
                by_lang[lang] = {
                    "hit@1": _mean(per_q[i]["hit@1"] for i in ids),
                    "mrr": _mean(per_q[i]["mrr"] for i in ids),
                    "passage_fact_recall": _mean(recall[i] for i in ids),
                    "thresholds": best_thresholds(lang_rows),
                }
            paths[path] = {
                "by_lang": by_lang,
                "thresholds": best_thresholds(rows),
                "ms_per_question": round((time.perf_counter() - t0) * 1000 / len(questions), 1),
                "evidence": rows,
            }
    return {"embedder": name, "index_build_s": round(build_s, 1), "paths": paths}


def _mean(values) -> float | None:
    vals = list(values)
    return round(sum(vals) / len(vals), 4) if vals else None


def format_table(results: list[dict]) -> str:
    lines = [
        "| embedder | path | lang | hit@1 | MRR | passage fact recall "
        "| min_similarity / min_coverage (false refusals, unanswerable caught) |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in results:
        for path, p in r["paths"].items():
            for lang, v in p["by_lang"].items():
                t = v["thresholds"]
                lines.append(
                    f"| {r['embedder']} | {path} | {lang} | {v['hit@1']} | {v['mrr']} | {v['passage_fact_recall']} | "
                    f"{t['min_similarity']} / {t['min_coverage']} ({t['false_refusals']}/{t['answerable']}, "
                    f"{t['unanswerable_caught']}/{t['unanswerable']}) |"
                )
            t = p["thresholds"]
            lines.append(
                f"| {r['embedder']} | {path} | all | | | | {t['min_similarity']} / {t['min_coverage']} "
                f"({t['false_refusals']}/{t['answerable']}, {t['unanswerable_caught']}/{t['unanswerable']}) |"
            )
        if "cmrc" in r:
            c = r["cmrc"]
            lines.append(
                f"| {r['embedder']} | CMRC {c['split']} | zh | hybrid R@1 {c['hybrid']['recall@1']}, "
                f"MRR {c['hybrid']['mrr@10']} | BM25 R@1 {c['bm25']['recall@1']}, MRR {c['bm25']['mrr@10']} | | |"
            )
    return "\n".join(lines)


def run(
    questions_path: Path,
    names: list[str],
    rewrites_path: Path | None,
    cmrc: Path | None,
    cmrc_split: str,
    out: Path | None,
) -> list[dict]:
    questions = load_questions(questions_path)
    rewrites = make_rewrites(questions, rewrites_path)
    results = []
    for name in names:
        print(f"embedder {name} ...", file=sys.stderr)
        result = measure(name, questions, rewrites)
        if cmrc is not None:
            from .cmrc import run_cmrc

            c = run_cmrc(cmrc, split=cmrc_split, embedder=name, skip_qa=True, progress=False)
            result["cmrc"] = {"split": cmrc_split, **{m: c["retrieval"][m] for m in ("hybrid", "bm25", "dense")}}
        results.append(result)
        if out:
            out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(format_table(results))
    return results
