"""How the staff tab's insight reports are drawn: table rows and markdown for the question log,
the gap report, usage, curated answers and the retrieval test (``rag.web.staff_insight``).

Investors' questions are shown to staff, so every text from the log, the documents or the store is
escaped (``render.md_text``) exactly as in the chat: a question holding ``<script>`` or a markdown
link is shown as the text it is.
"""

from __future__ import annotations

from ..search.gaps import Gap
from .render import md_text


def log_rows(entries: list[dict]) -> list[list]:
    return [
        [
            e["id"],
            e["created_at"].replace("T", " ").rstrip("Z"),
            e["language"],
            e["outcome"],
            e["rating"],
            round(float(e["latency_ms"]) / 1000, 2),
            e["backend"],
            e["question"],
            ", ".join(c.get("chunk_id", "") for c in e["citations"]),
        ]
        for e in entries
    ]


def curated_rows(entries: list[dict]) -> list[list]:
    return [
        [
            e["id"],
            e["status"],
            e["question"],
            ", ".join(sorted(e["answers"])),
            ", ".join(c["chunk_id"] for c in e["citations"]),
            e["reason"],
        ]
        for e in entries
    ]


def _score(x) -> str:
    return "–" if x is None else f"{x:.3f}"


def gaps_markdown(gaps: list[Gap]) -> str:
    """Each group: its size and languages, example questions, the nearest passages with scores."""
    parts = []
    for n, g in enumerate(gaps, start=1):
        langs = ", ".join(f"{k} {v}" for k, v in g.languages.items())
        lines = [f"### {n}. {g.size} question{'s' if g.size != 1 else ''} ({langs})"]
        for e in g.examples:
            rating = " · rated down" if e.get("rating") == "down" else ""
            lines.append(f"- {md_text(e['question'])} *({e.get('language')}, {e.get('outcome')}{rating})*")
        if g.passages:
            lines.append("\nNearest passages (dense · BM25 · fused):")
            for h in g.passages:
                lines.append(
                    f"- {md_text(h.chunk.chunk_id)} {md_text(h.chunk.title)}: "
                    f"{_score(h.dense_score)} · {_score(h.bm25_score)} · {_score(h.score)}"
                )
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def usage_markdown(u: dict, days) -> str:
    if not u["questions"]:
        return f"No questions in the last {days:g} days."
    shares = ", ".join(f"{k} {v:.0%}" for k, v in u["shares"].items())
    langs = ", ".join(f"{k} {v}" for k, v in u["languages"].items())
    return (
        f"**{u['questions']} questions** in the last {days:g} days: {shares}. Languages: {langs}. "
        f"Latency p50 {u['latency_p50_s']} s, p95 {u['latency_p95_s']} s. "
        f"Thumbs up {u['thumbs']['up']}, down {u['thumbs']['down']}."
    )


def probe_markdown(p: dict) -> str:
    """The retrieval test's result: readings with their passages and scores, the gate, intent, path."""
    gate = p["gate"]
    lines = [f"**Path:** {p['path_text']} (`{p['path']}`)."]
    if p["curated"]:
        c = p["curated"]
        lines.append(f"**Curated answer #{c['id']}** matches ({c['similarity']:.3f}): {md_text(c['question'])}")
    intent = p["intent"]
    wants = intent["wants"] or "nothing in particular"
    if intent["figures"]:
        wants += f" ({', '.join(intent['figures'])})"
    lines.append(
        f"**Intent:** wants {wants}; yes/no question: {'yes' if intent['yesno'] else 'no'}; "
        f"focus: {md_text(', '.join(intent['focus']) or '–')}."
    )
    verdict = "passes" if p["passes_gate"] else "fails"
    lines.append(
        f"**Evidence gate:** {verdict} (similarity needs ≥ {gate['min_similarity']}, keyword coverage ≥ "
        f"{gate['min_coverage']}). Not run here: {p['not_run']}."
    )
    for r in p["readings"]:
        chosen = " ← judged by the gate" if r.get("chosen") else ""
        mark = "✓" if r["passes_gate"] else "✗"
        lines.append(
            f"\n#### Reading {r['label']}{chosen}\n{md_text(r['query'])}\n\n"
            f"{mark} similarity {r['similarity']:.3f}, coverage {r['coverage']:.2f}\n\n"
            "| # | passage | dense | BM25 | fused |\n|---|---|---|---|---|"
        )
        for h in r["passages"]:
            text = md_text(h["text"][:160].replace("\n", " "))
            lines.append(
                f"| {h['rank']} | {md_text(h['chunk_id'])}: {text}… | {_score(h['dense'])} | {_score(h['bm25'])} "
                f"| {_score(h['score'])} |"
            )
    return "\n".join(lines)
