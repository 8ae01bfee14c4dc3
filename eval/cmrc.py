"""``python -m eval cmrc``: the public CMRC 2018 benchmark (Chinese machine reading), side by side.

Two measurements on one split:

1. Retrieval, question to passage: every passage of the split is written as one ``.txt``
   file into a temporary corpus folder (document id = passage id) and indexed with the
   project's own ``rag.ingest.build.build_index``. Each question is searched with
   ``Retriever.search`` in the three modes (dense, BM25, hybrid); chunks are reduced to their
   passage in rank order, and recall@1/5/10 and MRR@10 are computed with ranx against the
   question's own passage.
2. Answers: each question goes through ``rag.answer.pipeline.Assistant.ask`` on that index
   (extractive backend by default, ``--backend`` for another); the answer text, without
   citation markers, is scored against the reference spans with the benchmark's official
   exact match and F1 (character level for Chinese, best over the references; see
   :func:`cmrc_f1`). An abstention counts as an empty prediction.

The benchmark stays where it is: nothing of it is written into the repository (the index is
built in a temporary folder, and ``--out`` files hold ids and scores, not the texts).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rag.config import RETRIEVAL_MODES

from .metrics import strip_markers

MODES = RETRIEVAL_MODES  # every retrieval mode, compared in one run
KS = (1, 5, 10)
SEARCH_K = 50  # chunks asked for per search: enough distinct passages for recall@10


@dataclass
class Item:
    qid: str
    question: str
    answers: list[str]
    passage_id: str


def find_split_file(data: Path, split: str) -> Path:
    data = Path(data)
    if data.is_file():
        return data
    for name in (f"cmrc2018_{split}.json", f"{split}.json"):
        if (data / name).exists():
            return data / name
    raise FileNotFoundError(f"no cmrc2018_{split}.json in {data}")


def load_cmrc(path: Path) -> tuple[dict[str, str], list[Item]]:
    """Passages by id and the questions, from either the flat CMRC layout (a list of
    ``{context_id, context_text, qas: [{query_id, query_text, answers}]}``) or the SQuAD one."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    passages: dict[str, str] = {}
    items: list[Item] = []
    if isinstance(raw, dict) and "data" in raw:  # SQuAD layout
        for article in raw["data"]:
            for i, para in enumerate(article.get("paragraphs", [])):
                pid = str(para.get("id") or f"{article.get('id', article.get('title', 'doc'))}_{i}")
                passages[pid] = para["context"]
                for qa in para.get("qas", []):
                    answers = [a["text"] if isinstance(a, dict) else str(a) for a in qa.get("answers", [])]
                    items.append(Item(str(qa["id"]), qa["question"], answers, pid))
    else:
        for ctx in raw:
            pid = str(ctx["context_id"])
            passages[pid] = ctx["context_text"]
            for qa in ctx.get("qas", []):
                items.append(Item(str(qa["query_id"]), qa["query_text"], [str(a) for a in qa["answers"]], pid))
    return passages, items


# --- the official CMRC 2018 scoring (cmrc2018_evaluate.py), without nltk --------------------

SP_CHAR = set(
    ["-", ":", "_", "*", "^", "/", "\\", "~", "`", "+", "=", "，", "。", "：", "？", "！", "“", "”",
     "；", "’", "《", "》", "……", "·", "、", "「", "」", "（", "）", "－", "～", "『", "』"]
)  # fmt: skip
_HAN = re.compile(r"[\u4e00-\u9fa5]")
# stands in for nltk.word_tokenize on the non-Chinese runs (nltk is not a dependency)
_WORD = re.compile(r"[A-Za-z0-9]+(?:[.,'][A-Za-z0-9]+)*|[^\sA-Za-z0-9]")


def _word_tokenize(text: str) -> list[str]:
    return _WORD.findall(text)


def mixed_segmentation(text: str, rm_punc: bool = False) -> list[str]:
    """Chinese characters one by one, other runs word-tokenised, lower case (official script)."""
    text = str(text).lower().strip()
    out: list[str] = []
    buf = ""
    for ch in text:
        if rm_punc and ch in SP_CHAR:
            continue
        if _HAN.match(ch) or ch in SP_CHAR:
            if buf:
                out.extend(_word_tokenize(buf))
                buf = ""
            out.append(ch)
        else:
            buf += ch
    if buf:
        out.extend(_word_tokenize(buf))
    return out


def remove_punctuation(text: str) -> str:
    return "".join(ch for ch in str(text).lower().strip() if ch not in SP_CHAR)


def _lcs_len(a: list[str], b: list[str]) -> int:
    """Length of the longest common contiguous run (the official script's find_lcs)."""
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b):
            if x == y:
                cur[j + 1] = prev[j] + 1
                if cur[j + 1] > best:
                    best = cur[j + 1]
        prev = cur
    return best


def cmrc_f1(answers: list[str], prediction: str) -> float:
    """Best over references of F1 from the longest common substring of segments."""
    if not answers:
        return 0.0
    pred = mixed_segmentation(prediction, rm_punc=True)
    scores = []
    for ans in answers:
        ref = mixed_segmentation(ans, rm_punc=True)
        lcs = _lcs_len(ref, pred)
        if lcs == 0:
            scores.append(0.0)
            continue
        p, r = lcs / len(pred), lcs / len(ref)
        scores.append(2 * p * r / (p + r))
    return max(scores)


def cmrc_em(answers: list[str], prediction: str) -> float:
    """1.0 when the prediction equals any reference after dropping punctuation."""
    pred = remove_punctuation(prediction)
    return float(any(remove_punctuation(a) == pred for a in answers))


# --- the benchmark run -------------------------------------------------------------------


def write_corpus(passages: dict[str, str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for pid, text in passages.items():
        (folder / f"{pid}.txt").write_text(text, encoding="utf-8")


class QueryCache:
    """Wraps an embedder: query vectors computed once, in batches, then served from memory.

    ``Retriever.search`` embeds the query on every call, i.e. three times per question here
    (one per mode), one question at a time; batching the 3,000 questions up front gives the
    same vectors in a fraction of the time. Passages and unknown queries go to the embedder.
    """

    def __init__(self, embedder, queries: list[str], progress: bool = False):
        self._embedder = embedder
        self.name, self.dim = embedder.name, embedder.dim
        from tqdm.auto import tqdm

        unique = list(dict.fromkeys(queries))
        batches = [unique[i : i + 256] for i in range(0, len(unique), 256)]
        # one bar for the whole job: the embedder shows none for queries
        bar = tqdm(batches, desc="cmrc queries", unit="batch", disable=not progress, file=sys.stderr)
        vectors = [v for batch in bar for v in embedder.encode(batch, kind="query")]
        self._cache = {q: v for q, v in zip(unique, vectors, strict=True)}

    def encode(self, texts, kind="passage", progress=False):
        import numpy as np

        texts = list(texts)
        if kind == "query" and texts and all(t in self._cache for t in texts):
            return np.stack([self._cache[t] for t in texts])
        return self._embedder.encode(texts, kind=kind, progress=progress)

    def count_tokens(self, text):
        return self._embedder.count_tokens(text)


@contextmanager
def index_bar(progress: bool):
    """One progress bar for the whole index build, fed by build_index's progress callback
    (its ``show_bar`` would draw one bar per passage file)."""
    from tqdm.auto import tqdm

    with tqdm(total=100, desc="cmrc index", unit="%", disable=not progress, file=sys.stderr) as bar:

        def on_progress(frac: float, msg: str) -> None:
            bar.update(max(0, round(frac * 100) - bar.n))

        yield on_progress


def retrieval_eval(retriever, items: list[Item], progress: bool = True) -> tuple[dict, dict]:
    """recall@1/5/10 and MRR@10 per mode (ranx), and per-question ranks of the gold passage."""
    from ranx import Qrels, Run, evaluate
    from tqdm.auto import tqdm

    from .metrics import ranked_docs

    runs: dict[str, dict[str, dict[str, float]]] = {m: {} for m in MODES}
    ranks: dict[str, dict[str, int | None]] = {m: {} for m in MODES}
    for it in tqdm(items, desc="cmrc retrieval", unit="q", disable=not progress, file=sys.stderr):
        for mode in MODES:
            docs = ranked_docs(h.chunk.doc_id for h in retriever.search(it.question, k=SEARCH_K, mode=mode))[:10]
            runs[mode][it.qid] = {d: float(len(docs) - i) for i, d in enumerate(docs)}
            ranks[mode][it.qid] = docs.index(it.passage_id) + 1 if it.passage_id in docs else None
    qrels = Qrels({it.qid: {it.passage_id: 1} for it in items})
    names = [f"recall@{k}" for k in KS] + ["mrr@10"]
    out = {}
    for mode in MODES:
        scores = evaluate(qrels, Run(runs[mode]), names, make_comparable=True)
        out[mode] = {n: round(float(scores[n]), 4) for n in names}
    return out, ranks


def qa_eval(assistant, items: list[Item], backend: str, progress: bool = True) -> tuple[dict, list[dict]]:
    from tqdm.auto import tqdm

    rows = []
    for it in tqdm(items, desc=f"cmrc answers ({backend})", unit="q", disable=not progress, file=sys.stderr):
        t0 = time.perf_counter()
        ans = assistant.ask(it.question, backend=backend)
        pred = "" if ans.abstained else strip_markers(ans.answer)
        rows.append(
            {
                "id": it.qid,
                "abstained": bool(ans.abstained),
                "backend": ans.backend,
                "em": cmrc_em(it.answers, pred),
                "f1": cmrc_f1(it.answers, pred),
                "pred_chars": len(pred),
                "gold_cited": any(c.doc_id == it.passage_id for c in ans.citations),
                "seconds": round(time.perf_counter() - t0, 3),
            }
        )
    n = max(len(rows), 1)
    answered = [r for r in rows if not r["abstained"]]
    summary = {
        "questions": len(rows),
        "em": round(100 * sum(r["em"] for r in rows) / n, 2),
        "f1": round(100 * sum(r["f1"] for r in rows) / n, 2),
        "abstained": sum(r["abstained"] for r in rows),
        "f1_answered": round(100 * sum(r["f1"] for r in answered) / len(answered), 2) if answered else None,
        "mean_answer_chars": round(sum(r["pred_chars"] for r in answered) / len(answered), 1) if answered else None,
        "gold_passage_cited": round(sum(r["gold_cited"] for r in rows) / n, 4),
        "seconds_per_question": round(sum(r["seconds"] for r in rows) / n, 3),
        "backends_used": sorted({r["backend"] for r in rows}),
    }
    return summary, rows


def run_cmrc(
    data: Path,
    split: str = "dev",
    limit: int | None = None,
    backend: str | None = None,
    qa_limit: int | None = None,
    out: Path | None = None,
    embedder: str | None = None,
    workdir: Path | None = None,
    skip_qa: bool = False,
    progress: bool = True,
    overrides: dict | None = None,
) -> dict:
    """Run both measurements; returns the result (also written to ``out/cmrc-<split>.json``)."""
    from rag.answer.pipeline import Assistant
    from rag.config import get_settings
    from rag.embedders import get_embedder
    from rag.ingest.build import build_index
    from rag.ingest.store import load_index
    from rag.search.retrieval import Retriever

    t_all = time.perf_counter()
    split_file = find_split_file(data, split)
    passages, items = load_cmrc(split_file)
    if limit is not None:
        items = items[: max(limit, 0)]
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="cmrc-")
        workdir = Path(tmp.name)
    workdir = Path(workdir)
    try:
        settings = get_settings(
            **(overrides or {}),
            corpus_dir=workdir / "corpus",
            index_dir=workdir / "index",
            embedder=embedder,
            backend="extractive",
        )
        if not (settings.corpus_dir.exists() and len(list(settings.corpus_dir.glob("*.txt"))) == len(passages)):
            write_corpus(passages, settings.corpus_dir)
        emb = get_embedder(settings)
        t0 = time.perf_counter()
        with index_bar(progress) as on_progress:
            report = build_index(settings, emb, progress=on_progress)
        index_seconds = time.perf_counter() - t0
        index = load_index(settings.index_dir)

        t0 = time.perf_counter()  # retrieval time includes embedding the questions
        retriever = Retriever(index, QueryCache(emb, [it.question for it in items], progress), settings)
        retrieval, _ = retrieval_eval(retriever, items, progress)
        retrieval_seconds = time.perf_counter() - t0

        qa = {}
        qa_seconds = 0.0
        if not skip_qa:
            assistant = Assistant(settings, retriever=retriever)
            qa_items = items[:qa_limit] if qa_limit is not None else items
            backends = ["extractive"] + ([backend] if backend and backend != "extractive" else [])
            t0 = time.perf_counter()
            for b in backends:
                qa[b], rows = qa_eval(assistant, qa_items, b, progress)
                if out:
                    Path(out).mkdir(parents=True, exist_ok=True)
                    with (Path(out) / f"cmrc-{split}-{b}-answers.jsonl").open("w", encoding="utf-8") as f:
                        for r in rows:
                            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            qa_seconds = time.perf_counter() - t0
        result = {
            "benchmark": "CMRC 2018",
            "split": split,
            "data": str(split_file),
            "passages": len(passages),
            "questions": len(items),
            "embedder": emb.name,
            "chunks": report.chunks,
            "settings": {
                "chunk_tokens": settings.chunk_tokens,
                "chunk_overlap": settings.chunk_overlap,
                "candidates": settings.candidates,
                "fusion": settings.fusion,
                "dense_weight": settings.dense_weight,
                "rrf_k": settings.rrf_k,
                "top_k": settings.top_k,
                "min_similarity": settings.min_similarity,
            },
            "retrieval": retrieval,
            "qa": qa,
            "seconds": {
                "index": round(index_seconds, 1),
                "retrieval": round(retrieval_seconds, 1),
                "qa": round(qa_seconds, 1),
                "total": round(time.perf_counter() - t_all, 1),
            },
        }
        if out:
            Path(out).mkdir(parents=True, exist_ok=True)
            (Path(out) / f"cmrc-{split}.json").write_text(
                json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8"
            )
        return result
    finally:
        if tmp is not None:
            tmp.cleanup()


def format_result(r: dict) -> str:
    lines = [
        f"CMRC 2018 {r['split']}: {r['passages']} passages ({r['chunks']} chunks), {r['questions']} questions; "
        f"embedder {r['embedder']}",
        "",
        f"{'retrieval':<10} {'R@1':>7} {'R@5':>7} {'R@10':>7} {'MRR@10':>7}",
    ]
    for mode in MODES:
        v = r["retrieval"][mode]
        lines.append(
            f"{mode:<10} {v['recall@1']:>7.4f} {v['recall@5']:>7.4f} {v['recall@10']:>7.4f} {v['mrr@10']:>7.4f}"
        )
    if r["qa"]:
        lines += ["", f"{'answers':<12} {'n':>6} {'EM':>7} {'F1':>7} {'abstained':>10} {'s/q':>7}"]
        for b, v in r["qa"].items():
            lines.append(
                f"{b:<12} {v['questions']:>6} {v['em']:>7.2f} {v['f1']:>7.2f} {v['abstained']:>10} "
                f"{v['seconds_per_question']:>7.2f}"
            )
    s = r["seconds"]
    lines += [
        "",
        f"time: index {s['index']} s, retrieval {s['retrieval']} s, answers {s['qa']} s, total {s['total']} s",
    ]
    return "\n".join(lines)
