"""Run reports: ``report.md`` and a self-contained ``report.html`` (plots embedded as base64 PNG).

Both show the headline metrics, the per-language breakdown and one row per question with
its answer, its sources and pass/fail per check. The HTML report is the Jinja2 template
``eval/templates/report.html.j2``, rendered with autoescape: every piece of text from
questions, answers and documents is escaped.
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from pathlib import Path

import jinja2

from .metrics import CHECKS, DIRECTION

# (key, label, kind) for the headline tables; kind "rate" is a 0-1 share, "ms" a latency
HEADLINE = [
    ("hit@1", "Retrieval hit@1", "rate"),
    ("hit@3", "Retrieval hit@3", "rate"),
    ("recall@5", "Retrieval recall@5", "rate"),
    ("mrr", "Retrieval MRR", "rate"),
    ("ndcg@10", "Retrieval nDCG@10", "rate"),
    ("fact_recall", "Fact recall", "rate"),
    ("citation_precision", "Citation precision", "rate"),
    ("uncited_answers", "Answers without citations", "rate"),
    ("groundedness", "Groundedness", "rate"),
    ("refusal_accuracy", "Refusal accuracy (unanswerable)", "rate"),
    ("false_refusals", "False refusals (answerable)", "rate"),
    ("language_match", "Answer-language match", "rate"),
    ("yes_no_openings", "Non-yes/no questions answered with Yes/No first", "rate"),
    ("answer_type_match", "Figure questions answered with a figure", "rate"),
    ("pass_rate", "Questions passing every check", "rate"),
    ("latency_total_p50_ms", "Latency p50", "ms"),
    ("latency_total_p95_ms", "Latency p95", "ms"),
    ("latency_retrieve_p50_ms", "Retrieval latency p50", "ms"),
    ("latency_generate_p50_ms", "Generation latency p50", "ms"),
]
CHECK_LABELS = {
    "retrieval": "gold doc ranked first",
    "facts": "all facts present",
    "citations": "all citations to gold doc",
    "grounded": "all checkable sentences grounded",
    "refusal": "refused iff unanswerable",
    "language": "answer in question's language",
    "shape": "no Yes/No opening a non-yes/no answer; a figure for a figure question",
}


def fmt(value, kind: str = "rate") -> str:
    if value is None:
        return "n/a"
    if kind == "ms":
        return f"{value / 1000:.2f} s"
    return f"{value:.3f}"


def mark(flag) -> str:
    return "–" if flag is None else ("pass" if flag else "FAIL")


def sources_of(rec: dict) -> list[str]:
    return [f"[{c.get('n')}] {c.get('doc_id')} ({c.get('chunk_id')})" for c in rec.get("citations") or []]


def settings_summary(doc: dict) -> list[tuple[str, str]]:
    s = doc.get("settings", {})
    git = doc.get("git") or {}
    commit = git.get("commit") or "none"
    if git.get("dirty"):
        commit += " (uncommitted changes)"
    return [
        ("Backend / model", f"{doc.get('backend')} / {doc.get('model')}"),
        ("Embedder", str(doc.get("embedder"))),
        ("Retrieval", f"{s.get('retrieval_mode')}, top_k {s.get('top_k')}, candidates {s.get('candidates')}"),
        ("Chunking", f"{s.get('chunk_tokens')} tokens, overlap {s.get('chunk_overlap')}"),
        ("Abstain below similarity", str(s.get("min_similarity"))),
        ("Questions", f"{doc.get('n_questions')} from {Path(str(doc.get('questions_file'))).name}"),
        ("Time", f"{doc.get('answer_seconds')} s answering, {doc.get('warmup_seconds')} s loading"),
        ("Errors / backend fallbacks", f"{doc.get('errors')} / {doc.get('fallbacks')}"),
        ("Git commit", commit),
        ("Started", str(doc.get("started_at"))),
        ("Command", str(doc.get("command") or "")),
    ]


# --- markdown ----------------------------------------------------------------------------


def _translated(v: dict) -> str:
    """ "passed/sentences (from memory), failures by kind" of a language's translated sentences."""
    n = v.get("translated_sentences")
    if not n:
        return "-"
    failures = ", ".join(f"{k} {c}" for k, c in sorted(v.get("translation_failures", {}).items(), key=lambda x: -x[1]))
    passed = round((v.get("translation_pass_rate") or 0) * n)
    return f"{passed}/{n} ({v.get('translation_from_memory', 0)} from memory){'; ' + failures if failures else ''}"


def _md_cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(doc: dict, records: list[dict]) -> str:
    m = doc["metrics"]
    lines = [f"# Evaluation run {doc.get('run')}", ""]
    lines += ["| Setting | Value |", "|---|---|"]
    lines += [f"| {k} | {_md_cell(v)} |" for k, v in settings_summary(doc)]
    lines += ["", "## Metrics", "", "| Metric | Value |", "|---|---|"]
    lines += [f"| {label} | {fmt(m.get(key), kind)} |" for key, label, kind in HEADLINE]
    c = m.get("counts", {})
    lines += [
        "",
        f"{c.get('questions')} questions: {c.get('answerable')} answerable, {c.get('unanswerable')} not answerable; "
        f"citation precision over {c.get('with_citations')} cited answers, groundedness over "
        f"{c.get('checkable_for_groundedness')} answers with checkable sentences.",
        "",
        "## By language",
        "",
        "| Language | hit@1 | MRR | Fact recall | Refusal accuracy | False refusals | Language match | p50 "
        "| Translated |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for lang, v in (m.get("by_lang") or {}).items():
        p50 = v.get("latency_total_p50_ms")
        lines.append(
            f"| {lang} ({c.get('by_lang', {}).get(lang)}) | {fmt(v.get('hit@1'))} | {fmt(v.get('mrr'))} | "
            f"{fmt(v.get('fact_recall'))} | {fmt(v.get('refusal_accuracy'))} | {fmt(v.get('false_refusals'))} | "
            f"{fmt(v.get('language_match'))} | {'-' if p50 is None else f'{p50 / 1000:.1f} s'} | {_translated(v)} |"
        )
    lines += ["", "## Questions", "", "| ID | Lang | Question | " + " | ".join(CHECKS) + " | Answer | Sources |"]
    lines.append("|---" * (5 + len(CHECKS)) + "|")
    for r in records:
        s = r.get("scores", {})
        ch = s.get("checks", {})
        answer = r.get("answer") or (f"(error: {r['error']})" if r.get("error") else "")
        lines.append(
            f"| {_md_cell(r['id'])} | {r.get('lang')} | {_md_cell(r.get('question'))} | "
            + " | ".join(mark(ch.get(k)) for k in CHECKS)
            + f" | {_md_cell(answer)} | {_md_cell('; '.join(sources_of(r)))} |"
        )
    checks = "; ".join(f"**{k}**: {v}" for k, v in CHECK_LABELS.items())
    lines += ["", f"Checks: {checks}. – = not applicable.", ""]
    return "\n".join(lines)


# --- plots -------------------------------------------------------------------------------


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def plots(doc: dict, records: list[dict]) -> dict[str, str]:
    """Base64 PNGs: headline metrics, per-language metrics, latency distribution and per question."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = doc["metrics"]
    out: dict[str, str] = {}

    rates = [(label, m.get(key)) for key, label, kind in HEADLINE if kind == "rate" and m.get(key) is not None]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(rates) + 1))
    labels = [r[0] for r in rates][::-1]
    values = [r[1] for r in rates][::-1]
    keys = [k for k, _, kind in HEADLINE if kind == "rate" and m.get(k) is not None][::-1]
    colors = ["#c0504d" if DIRECTION.get(k, 1) < 0 else "#4f81bd" for k in keys]
    ax.barh(labels, values, color=colors)
    for y, v in enumerate(values):
        ax.text(min(v + 0.01, 0.93), y, f"{v:.2f}", va="center", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_title("Metrics (red: lower is better)")
    out["metrics"] = _png(fig)

    by_lang = m.get("by_lang") or {}
    if by_lang:
        names = ["hit@1", "fact_recall", "refusal_accuracy", "false_refusals", "language_match"]
        fig, ax = plt.subplots(figsize=(8, 3.2))
        width = 0.8 / max(len(by_lang), 1)
        for i, (lang, vals) in enumerate(by_lang.items()):
            xs = [j + i * width for j in range(len(names))]
            ax.bar(xs, [vals.get(n) or 0 for n in names], width, label=lang)
        ax.set_xticks([j + width * (len(by_lang) - 1) / 2 for j in range(len(names))])
        ax.set_xticklabels(names, fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize=8)
        ax.set_title("By question language")
        out["by_lang"] = _png(fig)

    totals = [(r["id"], (r.get("timings_ms") or {})) for r in records]
    totals = [(i, t) for i, t in totals if t.get("total") is not None]
    if totals:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 2]})
        secs = [t["total"] / 1000 for _, t in totals]
        ax1.hist(secs, bins=min(20, max(5, len(secs) // 3)), color="#4f81bd")
        for key, style in (("latency_total_p50_ms", "--"), ("latency_total_p95_ms", ":")):
            if m.get(key) is not None:
                ax1.axvline(m[key] / 1000, color="k", linestyle=style, label=key.split("_")[2])
        ax1.set_xlabel("seconds per answer")
        ax1.set_title("Latency")
        ax1.legend(fontsize=8)
        xs = range(len(totals))
        retrieve = [t.get("retrieve", 0) / 1000 for _, t in totals]
        generate = [t.get("generate", 0) / 1000 for _, t in totals]
        parts = zip(totals, retrieve, generate, strict=True)
        other = [max(t["total"] / 1000 - r - g, 0) for (_, t), r, g in parts]
        ax2.bar(xs, retrieve, label="retrieve", color="#9bbb59")
        ax2.bar(xs, generate, bottom=retrieve, label="generate", color="#4f81bd")
        below = [r + g for r, g in zip(retrieve, generate, strict=True)]
        ax2.bar(xs, other, bottom=below, label="other", color="#bbbbbb")
        ax2.set_xlabel("question (run order)")
        ax2.set_ylabel("seconds")
        ax2.set_title("Per question")
        ax2.legend(fontsize=8)
        out["latency"] = _png(fig)
    return out


# --- html --------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("eval", "templates"),
        autoescape=True,  # questions, answers and documents are untrusted text
        finalize=lambda value: "" if value is None else value,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def _check_cell(flag) -> tuple[str, str]:
    return ("na" if flag is None else ("pass" if flag else "fail")), mark(flag)


def question_row(r: dict) -> dict:
    """One question's row of the HTML report, as plain strings."""
    s = r.get("scores", {})
    ch = s.get("checks", {})
    notes = []
    if r.get("error"):
        notes.append(f"error: {r['error']}")
    if r.get("abstained"):
        notes.append("abstained")
    if not r.get("answerable"):
        notes.append("not answerable")
    if s.get("ungrounded"):
        notes.append("ungrounded: " + " | ".join(s["ungrounded"]))
    return {
        "id": r["id"],
        "lang": r.get("lang"),
        "question": r.get("question"),
        "answer": r.get("answer") or "",
        "notes": notes,
        "sources": sources_of(r),
        "checks": [_check_cell(ch.get(k)) for k in CHECKS],
        "fact_recall": fmt(s.get("fact_recall")),
        "time": fmt((r.get("timings_ms") or {}).get("total"), "ms"),
        "failing": not s.get("pass"),
    }


def render_html(doc: dict, records: list[dict], images: dict[str, str] | None = None) -> str:
    m = doc["metrics"]
    images = images if images is not None else plots(doc, records)
    return (
        _templates()
        .get_template("report.html.j2")
        .render(
            doc=doc,
            settings=settings_summary(doc),
            headline=[(label, fmt(m.get(key), kind)) for key, label, kind in HEADLINE],
            images=[(name, images[name]) for name in ("metrics", "by_lang", "latency") if name in images],
            legend="; ".join(f"{k}: {v}" for k, v in CHECK_LABELS.items()),
            checks=CHECKS,
            rows=[question_row(r) for r in records],
        )
    )


def write_reports(out_dir: Path, doc: dict, records: list[dict]) -> None:
    out_dir = Path(out_dir)
    (out_dir / "report.md").write_text(render_markdown(doc, records), encoding="utf-8")
    (out_dir / "report.html").write_text(render_html(doc, records), encoding="utf-8")
