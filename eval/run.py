"""``python -m eval run``: answer every question through the chat's pipeline and score it.

Each question goes through :meth:`rag.answer.pipeline.Assistant.ask`, the same call the chat makes.
The run records per question the retrieved passages, the answer, its citations, whether it
abstained and the timings, then scores the records (``eval.metrics``) and writes
``results.jsonl``, ``metrics.json``, ``report.md`` and ``report.html`` into the run folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from rag.answer.languages import LANGUAGES

from . import metrics as M

log = logging.getLogger(__name__)

EVAL_DIR = Path(__file__).resolve().parent
DEFAULT_QUESTIONS = EVAL_DIR / "questions.jsonl"
RUNS_DIR = EVAL_DIR / "runs"
SECRET_SETTINGS = ("openai_api_key", "staff_password")


class QuestionFileError(ValueError):
    """The questions file does not follow the schema in eval/README.md."""


Lang = Literal[tuple(LANGUAGES)]  # the languages of rag/answer/languages.py
LANGS = get_args(Lang)
Text = Annotated[str, StringConstraints(pattern=r"\S")]  # not empty, not only spaces


class Question(BaseModel):
    """One line of a questions file (schema in eval/README.md); other keys are kept as they are."""

    model_config = ConfigDict(strict=True, extra="allow")

    id: Annotated[str, StringConstraints(min_length=1)]
    question: Text
    lang: Lang
    answerable: bool
    facts: list[Annotated[list[Text], Field(min_length=1)]]
    doc: str | None = None

    @model_validator(mode="after")
    def _answerable_needs_its_doc(self) -> Question:
        if self.answerable and not self.doc:
            raise PydanticCustomError("doc_needed", "an answerable question needs its doc")
        return self


# what each field must be, in the words of eval/README.md (pydantic's own words for the rest)
FIELD_RULES = {
    "id": "id must be a non-empty string",
    "question": "question must be a non-empty string",
    "lang": f"lang must be one of {', '.join(LANGS)}",
    "answerable": "answerable must be true or false",
    "facts": "facts must be a list of non-empty lists of strings",
    "doc": "doc must be a string or null",
}


def _problems(error: ValidationError) -> list[str]:
    problems: list[str] = []
    for e in error.errors(include_url=False):
        field = e["loc"][0] if e["loc"] else None
        if field in FIELD_RULES:
            text = FIELD_RULES[field]
        elif e["type"] == "json_invalid":
            text = f"not JSON ({e['ctx']['error']})" if "ctx" in e else "not JSON"
        elif e["type"] == "model_type":
            text = "not an object"
        else:
            text = e["msg"]
        if text not in problems:
            problems.append(text)
    return problems


def load_questions(path: Path) -> list[dict]:
    """Read and validate a questions file (JSON Lines); a problem is reported as ``file:line: what``."""
    questions: list[dict] = []
    seen: set[str] = set()
    with Path(path).open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                q = Question.model_validate_json(line)
            except ValidationError as e:
                raise QuestionFileError(f"{path}:{lineno}: {'; '.join(_problems(e))}") from None
            if q.id in seen:
                raise QuestionFileError(f"{path}:{lineno}: duplicate id {q.id!r}")
            seen.add(q.id)
            questions.append(q.model_dump())
    return questions


def git_info(cwd: Path = EVAL_DIR) -> dict:
    """Commit and dirty flag of the working tree (read-only git calls; None outside git)."""

    def git(*args):
        try:
            r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def public_settings(settings) -> dict:
    data = settings.model_dump(mode="json")
    for key in SECRET_SETTINGS:
        data.pop(key, None)
    return data


def default_out_dir() -> Path:
    return RUNS_DIR / time.strftime("%Y%m%d-%H%M%S")


def separate_index_dir(settings, defaults) -> Path | None:
    """An index folder of its own when the run changes how the index is built.

    The project's index (``embeddings/``) serves the chat; a run with another embedder or
    chunking would rebuild it in place, so it gets its own folder in the user cache instead.
    """
    keys = ("embedder", "chunk_tokens", "chunk_overlap", "corpus_dir")
    if all(getattr(settings, k) == getattr(defaults, k) for k in keys):
        return None
    tag = hashlib.sha256(str(settings.corpus_dir.resolve()).encode()).hexdigest()[:8]
    name = f"{settings.embedder}-{settings.chunk_tokens}-{settings.chunk_overlap}-{tag}"
    return settings.cache_dir / "eval-indexes" / name


def make_settings(overrides: dict, index_given: bool):
    from rag.config import get_settings

    settings = get_settings(**overrides)
    if not index_given:
        other = separate_index_dir(settings, get_settings())
        if other is not None:
            settings = get_settings(**overrides, index_dir=other)
    return settings


def hit_json(hit) -> dict:
    d = hit.to_json()
    d["dense_score"] = None if hit.dense_score is None else round(float(hit.dense_score), 6)
    d["bm25_score"] = None if hit.bm25_score is None else round(float(hit.bm25_score), 6)
    return d


def record_for(q: dict, answer=None, error: str | None = None, wall_ms: float | None = None) -> dict:
    """One results.jsonl line: the question, then everything the pipeline returned."""
    rec = {k: q.get(k) for k in ("id", "question", "lang", "answerable", "doc", "facts")}
    if answer is None:
        rec.update(
            answer="",
            abstained=False,
            citations=[],
            related=[],
            retrieved=[],
            backend=None,
            model=None,
            standalone_question=None,
            notices=[],
            removed=[],
            timings_ms={"total": wall_ms} if wall_ms is not None else {},
            error=error,
        )
        return rec
    data = answer.to_json()
    rec.update(
        answer=data.get("answer", ""),
        abstained=bool(data.get("abstained")),
        citations=data.get("citations", []),
        related=[c.get("doc_id") for c in data.get("related", [])],
        retrieved=[hit_json(h) for h in getattr(answer, "retrieved", []) or []],
        backend=data.get("backend"),
        model=data.get("model"),
        standalone_question=data.get("standalone_question"),
        notices=data.get("notices", []),
        removed=data.get("removed", []),
        intent=data.get("intent"),
        source_answer=data.get("source_answer", ""),
        source_language=data.get("source_language", ""),
        translations=data.get("translations", []),
        quoted=data.get("quoted", False),
        abstained_at=data.get("abstained_at", ""),
        placements=data.get("placements", {}),
        draft=data.get("draft", ""),
        prompt_tokens=data.get("prompt_tokens", 0),
        timings_ms=data.get("timings_ms", {}),
        error=None,
    )
    return rec


def warm_up(assistant, backend: str | None) -> float:
    """Load the index, the embedder and the generator before the clock starts."""
    t0 = time.perf_counter()
    retriever = assistant.retriever
    retriever.embedder.encode(["warm-up"], kind="query")
    assistant.generator(backend)
    return time.perf_counter() - t0


def run(
    questions_file: Path = DEFAULT_QUESTIONS,
    out_dir: Path | None = None,
    backend: str | None = None,
    limit: int | None = None,
    overrides: dict | None = None,
    index_given: bool = False,
    progress: bool = True,
    ids: list[str] | None = None,
) -> Path:
    """Answer the questions, score them and write the run folder. Returns the folder."""
    from tqdm.auto import tqdm

    from rag.answer.pipeline import Assistant

    questions = load_questions(questions_file)
    if ids:
        wanted = set(ids)
        questions = [q for q in questions if q["id"] in wanted]
    if limit is not None:
        questions = questions[: max(limit, 0)]
    overrides = dict(overrides or {})
    if backend:
        overrides["backend"] = backend
    out_dir = Path(out_dir) if out_dir else default_out_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    # the pipeline as it answers anew: no curated answers from the chat's store (a store of the run's
    # own, empty) unless one is given with --set feedback_db=... or feedback_url=...
    if "feedback_db" not in overrides and "feedback_url" not in overrides:
        overrides["feedback_db"] = out_dir / "store.sqlite3"
    settings = make_settings(overrides, index_given)

    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    t_start = time.perf_counter()
    assistant = Assistant(settings)
    warmup_s = warm_up(assistant, settings.backend)
    records: list[dict] = []
    bar = tqdm(questions, desc=f"eval ({settings.backend})", unit="q", disable=not progress, file=sys.stderr)
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as raw:
        for q in bar:
            t0 = time.perf_counter()
            try:
                rec = record_for(q, assistant.ask(q["question"], backend=settings.backend))
            except Exception as e:  # one failing question must not end the run; it is recorded
                log.exception("question %s failed", q["id"])
                rec = record_for(q, error=f"{e.__class__.__name__}: {e}", wall_ms=(time.perf_counter() - t0) * 1000)
            records.append(rec)
            raw.write(json.dumps(rec, ensure_ascii=False) + "\n")  # partial results survive a crash
            raw.flush()
            bar.set_postfix_str(f"{q['id']} {(rec['timings_ms'] or {}).get('total', 0) / 1000:.1f}s")
    answer_seconds = time.perf_counter() - t_start - warmup_s

    metrics = _score_and_write(questions, records, out_dir)

    backends = sorted({r["backend"] for r in records if r.get("backend")})
    models = sorted({r["model"] for r in records if r.get("model")})
    from_cli = bool(sys.argv) and sys.argv[0].endswith("__main__.py")
    meta = {
        "run": out_dir.name,
        "started_at": started,
        "questions_file": str(questions_file),
        "questions_sha256": hashlib.sha256(Path(questions_file).read_bytes()).hexdigest(),
        "n_questions": len(questions),
        "limit": limit,
        "backend_requested": settings.backend,
        "backend": backends[0] if len(backends) == 1 else backends,
        "model": models[0] if len(models) == 1 else models,
        "embedder": getattr(assistant.retriever.embedder, "name", settings.embedder),
        "index": str(settings.index_dir),
        "errors": sum(1 for r in records if r.get("error")),
        "fallbacks": sum(1 for r in records if r.get("backend") and r["backend"] != settings.backend),
        "warmup_seconds": round(warmup_s, 2),
        "answer_seconds": round(answer_seconds, 2),
        "wall_seconds": round(time.perf_counter() - t_start, 2),
        "git": git_info(),
        "python": platform.python_version(),
        "command": " ".join(["python -m eval", *sys.argv[1:]]) if from_cli else None,
        "settings": public_settings(settings),
    }
    doc = {**meta, "metrics": metrics}
    (out_dir / "metrics.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")

    from .report import write_reports

    write_reports(out_dir, doc, records)
    return out_dir


def rescore(run_dir: Path, questions_file: Path | None = None) -> dict:
    """Score a finished run again with the current metrics (and, if given, the current facts
    and gold documents of ``questions_file``); rewrites results.jsonl scores, metrics.json and
    the reports. The answers themselves are not touched."""
    run_dir = Path(run_dir)
    lines = (run_dir / "results.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    current = {q["id"]: q for q in load_questions(questions_file)} if questions_file else {}
    questions = []
    for rec in records:
        q = current.get(rec["id"]) or {k: rec.get(k) for k in ("id", "question", "lang", "answerable", "doc", "facts")}
        rec.update({k: q.get(k) for k in ("answerable", "doc", "facts", "lang")})
        questions.append(q)
    metrics = _score_and_write(questions, records, run_dir)
    doc = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    doc["metrics"] = metrics
    doc["run"] = run_dir.name
    doc["rescored_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    (run_dir / "metrics.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    from .report import write_reports

    write_reports(run_dir, doc, records)
    return doc


def summary_lines(doc: dict) -> list[str]:
    """A short plain-text summary of a run for the terminal."""
    m = doc["metrics"]

    def f(key, pct=True):
        v = m.get(key)
        if v is None:
            return "n/a"
        return f"{v:.3f}" if pct else f"{v / 1000:.1f} s"

    return [
        f"{doc['n_questions']} questions, backend {doc['backend']} ({doc['model']}), "
        f"{doc['answer_seconds']:.0f} s answering + {doc['warmup_seconds']:.0f} s loading",
        f"retrieval  hit@1 {f('hit@1')}  hit@3 {f('hit@3')}  MRR {f('mrr')}  nDCG@10 {f('ndcg@10')}",
        f"answers    fact recall {f('fact_recall')}  citation precision {f('citation_precision')}  "
        f"groundedness {f('groundedness')}",
        f"refusals   accuracy {f('refusal_accuracy')}  false refusals {f('false_refusals')}  "
        f"language match {f('language_match')}  pass rate {f('pass_rate')}",
        f"latency    p50 {f('latency_total_p50_ms', False)}  p95 {f('latency_total_p95_ms', False)}",
    ]


def _score_and_write(questions: list[dict], records: list[dict], folder: Path) -> dict:
    """Score every record (kept on it under "scores"), rewrite results.jsonl, return the metrics."""
    scored, metrics = M.score_run(questions, records)
    for rec, s in zip(records, scored, strict=True):
        rec["scores"] = {k: v for k, v in s.items() if k != "id"}
    with (folder / "results.jsonl").open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return metrics
