"""``python -m eval compare RUN_A RUN_B``: what changed from run A (before) to run B (after).

Prints and writes (``compare.md``, ``compare.json``) the metric deltas and the questions whose
outcome changed, worst first. The exit status is 1 when a guarded metric got worse by more
than its threshold, so the command can guard CI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .metrics import CHECKS, DIRECTION
from .report import HEADLINE, fmt

DEFAULT_GUARDS = ("fact_recall", "refusal_accuracy", "false_refusals", "hit@1", "groundedness")
DEFAULT_MAX_DROP = 0.05


class RunNotFound(FileNotFoundError):
    pass


@dataclass
class Run:
    path: Path
    doc: dict  # metrics.json
    records: dict[str, dict]  # results.jsonl by question id

    @property
    def name(self) -> str:
        return self.path.name


def load_run(path: Path) -> Run:
    path = Path(path)
    mfile, rfile = path / "metrics.json", path / "results.jsonl"
    if not mfile.exists() or not rfile.exists():
        raise RunNotFound(f"{path} is not a run folder (needs metrics.json and results.jsonl)")
    doc = json.loads(mfile.read_text(encoding="utf-8"))
    records = {}
    with rfile.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                records[r["id"]] = r
    return Run(path, doc, records)


def parse_guards(specs: list[str] | None, max_drop: float) -> dict[str, float]:
    """``["fact_recall", "hit@1:0.1"]`` -> {metric: allowed worsening}."""
    guards: dict[str, float] = {}
    for spec in specs if specs else DEFAULT_GUARDS:
        name, _, threshold = spec.partition(":")
        if name not in DIRECTION:
            raise ValueError(f"unknown metric {name!r}; choose from {', '.join(DIRECTION)}")
        guards[name] = float(threshold) if threshold else max_drop
    return guards


def metric_deltas(a: dict, b: dict) -> list[dict]:
    """One row per metric in either run: before, after, delta and whether it got worse."""
    rows = []
    for key in DIRECTION:
        va, vb = a.get(key), b.get(key)
        if va is None and vb is None:
            continue
        delta = None if va is None or vb is None else vb - va
        worse = None if delta is None else delta * DIRECTION[key]  # positive = better
        rows.append({"metric": key, "a": va, "b": vb, "delta": delta, "better_by": worse})
    return rows


def changed_questions(a: Run, b: Run) -> list[dict]:
    """Questions in both runs whose checks, pass or fact recall changed; worst first.

    Severity = checks that went from pass to fail minus checks that went from fail to pass;
    ties are broken by the change in fact recall (bigger drop first), then by id.
    """
    out = []
    for qid in [q for q in a.records if q in b.records]:
        ra, rb = a.records[qid], b.records[qid]
        sa, sb = ra.get("scores", {}), rb.get("scores", {})
        ca, cb = sa.get("checks", {}), sb.get("checks", {})
        lost = [k for k in CHECKS if ca.get(k) is True and cb.get(k) is False]
        gained = [k for k in CHECKS if ca.get(k) is False and cb.get(k) is True]
        fa, fb = sa.get("fact_recall"), sb.get("fact_recall")
        fact_delta = None if fa is None or fb is None else fb - fa
        refused_changed = sa.get("refused") != sb.get("refused")
        if not (lost or gained or (fact_delta or 0) != 0 or refused_changed or sa.get("pass") != sb.get("pass")):
            continue
        out.append(
            {
                "id": qid,
                "question": rb.get("question") or ra.get("question"),
                "lang": rb.get("lang"),
                "severity": len(lost) - len(gained),
                "lost": lost,
                "gained": gained,
                "pass": [sa.get("pass"), sb.get("pass")],
                "refused": [sa.get("refused"), sb.get("refused")],
                "fact_recall": [fa, fb],
                "fact_delta": fact_delta,
                "answer_a": ra.get("answer", ""),
                "answer_b": rb.get("answer", ""),
            }
        )
    out.sort(key=lambda r: (-r["severity"], r["fact_delta"] if r["fact_delta"] is not None else 0.0, r["id"]))
    return out


def settings_diff(a: dict, b: dict) -> dict[str, list]:
    keys = ("backend", "model", "embedder", "n_questions", "questions_sha256")
    diff = {k: [a.get(k), b.get(k)] for k in keys if a.get(k) != b.get(k)}
    sa, sb = a.get("settings", {}), b.get("settings", {})
    for k in sorted(set(sa) | set(sb)):
        if sa.get(k) != sb.get(k):
            diff[f"settings.{k}"] = [sa.get(k), sb.get(k)]
    ga, gb = (a.get("git") or {}).get("commit"), (b.get("git") or {}).get("commit")
    if ga != gb:
        diff["git.commit"] = [ga, gb]
    return diff


def compare(a: Run, b: Run, guards: dict[str, float]) -> dict:
    ma, mb = a.doc.get("metrics", {}), b.doc.get("metrics", {})
    deltas = metric_deltas(ma, mb)
    by_metric = {r["metric"]: r for r in deltas}
    failures = []
    for name, allowed in guards.items():
        row = by_metric.get(name)
        if row and row["better_by"] is not None and row["better_by"] < -allowed - 1e-12:
            failures.append({"metric": name, "a": row["a"], "b": row["b"], "delta": row["delta"], "allowed": allowed})
    only_a = sorted(set(a.records) - set(b.records))
    only_b = sorted(set(b.records) - set(a.records))
    return {
        "run_a": str(a.path),
        "run_b": str(b.path),
        "settings_changed": settings_diff(a.doc, b.doc),
        "metrics": deltas,
        "changed_questions": changed_questions(a, b),
        "only_in_a": only_a,
        "only_in_b": only_b,
        "guards": guards,
        "regressions": failures,
    }


_KIND = {key: kind for key, _, kind in HEADLINE}


def _fmt_delta(row: dict) -> str:
    d = row["delta"]
    if d is None:
        return "n/a"
    kind = _KIND.get(row["metric"], "ms" if row["metric"].endswith("_ms") else "rate")
    text = f"{d / 1000:+.2f} s" if kind == "ms" else f"{d:+.3f}"
    if row["better_by"] and abs(row["better_by"]) > 1e-12:
        text += " (better)" if row["better_by"] > 0 else " (worse)"
    return text


def render_markdown(result: dict, a: Run, b: Run) -> str:
    lines = [f"# Comparison: {a.name} → {b.name}", ""]
    if result["settings_changed"]:
        lines += ["## What differs", "", "| | A | B |", "|---|---|---|"]
        lines += [f"| {k} | {v[0]} | {v[1]} |" for k, v in result["settings_changed"].items()]
        lines.append("")
    lines += ["## Metrics", "", "| Metric | A | B | Δ |", "|---|---|---|---|"]
    for r in result["metrics"]:
        kind = "ms" if r["metric"].endswith("_ms") else "rate"
        lines.append(f"| {r['metric']} | {fmt(r['a'], kind)} | {fmt(r['b'], kind)} | {_fmt_delta(r)} |")
    lines += ["", "## Questions whose outcome changed (worst first)", ""]
    if not result["changed_questions"]:
        lines.append("None.")
    for q in result["changed_questions"]:
        what = []
        if q["lost"]:
            what.append("now fails " + ", ".join(q["lost"]))
        if q["gained"]:
            what.append("now passes " + ", ".join(q["gained"]))
        if q["fact_delta"]:
            what.append(f"fact recall {q['fact_recall'][0]:.2f} → {q['fact_recall'][1]:.2f}")
        if q["refused"][0] != q["refused"][1]:
            what.append("now refuses" if q["refused"][1] else "no longer refuses")
        lines.append(f"- **{q['id']}** ({q['lang']}) {q['question']} — {'; '.join(what) or 'changed'}")
        lines.append(f"  - A: {q['answer_a'][:300]}")
        lines.append(f"  - B: {q['answer_b'][:300]}")
    if result["only_in_a"] or result["only_in_b"]:
        only_a, only_b = ", ".join(result["only_in_a"]) or "-", ", ".join(result["only_in_b"]) or "-"
        lines += ["", f"Only in A: {only_a}; only in B: {only_b}"]
    lines += ["", "## Guard", ""]
    guards = ", ".join(f"{k} (allowed worsening {v})" for k, v in result["guards"].items())
    if result["regressions"]:
        for f in result["regressions"]:
            lines.append(f"- REGRESSION: {f['metric']} {f['a']:.3f} → {f['b']:.3f} (allowed worsening {f['allowed']})")
    else:
        lines.append(f"No guarded metric got worse past its threshold: {guards}.")
    lines.append("")
    return "\n".join(lines)


def run_compare(
    run_a: Path,
    run_b: Path,
    out: Path | None = None,
    fail_on: list[str] | None = None,
    max_drop: float = DEFAULT_MAX_DROP,
) -> tuple[int, str, Path]:
    """Compare two runs and write compare.md/compare.json. Returns (exit status, text, folder)."""
    a, b = load_run(run_a), load_run(run_b)
    guards = parse_guards(fail_on, max_drop)
    result = compare(a, b, guards)
    text = render_markdown(result, a, b)
    out = Path(out) if out else b.path / f"compare-{a.name}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.md").write_text(text, encoding="utf-8")
    (out / "compare.json").write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return (1 if result["regressions"] else 0), text, out
