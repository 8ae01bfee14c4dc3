"""Usage at a glance: the question log's entries over a period, counted for the staff tab's plots.

``usage(entries)`` gives questions per day and outcome, the share of each outcome, questions per
language, latency p50/p95 per day and over the period (seconds, from the question's arrival to
its answer, a wait for the model included) and thumbs up/down per day. Days are UTC days, as the
log keeps its times.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np


def _percentiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    p50, p95 = np.percentile(values, [50, 95])
    return round(float(p50) / 1000, 2), round(float(p95) / 1000, 2)


def usage(entries: list[dict]) -> dict:
    """Counts of the log ``entries`` (see the module docstring)."""
    by_day: dict[str, Counter] = defaultdict(Counter)
    latency: dict[str, list[float]] = defaultdict(list)
    ratings: dict[str, Counter] = defaultdict(Counter)
    for e in entries:
        day = e["created_at"][:10]
        by_day[day][e["outcome"]] += 1
        latency[day].append(float(e.get("latency_ms") or 0.0))
        if e.get("rating"):
            ratings[day][e["rating"]] += 1
    outcomes = Counter(e["outcome"] for e in entries)
    total = len(entries)
    p50, p95 = _percentiles([float(e.get("latency_ms") or 0.0) for e in entries])
    return {
        "questions": total,
        "per_day": [
            {"day": day, "outcome": outcome, "questions": n}
            for day in sorted(by_day)
            for outcome, n in sorted(by_day[day].items())
        ],
        "shares": {outcome: round(n / total, 3) for outcome, n in outcomes.most_common()} if total else {},
        "outcomes": dict(outcomes.most_common()),
        "languages": dict(Counter(e.get("language") or "?" for e in entries).most_common()),
        "latency": [
            {"day": day, "percentile": name, "seconds": value}
            for day in sorted(latency)
            for name, value in zip(("p50", "p95"), _percentiles(latency[day]), strict=True)
        ],
        "latency_p50_s": p50,
        "latency_p95_s": p95,
        "ratings": [
            {"day": day, "rating": rating, "answers": ratings[day][rating]}
            for day in sorted(ratings)
            for rating in ("up", "down")
        ],
        "thumbs": {rating: sum(c[rating] for c in ratings.values()) for rating in ("up", "down")},
    }
