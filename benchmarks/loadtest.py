"""Load test of the web app over loopback: many investors at once, a staff re-index in the middle.

    python benchmarks/loadtest.py [--backends extractive llamacpp] [--sessions 20 8] [--questions 5 3]
                                  [--api-clients 4 2] [--deadline 3600] [--out FILE]      (make loadtest)

For each backend: ``python app.py`` on a free loopback port over a temporary copy of ``corpus/``
(its index built at start, a staff password set), then ``sessions`` gradio_client sessions at
once, each with its own client address (``X-Forwarded-For``, which the app trusts from
loopback), each asking its ``questions`` one after another: an answerable question tagged with
the session's number, a follow-up, more questions, an abstention, a Chinese one. Once half the
answers are in, a new document is written into the corpus copy and staff re-index (once).

Checked for every answer: no error and no "busy" reply; the answer record is for the question
this session asked; the chat holds this session's questions, in order, and nothing else; with
the extractive backend a follow-up was made standalone from this session's previous question.
Reported: answers, errors, p50/p95/max seconds per answer (all, and per kind of question), the
re-index's result, the machine's load average. Bounded: every answer has ``--answer-timeout``,
the whole run ``--deadline``; the wait bound of the app is raised to it (the test measures
answers, not refusals).

API clients (issue 21): beside the page's sessions, ``--api-clients`` partners, each with its own
key (made in the app's store before the clock starts), ask the same conversations through ``/v1/chat/completions``
with the real ``openai`` client, the earlier turns as messages. Checked: no error (no 429, no 503),
an answer or an abstention for each. For the backends in ``--compare-api`` (default: extractive)
a run without API clients comes first, and the page's p95 with them must be no worse (within 25%
and half a second: the machine is shared) than without.

The question log (issue 20): after the app is stopped (its log writer flushes at exit), the log
must hold one entry per question asked, and the app's log no "lost" line. For the backends in
``--compare-logging`` (default: extractive) a run with ``log_questions`` off comes first, on the
same machine in the same session, and the two runs' answer times are reported side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.store import Store  # noqa: E402
from rag.web.render import md_text  # noqa: E402
from tests.conftest import STAFF_PASSWORD, make_corpus, start_app  # noqa: E402

FOLLOW_UP = "and what about biomedicine?"
ANSWERABLE = [
    "What does the Norman Bethune Center for Medical Sciences focus on?",
    "What kind of tourism cooperation does the China-ROK zone support?",
    "Which industries does the China-ROK zone develop?",
]
ABSTAIN = ["How do I bake sourdough bread at home?", "What is the price of a flight from Seoul to Tokyo?"]
OTHER_LANGUAGE = ["中韩示范区在半导体方面有哪些合作？", "중한 국제협력시범구는 어떤 산업 분야에서 협력하나요?"]
NEW_DOCUMENT = (
    "Pier Logistics Zone notes\n\nThe Pier Logistics Zone leases cold-storage warehouses to exporters "
    "of frozen food and offers a customs service desk open every day.\n"
)


def tagged(i: int) -> str:
    return f"Which semiconductor fields does the China-ROK zone want to cooperate in, for investor {i}?"


def conversation(i: int, n: int, backend: str) -> list[tuple[str, str]]:
    """Session ``i``'s ``n`` questions as (kind, question). With a language model the session
    opens with an abstention (no model needed) so it shows whether those wait behind the model."""
    if backend == "extractive":
        script = [
            ("answerable", tagged(i)),
            ("follow-up", FOLLOW_UP),
            ("answerable", ANSWERABLE[i % 3]),
            ("abstention", ABSTAIN[i % 2]),
            ("other language", OTHER_LANGUAGE[i % 2]),
        ]
    else:
        script = [
            ("abstention", ABSTAIN[i % 2]),
            ("answerable", tagged(i)),
            ("follow-up", FOLLOW_UP),
            ("answerable", ANSWERABLE[i % 3]),
            ("other language", OTHER_LANGUAGE[i % 2]),
        ]
    return (script * (n // len(script) + 1))[:n]


@dataclass
class Answered:
    session: int
    turn: int
    kind: str
    seconds: float
    error: str = ""


@dataclass
class Run:
    answers: list[Answered] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    half: threading.Event = field(default_factory=threading.Event)
    total: int = 0

    def add(self, a: Answered) -> None:
        with self.lock:
            self.answers.append(a)
            if len(self.answers) * 2 >= self.total:
                self.half.set()


def text_of(message: dict) -> str:
    content = message["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def check_answer(chat: list, record: dict, asked: list[str], kind: str, backend: str) -> str:
    """Why this answer is wrong for this session ("" if it is right)."""
    question = asked[-1]
    if record.get("busy"):
        return f"busy reply: {record.get('answer')}"
    if record.get("error"):
        return f"error: {record['error']}"
    if record.get("question") != question:
        return f"answer for another question: {record.get('question')!r}"
    users = [text_of(m) for m in chat if m.get("role") == "user"]
    if users != [md_text(q) for q in asked] or len(chat) != 2 * len(asked):
        return f"the chat is not this session's: {users}"
    if kind == "follow-up" and backend == "extractive" and not record["standalone_question"].startswith(asked[-2]):
        return f"follow-up made standalone from another conversation: {record['standalone_question']!r}"
    return ""


def session(
    url: str, i: int, script: list[tuple[str, str]], backend: str, run: Run, deadline: float, answer_timeout: float
) -> None:
    from gradio_client import Client

    asked: list[str] = []
    try:
        client = Client(url, verbose=False, headers={"X-Forwarded-For": f"10.0.{i // 250}.{i % 250 + 1}"})
    except Exception as e:  # counted as an error of the session's first answer
        run.add(Answered(i, 1, script[0][0], 0.0, f"could not connect: {e!r}"))
        return
    for turn, (kind, question) in enumerate(script, start=1):
        if time.monotonic() > deadline:
            run.add(Answered(i, turn, kind, 0.0, "not asked: past the deadline"))
            continue
        asked.append(question)
        t0 = time.perf_counter()
        try:
            chat, _box, record = client.submit(question, api_name="/ask").result(timeout=answer_timeout)
            error = check_answer(chat, record, asked, kind, backend)
        except Exception as e:  # a failed or timed-out call is an error of this answer
            error = f"{e.__class__.__name__}: {e}"
        run.add(Answered(i, turn, kind, time.perf_counter() - t0, error))


def api_client(
    app, key: str, i: int, script: list[tuple[str, str]], run: Run, deadline: float, answer_timeout: float
) -> None:
    """A partner's program asking ``script`` through the OpenAI-compatible API, as one conversation."""
    import openai

    api = openai.OpenAI(base_url=f"{app.url}v1", api_key=key, max_retries=0, timeout=answer_timeout)
    messages: list[dict] = []
    for turn, (kind, question) in enumerate(script, start=1):
        if time.monotonic() > deadline:
            run.add(Answered(-i - 1, turn, "api " + kind, 0.0, "not asked: past the deadline"))
            continue
        messages.append({"role": "user", "content": question})
        t0 = time.perf_counter()
        error = ""
        try:
            r = api.chat.completions.create(model="changchun-assistant", messages=messages)
            content, extra = r.choices[0].message.content, r.model_extra
            if extra["outcome"] in ("busy", "failed") or not content:
                error = f"{extra['outcome']}: {content!r}"
            elif not extra["abstained"] and not extra["citations"]:
                error = "an answer without citations"
            messages.append({"role": "assistant", "content": content})
        except Exception as e:  # a refused (429, 503) or failed call is an error of this answer
            error = f"{e.__class__.__name__}: {e}"
            messages.pop()
        run.add(Answered(-i - 1, turn, "api " + kind, time.perf_counter() - t0, error))


def reindex_midway(url: str, corpus_dir: Path, run: Run, out: dict) -> None:
    """Once half the answers are in: a new document into the corpus, then a staff re-index."""
    from gradio_client import Client

    run.half.wait()
    out["started_after_answers"] = len(run.answers)
    (corpus_dir / "pier-logistics-notes.txt").write_text(NEW_DOCUMENT, encoding="utf-8")
    t0 = time.perf_counter()
    try:
        client = Client(url, verbose=False, headers={"X-Forwarded-For": "10.9.9.9"})
        client.predict(STAFF_PASSWORD, api_name="/admin_list")
        _table, _choices, message, _footer = client.predict(STAFF_PASSWORD, api_name="/admin_reindex")
        out.update(message=message, seconds=round(time.perf_counter() - t0, 2), ok="1 added" in message)
    except Exception as e:  # reported, and counted as an error of the run
        out.update(message=f"{e.__class__.__name__}: {e}", seconds=round(time.perf_counter() - t0, 2), ok=False)
    out["done_after_answers"] = len(run.answers)


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "p50_s": None, "p95_s": None, "max_s": None}
    p50, p95 = np.percentile(values, [50, 95])
    return {
        "n": len(values),
        "p50_s": round(float(p50), 2),
        "p95_s": round(float(p95), 2),
        "max_s": round(max(values), 2),
    }


def logged(app) -> dict:
    """What the stopped app's question log holds, and the losses its log reports."""
    with sqlite3.connect(app.feedback_db) as db:
        entries = db.execute("SELECT COUNT(*) FROM questions").fetchone()[0]
        outcomes = dict(db.execute("SELECT outcome, COUNT(*) FROM questions GROUP BY outcome").fetchall())
    lost = sum("question log:" in line and " lost " in line for line in app.log_text().splitlines())
    return {"entries": entries, "outcomes": outcomes, "lost_lines": lost}


def load_test(
    backend: str,
    sessions: int,
    questions: int,
    deadline_s: float = 3600,
    answer_timeout: float = 1800,
    workdir: Path | None = None,
    log_questions: bool = True,
    api_clients: int = 0,
) -> dict:
    """One run against a fresh app with ``backend``; the result as a dict (see the module doc)."""
    tmp = Path(workdir or tempfile.mkdtemp(prefix=f"rag-load-{backend}-"))
    corpus = make_corpus(tmp / "corpus")
    settings = {"backend": backend, "staff_password": STAFF_PASSWORD, "serve_max_wait_s": str(deadline_s)}
    settings["log_questions"] = str(log_questions).lower()
    load_before = os.getloadavg()
    app = start_app(f"load-{backend}", tmp, corpus_dir=corpus, index_dir=tmp / "index", **settings)
    run, reindex = Run(total=(sessions + api_clients) * questions), {}
    # each API client's key, made before the clock starts (as staff would, long before)
    keys = [Store.sqlite(app.feedback_db).keys.create(f"load-{i}") for i in range(api_clients)]
    t0 = time.perf_counter()
    deadline = time.monotonic() + deadline_s
    try:
        threads = [threading.Thread(target=reindex_midway, args=(app.url, corpus, run, reindex), daemon=True)]
        threads += [
            threading.Thread(
                target=session,
                daemon=True,
                args=(app.url, i, conversation(i, questions, backend), backend, run, deadline, answer_timeout),
            )
            for i in range(sessions)
        ]
        threads += [
            threading.Thread(
                target=api_client,
                daemon=True,
                args=(app, keys[i], i, conversation(sessions + i, questions, backend), run, deadline, answer_timeout),
            )
            for i in range(api_clients)
        ]
        for t in threads:
            t.start()
        for t in threads[1:]:
            t.join(max(1.0, deadline - time.monotonic() + answer_timeout))
        run.half.set()
        threads[0].join(600)
    finally:
        elapsed = time.perf_counter() - t0
        app.stop()
    answers = sorted(run.answers, key=lambda a: (a.session, a.turn))
    asked = sum(1 for a in answers if not a.error.startswith(("not asked", "could not connect")))
    ok = [a.seconds for a in answers if not a.error]
    kinds = sorted({a.kind for a in answers})
    result = {
        "backend": backend,
        "sessions": sessions,
        "questions_per_session": questions,
        "answers": len(answers),
        "expected": (sessions + api_clients) * questions,
        "api_clients": api_clients,
        "page": summary([a.seconds for a in answers if not a.error and a.session >= 0]),
        "api": summary([a.seconds for a in answers if not a.error and a.session < 0]),
        "errors": [f"session {a.session} turn {a.turn} ({a.kind}): {a.error}" for a in answers if a.error],
        "all": summary(ok),
        "by_kind": {k: summary([a.seconds for a in answers if a.kind == k and not a.error]) for k in kinds},
        "reindex": reindex,
        "log_questions": log_questions,
        "asked": asked,
        "logged": logged(app) if log_questions else None,
        "elapsed_s": round(elapsed, 1),
        "app_ready_s": app.timings.get("ready_s"),
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    if workdir is None:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def passed(result: dict) -> bool:
    log = result["logged"]
    every_question_logged = log is None or (log["entries"] == result["asked"] and not log["lost_lines"])
    return (
        not result["errors"]
        and result["answers"] == result["expected"]
        and bool(result["reindex"].get("ok"))
        and every_question_logged
    )


def report(r: dict) -> None:
    logging = "on" if r["log_questions"] else "off"
    print(
        f"  question log {logging}, {r['api_clients']} API clients: {r['answers']}/{r['expected']} answers, "
        f"{len(r['errors'])} errors, p50 {r['all']['p50_s']} s, p95 {r['all']['p95_s']} s, max {r['all']['max_s']} s, "
        f"{r['elapsed_s']} s in all; page p95 {r['page']['p95_s']} s, API p95 {r['api']['p95_s']} s"
    )
    for kind, s in r["by_kind"].items():
        print(f"    {kind:<15} n={s['n']:<3} p50 {s['p50_s']} s  p95 {s['p95_s']} s  max {s['max_s']} s")
    rx = r["reindex"]
    print(
        f"  re-index started after {rx.get('started_after_answers')} answers, done after "
        f"{rx.get('done_after_answers')} ({rx.get('seconds')} s): {rx.get('message')}"
    )
    if r["logged"] is not None:
        log = r["logged"]
        print(f"  logged {log['entries']} of {r['asked']} questions asked, {log['lost_lines']} lost: {log['outcomes']}")
    print(f"  load average before {r['load_average_before']}, after {r['load_average_after']}")
    for e in r["errors"][:20]:
        print(f"  ERROR {e}")


def page_p95_kept(without: dict, with_api: dict) -> bool:
    """The page's p95 with API clients no worse than without (within 25% and 0.5 s: a shared machine)."""
    before, after = without["page"]["p95_s"], with_api["page"]["p95_s"]
    return before is not None and after is not None and after <= 1.25 * before + 0.5


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", nargs="+", default=["extractive", "llamacpp"])
    ap.add_argument("--sessions", nargs="+", type=int, default=[20, 8], help="per backend, in order")
    ap.add_argument("--questions", nargs="+", type=int, default=[5, 3], help="per session, per backend")
    ap.add_argument("--api-clients", nargs="+", type=int, default=[4, 2], help="API clients beside the sessions")
    ap.add_argument(
        "--compare-api", nargs="*", default=["extractive"], help="backends also run without API clients, first"
    )
    ap.add_argument("--deadline", type=float, default=3600, help="seconds for one backend's run")
    ap.add_argument("--answer-timeout", type=float, default=1800)
    ap.add_argument("--out", type=Path, help="write the results as JSON")
    ap.add_argument(
        "--compare-logging",
        nargs="*",
        default=["extractive"],
        help="backends also run with the question log off, first",
    )
    args = ap.parse_args(argv)
    results, kept = [], True
    for i, backend in enumerate(args.backends):
        sessions = args.sessions[min(i, len(args.sessions) - 1)]
        questions = args.questions[min(i, len(args.questions) - 1)]
        api = args.api_clients[min(i, len(args.api_clients) - 1)]
        runs = [(False, 0)] if backend in args.compare_logging else []  # (question log, API clients)
        runs += [(True, 0)] if backend in args.compare_api and api else []
        runs += [(True, api)]
        for log_questions, clients in runs:
            print(f"{backend}: {sessions} sessions + {clients} API clients x {questions} questions ...", flush=True)
            r = load_test(
                backend, sessions, questions, args.deadline, args.answer_timeout, None, log_questions, clients
            )
            results.append(r)
            report(r)
        by = {(r["log_questions"], r["api_clients"]): r for r in results[-len(runs) :]}
        if (False, 0) in by and (True, 0) in by:
            off, on = by[(False, 0)]["all"], by[(True, 0)]["all"]
            print(
                f"  answer time without / with the question log: p50 {off['p50_s']} / {on['p50_s']} s, "
                f"p95 {off['p95_s']} / {on['p95_s']} s"
            )
        if (True, 0) in by and api:
            without, with_api = by[(True, 0)], by[(True, api)]
            kept = kept and page_p95_kept(without, with_api)
            print(
                f"  the page without / with {api} API clients: p50 {without['page']['p50_s']} / "
                f"{with_api['page']['p50_s']} s, p95 {without['page']['p95_s']} / {with_api['page']['p95_s']} s"
            )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0 if kept and all(passed(r) for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
