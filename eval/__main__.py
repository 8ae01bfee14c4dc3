"""``python -m eval run|rescore|compare|cmrc|tune|replay|embedders``: thin command line over the eval modules."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from rag.config import RETRIEVAL_MODES
from rag.embedders import EMBEDDERS
from rag.generation import BACKENDS

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _overrides(args) -> dict:
    """Settings overrides from the common options and repeated ``--set key=value``."""
    out = {}
    for key in ("corpus", "index"):
        if getattr(args, key, None):
            out[f"{key}_dir"] = Path(getattr(args, key))
    for key, field in (("top_k", "top_k"), ("mode", "retrieval_mode"), ("embedder", "embedder")):
        if getattr(args, key, None) is not None:
            out[field] = getattr(args, key)
    for item in getattr(args, "set", None) or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"--set expects key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def cmd_run(args) -> int:
    from rag.config import Settings

    from .run import QuestionFileError, run, summary_lines

    overrides = _overrides(args)
    unknown = sorted(set(overrides) - set(Settings.model_fields))
    if unknown:
        print(f"error: unknown setting(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:
        out = run(
            questions_file=Path(args.questions),
            out_dir=Path(args.out) if args.out else None,
            backend=args.backend,
            limit=args.limit,
            overrides=overrides,
            index_given=bool(args.index) or "index_dir" in overrides,
            progress=not args.no_progress,
            ids=args.id,
        )
    except (QuestionFileError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    doc = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    print("\n".join(summary_lines(doc)))
    print(f"wrote {out}/results.jsonl, metrics.json, report.md, report.html")
    return 0


def cmd_rescore(args) -> int:
    from .run import QuestionFileError, rescore, summary_lines

    try:
        doc = rescore(Path(args.run), Path(args.questions) if args.questions else None)
    except (QuestionFileError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("\n".join(summary_lines(doc)))
    return 0


def cmd_compare(args) -> int:
    from .compare import RunNotFound, run_compare

    try:
        status, text, out = run_compare(
            Path(args.run_a), Path(args.run_b), Path(args.out) if args.out else None, args.fail_on, args.max_drop
        )
    except (RunNotFound, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(text)
    print(f"wrote {out}/compare.md and compare.json")
    return status


def cmd_cmrc(args) -> int:
    from .cmrc import format_result, run_cmrc

    try:
        result = run_cmrc(
            Path(args.data),
            split=args.split,
            limit=args.limit,
            backend=args.backend,
            qa_limit=args.qa_limit,
            out=Path(args.out) if args.out else None,
            embedder=args.embedder,
            workdir=Path(args.workdir) if args.workdir else None,
            skip_qa=args.no_qa,
            progress=not args.no_progress,
        )
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(format_result(result))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .compare import DEFAULT_GUARDS, DEFAULT_MAX_DROP
    from .run import DEFAULT_QUESTIONS

    p = argparse.ArgumentParser(
        prog="python -m eval", description="Evaluate the investor assistant (see eval/README.md)"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = p.add_subparsers(dest="command", required=True)

    sp = sub.add_parser("run", help="answer the question set with the chat pipeline and score it")
    sp.add_argument("--questions", default=str(DEFAULT_QUESTIONS), help="questions file (JSON Lines)")
    sp.add_argument("--backend", choices=BACKENDS, default=None, help="generator (default: settings.backend)")
    sp.add_argument("--limit", type=int, default=None, help="only the first N questions")
    sp.add_argument("--id", action="append", help="only this question id (repeatable)")
    sp.add_argument("--out", default=None, help="run folder (default: eval/runs/<timestamp>/)")
    sp.add_argument("--corpus", default=None, help="corpus folder (default: settings.corpus_dir)")
    sp.add_argument("--index", default=None, help="index folder (default: settings.index_dir)")
    sp.add_argument("--top-k", dest="top_k", type=int, default=None, help="passages given to the generator")
    sp.add_argument("--mode", choices=RETRIEVAL_MODES, default=None, help="retrieval mode")
    sp.add_argument("--embedder", choices=list(EMBEDDERS), default=None)
    sp.add_argument("--set", action="append", metavar="KEY=VALUE", help="any other setting (repeatable)")
    sp.add_argument("--no-progress", action="store_true", help="no progress bar")
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("rescore", help="score a finished run again with the current metrics")
    sp.add_argument("run", help="run folder")
    sp.add_argument("--questions", default=None, help="take facts and gold documents from this questions file")
    sp.set_defaults(func=cmd_rescore)

    sp = sub.add_parser("compare", help="metric deltas and changed questions between two runs")
    sp.add_argument("run_a", help="the earlier run folder (baseline)")
    sp.add_argument("run_b", help="the later run folder")
    sp.add_argument("--out", default=None, help="where to write compare.md/json (default: RUN_B/compare-<RUN_A>/)")
    sp.add_argument(
        "--fail-on",
        action="append",
        metavar="METRIC[:DROP]",
        help=f"exit 1 if METRIC gets worse by more than DROP (repeatable; default: {', '.join(DEFAULT_GUARDS)})",
    )
    sp.add_argument("--max-drop", type=float, default=DEFAULT_MAX_DROP, help="default allowed worsening per metric")
    sp.set_defaults(func=cmd_compare)

    sp = sub.add_parser("cmrc", help="CMRC 2018 benchmark: retrieval (dense/BM25/hybrid) and answer EM/F1")
    sp.add_argument("--data", required=True, help="folder with cmrc2018_<split>.json (or the file)")
    sp.add_argument("--split", default="dev")
    sp.add_argument("--limit", type=int, default=None, help="only the first N questions (all passages are indexed)")
    sp.add_argument("--backend", choices=BACKENDS, default=None, help="also score this backend's answers")
    sp.add_argument("--qa-limit", type=int, default=None, help="answer only the first N questions")
    sp.add_argument("--no-qa", action="store_true", help="retrieval only")
    sp.add_argument("--embedder", choices=list(EMBEDDERS), default=None)
    sp.add_argument("--workdir", default=None, help="keep the corpus and index here (default: a temporary folder)")
    sp.add_argument("--out", default=None, help="folder for cmrc-<split>.json")
    sp.add_argument("--no-progress", action="store_true")
    sp.set_defaults(func=cmd_cmrc)
    sp = sub.add_parser("tune", help="measure chunk sizes and calibrate the abstention thresholds (no LLM)")
    sp.add_argument("--questions", default=str(DEFAULT_QUESTIONS))
    sp.add_argument("--sizes", nargs="+", default=["64:16", "96:24", "128:32", "192:48"], metavar="TOKENS:OVERLAP")
    sp.add_argument("--top-k", dest="top_k", type=int, default=4)
    sp.add_argument("--out", default=None, help="write the measurements as JSON here")
    sp.set_defaults(func=cmd_tune)

    sp = sub.add_parser("replay", help="a run's drafts through the checks under other attribution settings (no LLM)")
    sp.add_argument("run", help="run folder (its results.jsonl records the drafts)")
    sp.add_argument("--meaning-weight", nargs="+", type=float, default=[0.0, 0.5, 1.0])
    sp.add_argument("--min-meaning", nargs="+", type=float, default=[0.6, 0.7, 0.8])
    sp.set_defaults(func=cmd_replay)

    sp = sub.add_parser("embedders", help="per-language retrieval and thresholds of each embedder and query path")
    sp.add_argument("--questions", default=str(DEFAULT_QUESTIONS))
    sp.add_argument(
        "--embedders", nargs="+", default=["minilm", "use-multilingual", "e5-small"], choices=list(EMBEDDERS)
    )
    sp.add_argument("--rewrites", default=None, help="JSON file of the LLM's English rewrites (made if missing)")
    sp.add_argument("--cmrc", default=None, help="CMRC 2018 folder: also measure its retrieval with each embedder")
    sp.add_argument("--cmrc-split", default="dev", choices=["dev", "trial"])
    sp.add_argument("--out", default=None, help="write the measurements as JSON here")
    sp.set_defaults(func=cmd_embedders)

    sp = sub.add_parser("curated", help="curated-answer matching and gap grouping measured on eval/paraphrases.jsonl")
    sp.add_argument("--out", default=None, help="write the measurements as JSON here")
    sp.set_defaults(func=cmd_curated)
    return p


def cmd_curated(args) -> int:
    from .curated import run

    run(Path(args.out) if args.out else None)
    return 0


def cmd_embedders(args) -> int:
    from .embedders import run

    run(
        Path(args.questions),
        args.embedders,
        Path(args.rewrites) if args.rewrites else None,
        Path(args.cmrc) if args.cmrc else None,
        args.cmrc_split,
        Path(args.out) if args.out else None,
    )
    return 0


def cmd_replay(args) -> int:
    from .replay import replay, table

    rows = replay(Path(args.run), args.meaning_weight, args.min_meaning)
    print(table(rows))
    return 0


def cmd_tune(args) -> int:
    from .tune import run

    run(Path(args.questions), args.sizes, args.top_k, Path(args.out) if args.out else None)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
