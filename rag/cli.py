"""Command line: ``python -m rag index|search|ask|models|feedback|log|keys``. Thin over the library.

Every error is one line on stderr and exit code 1 (``-v`` shows the stack trace)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from .config import RETRIEVAL_MODES, get_settings
from .generation import BACKENDS


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def cmd_index(args) -> int:
    from .embedders import get_embedder
    from .ingest.build import build_index, check_corpus

    settings = get_settings(corpus_dir=args.corpus, index_dir=args.index)
    check_corpus(settings)  # before loading the embedder
    report = build_index(settings, get_embedder(settings), show_bar=not args.json)
    if args.json:
        _print_json(report.to_json())
        return 0
    if report.rebuilt_reason:
        print(report.rebuilt_reason)
    for s in report.skipped:
        print(f"skipped {s['file']}: {s['reason']}")
    print(
        f"added {report.added}, updated {report.updated}, removed {report.removed}, "
        f"unchanged {report.unchanged}; {report.chunks} chunks ({report.index_type} index) in {report.seconds:.1f} s"
    )
    return 0


def cmd_search(args) -> int:
    from .search.retrieval import open_retriever

    settings = get_settings(corpus_dir=args.corpus, index_dir=args.index, retrieval_mode=args.mode)
    hits = open_retriever(settings).search(args.query, k=args.k)
    if args.json:
        _print_json({"query": args.query, "results": [h.to_json() for h in hits]})
        return 0
    if not hits:
        print("No passages found.")
    for h in hits:
        page = f", page {h.chunk.page}" if h.chunk.page else ""
        print(f"{h.rank}. [{h.score:.4f}] {h.chunk.title} ({h.chunk.chunk_id}{page})\n   {h.chunk.source}")
        print("   " + h.chunk.text.replace("\n", " ")[:400] + "\n")
    return 0


def cmd_ask(args) -> int:
    from .answer.pipeline import Assistant

    settings = get_settings(corpus_dir=args.corpus, index_dir=args.index)
    assistant = Assistant(settings)
    t0 = time.perf_counter()
    answer = assistant.ask(args.question, backend=args.backend)
    if args.log:
        _log_answer(settings, answer, (time.perf_counter() - t0) * 1000)
    if args.json:
        _print_json(answer.to_json())
        return 0
    for notice in answer.notices:
        print(f"({notice})")
    print(answer.answer)
    # an abstention cites nothing; the passages it found are offered as related reading
    listed = answer.related if answer.abstained else answer.citations
    if listed:
        print("\nRelated reading:" if answer.abstained else "\nSources:")
        for c in listed:
            print(f"[{c.n}] {c.title} - {c.source}")
    print(f"\n({answer.backend}, {answer.timings_ms['total'] / 1000:.1f} s)")
    return 0


def _log_answer(settings, answer, latency_ms: float) -> None:
    """Record the answer in the question log as the chat does (written before the command ends)."""
    from .store import LogWriter, open_store
    from .store.questions import log_entry, new_entry

    writer = LogWriter(open_store(settings).questions, settings.log_retention_days)
    writer.record(log_entry(new_entry(), answer, latency_ms))
    writer.close()
    if writer.lost:
        print("(the question could not be logged: the store is unavailable)", file=sys.stderr)


def cmd_log_list(args) -> int:
    from .store import existing_store
    from .store.questions import DAY_S, utc_now

    settings = get_settings()
    store = existing_store(settings)
    entries = store.questions.entries(utc_now(-args.days * DAY_S), limit=args.limit) if store else []
    if args.json:
        _print_json({"entries": entries})
        return 0
    if not entries:
        print(f"No questions logged in the last {args.days:g} days.")
    for e in entries:
        rating = f" {e['rating']}" if e["rating"] else ""
        print(f"#{e['id']} {e['created_at']} {e['language']} {e['outcome']}{rating} {e['latency_ms'] / 1000:.2f} s")
        print(f"   {e['question']}")
    return 0


def cmd_log_gaps(args) -> int:
    from .search.gaps import gap_report
    from .search.retrieval import open_retriever
    from .store import existing_store
    from .store.questions import DAY_S, utc_now

    settings = get_settings(corpus_dir=args.corpus, index_dir=args.index)
    store = existing_store(settings)
    entries = store.questions.gaps(utc_now(-args.days * DAY_S)) if store else []
    gaps = gap_report(entries, open_retriever(settings) if entries else None, settings)
    if args.json:
        _print_json({"questions": len(entries), "groups": [g.to_json() for g in gaps]})
        return 0
    if not gaps:
        print(f"No abstained or thumbs-down questions in the last {args.days:g} days.")
    for n, g in enumerate(gaps, start=1):
        langs = ", ".join(f"{k} {v}" for k, v in g.languages.items())
        print(f"{n}. {g.size} questions ({langs})")
        for e in g.examples:
            print(f"   - {e['question']}")
        for h in g.passages:
            print(f"   nearest: {h.chunk.chunk_id} (dense {h.dense_score or 0:.3f}, fused {h.score:.3f})")
    return 0


def cmd_models(args) -> int:
    from .generation.gguf import fetch_cli

    settings = get_settings()
    return fetch_cli(args.model or [settings.gguf_model], settings.models_dir)


def cmd_feedback_export(args) -> int:
    from .store import existing_store, export_questions

    store = existing_store(get_settings())  # a SQLite file that does not exist is not created
    n = export_questions(store.feedback if store else None, args.out, only=args.only)
    print(f"wrote {n} questions to {args.out}")
    return 0


def cmd_feedback_counts(args) -> int:
    from .store import open_store

    counts = open_store(get_settings()).feedback.counts()
    if args.json:
        _print_json(counts)
    else:
        print(f"up {counts['up']}, down {counts['down']}")
    return 0


def cmd_keys(args) -> int:
    from .store import open_store

    keys = open_store(get_settings()).keys
    if args.keys_command == "create":
        key = keys.create(args.name)
        print(f"API key for {args.name} (shown once, only its SHA-256 is kept):\n{key}")
    elif args.keys_command == "revoke":
        if not keys.revoke(args.name):
            raise ValueError(f"no active key named {args.name!r}")
        print(f"revoked {args.name}")
    elif args.json:
        _print_json({"keys": keys.all()})
    else:
        for k in keys.all():
            state = "active" if k["active"] else f"revoked {k['revoked_at']}"
            print(f"{k['name']}  {k['prefix']}...  created {k['created_at']}  {state}  today {k['today']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rag", description="Changchun investment-zone assistant")
    p.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp):
        sp.add_argument("--corpus", default=None, help="corpus folder (default: settings.corpus_dir)")
        sp.add_argument("--index", default=None, help="index folder (default: settings.index_dir)")
        sp.add_argument("--json", action="store_true", help="print JSON")

    sp = sub.add_parser("index", help="build or update the index from the corpus folder")
    common(sp)
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("search", help="show the passages retrieved for a question")
    sp.add_argument("query")
    sp.add_argument("--k", type=int, default=5)
    sp.add_argument("--mode", choices=RETRIEVAL_MODES, default=None)
    common(sp)
    sp.set_defaults(func=cmd_search)

    sp = sub.add_parser("ask", help="answer a question from the documents, with citations")
    sp.add_argument("question")
    sp.add_argument("--backend", choices=BACKENDS, default=None)
    sp.add_argument("--log", action="store_true", help="record the question in the question log, as the chat does")
    common(sp)
    sp.set_defaults(func=cmd_ask)

    sp = sub.add_parser("models", help="fetch and verify the local GGUF model(s)")
    sp.add_argument("--model", action="append", help="registry name (repeatable); default: settings.gguf_model")
    sp.set_defaults(func=cmd_models)

    fb = sub.add_parser("feedback", help="investor feedback stored by the web chat")
    fsub = fb.add_subparsers(dest="feedback_command", required=True)
    sp = fsub.add_parser("export", help="export rated answers as evaluation questions (JSONL)")
    sp.add_argument("--out", required=True)
    sp.add_argument("--only", choices=["down", "up", "all"], default="down", help="which ratings to export")
    sp.set_defaults(func=cmd_feedback_export)
    sp = fsub.add_parser("counts", help="how many answers were rated up and down")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.set_defaults(func=cmd_feedback_counts)

    lg = sub.add_parser("log", help="the question log: what investors asked, and what the documents miss")
    lsub = lg.add_subparsers(dest="log_command", required=True)
    sp = lsub.add_parser("list", help="the logged questions, newest first")
    sp.add_argument("--days", type=float, default=30, help="of the last DAYS days")
    sp.add_argument("--limit", type=int, default=200)
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.set_defaults(func=cmd_log_list)
    sp = lsub.add_parser("gaps", help="abstained and thumbs-down questions grouped by meaning, largest first")
    sp.add_argument("--days", type=float, default=30, help="of the last DAYS days")
    common(sp)
    sp.set_defaults(func=cmd_log_gaps)

    ks = sub.add_parser("keys", help="API keys for /v1 (stored hashed; a new key is printed once)")
    ksub = ks.add_subparsers(dest="keys_command", required=True)
    for name, about in (("create", "make a key for NAME and print it"), ("revoke", "end NAME's key for good")):
        sp = ksub.add_parser(name, help=about)
        sp.add_argument("name")
        sp.set_defaults(func=cmd_keys)
    sp = ksub.add_parser("list", help="every key: prefix, created, revoked, questions today")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.set_defaults(func=cmd_keys)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # one clear line, not a stack trace
        if args.verbose:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 1
