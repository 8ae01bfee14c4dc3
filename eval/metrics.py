"""Evaluation metrics: pure functions over recorded answers, no model.

Every metric is defined in ``eval/README.md``; the functions here are the definitions.
Per-question functions return ``None`` when a metric does not apply to the question (for
example fact recall of a question with no facts, or citation precision of an answer that
cites nothing); run-level aggregates skip those ``None`` values and report how many
questions they averaged over.

Retrieval metrics (hit@k, recall@k, MRR, nDCG@10) are computed with ranx at document level:
retrieved chunks are reduced to their documents in rank order (first occurrence wins).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from rag.answer.grounding import iso_dates
from rag.answer.languages import LANGUAGES
from rag.text import detect_language, split_sentences

# --- text normalisation -------------------------------------------------------------------

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d"), "-")
_QUOTES = {ord(c): "'" for c in "\u2018\u2019\u201a\u201b\u2032"} | {ord(c): '"' for c in "\u201c\u201d\u201e\u2033"}
MARKER = re.compile(r"\[(\d+(?:\s*[,\uff0c]\s*\d+)*)\]")  # [1] or [1, 2]


def normalize(text: str) -> str:
    """NFKC, lower case, unified dashes and quotes, "30 percent" as "30%", "10,000" as "10000",
    single spaces."""
    text = unicodedata.normalize("NFKC", text or "").translate(_DASHES).translate(_QUOTES).lower()
    text = re.sub(r"(?<=\d)\s*(?:percent\b|per cent\b|%)", "%", text)  # "30 percent" = "30%"
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)  # "10,000" = "10000"
    return re.sub(r"\s+", " ", text).strip()


def strip_markers(text: str) -> str:
    """The text without citation markers like ``[1]`` or ``[1, 2]``."""
    text = re.sub(r"\s*" + MARKER.pattern, "", text or "")
    return re.sub(r"\s+([.,;:!?。，；：！？])", r"\1", text).strip()


def markers(text: str) -> list[int]:
    """Citation numbers in order of first appearance: ``"a [2] b [1, 2]"`` -> ``[2, 1]``."""
    out: list[int] = []
    for m in MARKER.finditer(text or ""):
        for n in re.split(r"\s*[,\uff0c]\s*", m.group(1)):
            if int(n) not in out:
                out.append(int(n))
    return out


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def contains(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` after :func:`normalize`.

    Where the phrase starts or ends with an ASCII letter or digit, it must start/end on a
    word boundary (so "AI" is not found in "said"), except that a plural "s"/"es" may follow
    ("chip" is found in "chips"). Chinese and Korean phrases match as plain substrings.
    """
    t, p = normalize(text), normalize(phrase)
    if not p:
        return False
    head = r"(?<![a-z0-9])" if _is_word_char(p[0]) else ""
    tail = r"(?:e?s)?(?![a-z0-9])" if _is_word_char(p[-1]) else ""
    return re.search(head + re.escape(p) + tail, t) is not None


# --- answer content -----------------------------------------------------------------------


def fact_present(answer: str, spellings: Sequence[str]) -> bool:
    """One fact is present when any one of its accepted spellings occurs in the answer."""
    return any(contains(answer, s) for s in spellings)


def fact_recall(answer: str, facts: Sequence[Sequence[str]]) -> float | None:
    """Share of facts present in the answer; None when the question lists no facts."""
    if not facts:
        return None
    return sum(fact_present(answer, f) for f in facts) / len(facts)


def citation_precision(cited_docs: Sequence[str], gold_doc: str | None) -> float | None:
    """Share of citations that point to the gold document.

    None when it cannot be judged: no citations, or no gold document (unanswerable question).
    """
    if not cited_docs or not gold_doc:
        return None
    return sum(d == gold_doc for d in cited_docs) / len(cited_docs)


# Numbers (years, percentages, decimals) and names (capitalised words, acronyms, 5G) are the
# parts of a sentence a small model invents most often; they are what groundedness checks.
_WORDS = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*%?")
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_NOT_NAMES = frozenset(
    "a an the this that these those it its they their there he she we you i our your his her "
    "in on at of for to by with from as and or but if so yes no not according also however "
    "sources source passage passages document documents answer question".split()
)


def claims(sentence: str) -> list[str]:
    """The checkable parts of a sentence: numbers and names.

    Names are Latin-script words with a capital letter or a digit ("Jingyue", "IGBT", "5G",
    "18th"), except function words and the sentence's first word when it is an ordinary
    capitalised word ("Support ..."). Numbers are digit runs outside such words ("2020",
    "3.5", "30%"). Han and Hangul text carries no capitals, so in Chinese and Korean sentences
    only numbers and embedded Latin names are checked.
    """
    text = strip_markers(sentence)
    out: list[str] = []
    # a full date in any spelling ("July 2, 2020") is one claim, compared in ISO form
    text = iso_dates(text)
    out.extend(_ISO_DATE.findall(text))
    text = _ISO_DATE.sub(" ", text)
    for m in _WORDS.finditer(text):
        word = m.group()
        has_digit = any(c.isdigit() for c in word)
        has_letter = any(c.isalpha() for c in word)
        if not has_letter:
            continue  # a plain number: handled below
        capital = any(c.isupper() for c in word)
        if not (capital or has_digit) or word.lower() in _NOT_NAMES:
            continue
        first = text[: m.start()].strip(" \"'“”‘’(*-#") == ""
        if first and not has_digit and not word.isupper() and not any(c.isupper() for c in word[1:]):
            continue  # "Support ..." at the start of a sentence is not a name
        out.append(re.sub(r"'s$", "", word))  # a possessive is the name
    number_text = _WORDS.sub(lambda m: m.group() if m.group().isdigit() else " ", text)
    out.extend(m.group().rstrip(".,:") for m in _NUMBER.finditer(number_text))
    return list(dict.fromkeys(out))


def claim_supported(claim: str, context: str) -> bool:
    """A name is found like a fact (:func:`contains`); a number must occur with no other digit
    directly before or after it, so "18" is found in "May 18th" but not in "2018"."""
    if _ISO_DATE.fullmatch(claim):
        return claim in iso_dates(context)
    if _NUMBER.fullmatch(claim):
        pattern = r"(?<![\d])(?<!\d[.,])" + re.escape(claim) + r"(?![\d]|[.,]\d)"
        return re.search(pattern, normalize(context)) is not None
    return contains(context, claim)


def answer_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """Sentences of an answer with the citation numbers each one relies on.

    A sentence cites the markers it contains; a sentence without markers relies on the
    markers of the next marked sentence in the same paragraph ("A. B [1]." cites [1] for both),
    and cites nothing when no sentence after it in the paragraph has a marker. A marker-only
    fragment ("[2]") is attached to the sentence before it.
    """
    pieces: list[tuple[int, str]] = []  # (paragraph number, sentence)
    for p, para in enumerate(re.split(r"\n\s*\n|\n", answer or "")):
        for span in split_sentences(para):
            if not strip_markers(span.text) and pieces and pieces[-1][0] == p:
                pieces[-1] = (p, pieces[-1][1] + " " + span.text)
            elif strip_markers(span.text):
                pieces.append((p, span.text))
    out: list[tuple[str, list[int]]] = []
    for i, (p, s) in enumerate(pieces):
        cited = markers(s)
        if not cited:
            for q, later in pieces[i + 1 :]:
                if q != p:
                    break
                if markers(later):
                    cited = markers(later)
                    break
        out.append((s, cited))
    return out


def sentence_grounded(sentence: str, passages: Iterable[str]) -> bool:
    """Every number and name of the sentence occurs in the text of the passages it cites."""
    context = " \n ".join(passages)
    return all(claim_supported(c, context) for c in claims(sentence))


def groundedness(answer: str, passages: dict[int, str]) -> tuple[float | None, list[str]]:
    """Share of checkable answer sentences whose numbers and names appear in their cited passages.

    ``passages`` maps citation number to passage text. A sentence is checkable when it holds
    at least one number or name (see :func:`claims`); others say nothing that can be checked
    and are left out. A checkable sentence citing nothing, or citing a number with no passage,
    is ungrounded. Returns (share or None when no sentence is checkable, ungrounded sentences).
    """
    checked = 0
    bad: list[str] = []
    for sentence, cited in answer_sentences(answer):
        if not claims(sentence):
            continue
        checked += 1
        texts = [passages[n] for n in cited if n in passages]
        if not texts or not sentence_grounded(sentence, texts):
            bad.append(sentence)
    if not checked:
        return None, []
    return (checked - len(bad)) / checked, bad


# --- refusals and language ----------------------------------------------------------------

# an answer talking about "the passage" instead of the zone (an investor never saw a passage)
PASSAGE_TALK = re.compile(
    r"\b(?:the|this|that|above|provided|given) (?:passages?|texts?)\b"
    r"|\baccording to the (?:passages?|texts?|documents?)\b|段落|文中|지문|본문|단락",
    re.I,
)


def talks_about_passage(answer: str) -> bool:
    return PASSAGE_TALK.search(answer or "") is not None


# per language in rag/answer/languages.py (``Language.refusal_eval``), apart from the pipeline's own patterns
REFUSAL_PATTERNS = [pattern for lang in LANGUAGES.values() for pattern in lang.refusal_eval]
_REFUSAL = re.compile("|".join(REFUSAL_PATTERNS), re.IGNORECASE)


def is_refusal(answer: str, abstained: bool = False) -> bool:
    """The assistant declined: the pipeline abstained, or the answer is empty, or its first
    sentence says the documents do not answer (English, Chinese or Korean phrasing; see
    REFUSAL_PATTERNS). Only the first sentence counts, so an answer that gives the facts and
    then adds "the documents do not say more" is not a refusal."""
    if abstained:
        return True
    text = strip_markers(answer or "")
    if not text:
        return True
    sentences = split_sentences(text)
    first = sentences[0].text if sentences else text
    return _REFUSAL.search(first) is not None


# --- the shape of the answer ---------------------------------------------------------------

YES_NO_OPENING = re.compile(
    r"^\W*(?:yes|no)\b|^\W*(?:是的|是|不是|不|没有)[，,。！!：:\s]|^\W*(?:네|예|아니요|아니오|아뇨)[,，.!\s]", re.I
)


def opens_with_yes_no(answer: str) -> bool:
    """The answer's first words are a bare Yes or No (English, Chinese or Korean)."""
    return YES_NO_OPENING.match(strip_markers(answer or "")) is not None


def question_kind(q: dict) -> tuple[bool, list[str]]:
    """(is a yes/no question, figure kinds asked for) from the question's labels (``yesno``,
    ``figures`` in questions.jsonl); unlabelled questions are read by ``rag.answer.intent.analyse``."""
    if "yesno" in q and "figures" in q:
        return bool(q["yesno"]), list(q["figures"] or [])
    from rag.answer.intent import analyse

    intent = analyse(q.get("question", ""))
    return intent.yesno, list(intent.figures)


def answer_type_match(answer: str, figures: Sequence[str]) -> bool:
    """A figure question's answer states a figure of a kind asked for (a percentage for a rate,
    a phone number for a phone number, ...; kinds and patterns in ``rag.answer.intent``)."""
    from rag.answer.intent import figures_in

    stated = figures_in(strip_markers(answer or ""))
    return any(stated.get(kind) for kind in figures)


def refusal_correct(refused: bool, answerable: bool) -> bool:
    """Refusing is right exactly when the question is not answerable from the corpus."""
    return refused != answerable


def language_match(answer: str, lang: str) -> bool:
    """The answer is written in the question's language (script-based detection)."""
    return detect_language(strip_markers(answer or "")) == lang


# --- retrieval ----------------------------------------------------------------------------

RETRIEVAL_KS = (1, 3, 5)


def ranked_docs(doc_ids: Iterable[str]) -> list[str]:
    """Chunk-level doc ids in rank order reduced to documents (first occurrence wins)."""
    return list(dict.fromkeys(d for d in doc_ids if d))


def retrieval_metrics(
    rankings: dict[str, list[str]], gold: dict[str, str], ks: Sequence[int] = RETRIEVAL_KS
) -> dict[str, dict[str, float]]:
    """Per-query hit@k, recall@k, MRR and nDCG@10 with ranx.

    ``rankings`` maps query id to retrieved document ids in rank order (already deduplicated);
    ``gold`` maps query id to its one relevant document. Only queries in ``gold`` are scored;
    a query that retrieved nothing scores 0. Returns {query id: {metric: value}}.
    """
    qids = [q for q in gold if gold[q]]
    if not qids:
        return {}
    from ranx import Qrels, Run, evaluate

    names = [f"hit_rate@{k}" for k in ks] + [f"recall@{k}" for k in ks] + ["mrr", "ndcg@10"]
    qrels = Qrels({q: {gold[q]: 1} for q in qids})
    run_dict = {}
    for q in qids:
        docs = ranked_docs(rankings.get(q, []))
        run_dict[q] = {d: float(len(docs) - i) for i, d in enumerate(docs)}
    run = Run(run_dict)
    scores = evaluate(qrels, run, names, return_mean=False, make_comparable=True)
    if not isinstance(scores, dict):  # ranx returns a bare array for a single metric
        scores = {names[0]: scores}
    # ranx sorts query ids internally; map its arrays back by that order
    order = list(qrels.keys())
    renamed = {n: n.replace("hit_rate", "hit") for n in names}
    return {q: {renamed[n]: float(scores[n][i]) for n in names} for i, q in enumerate(order)}


# --- aggregation --------------------------------------------------------------------------


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the non-None values; None when there are none."""
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def rate(flags: Iterable[bool | None]) -> float | None:
    """Share of True among the non-None flags; None when there are none."""
    return mean(None if f is None else float(bool(f)) for f in flags)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation (numpy's default); None if empty."""
    vals = sorted(float(v) for v in values if v is not None and not math.isnan(v))
    if not vals:
        return None
    pos = (len(vals) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


def score_question(q: dict, record: dict) -> dict:
    """All per-question metrics for one recorded answer.

    ``q`` is the question ({"id","question","lang","answerable","facts","doc"}); ``record``
    holds the answer as recorded by the run: "answer", "abstained", "citations" (each with
    "n", "doc_id", "text") and "retrieved" (each with "doc_id"). Retrieval metrics are added
    separately by :func:`score_run` (they need ranx over all questions at once).
    """
    answer = record.get("answer") or ""
    refused = is_refusal(answer, record.get("abstained", False))
    citations = record.get("citations") or []
    by_n = {c["n"]: c for c in citations if "n" in c}
    used = markers(answer)
    # the citations an answer relies on are those its markers point to; an answer with a
    # citation list but no markers cites the whole list
    cited = [by_n[n] for n in used if n in by_n] if used else list(citations)
    answerable = bool(q.get("answerable"))
    out: dict = {
        "refused": refused,
        "refusal_correct": refusal_correct(refused, answerable),
        "language_match": language_match(answer, q.get("lang", "en")),
        "n_citations": len(cited),
        "fact_recall": None,
        "citation_precision": None,
        "groundedness": None,
        "ungrounded": [],
        "opens_yes_no": None,
        "answer_type_match": None,
        # where an answerable question was refused: at the evidence gate, or after the draft
        "refused_at": (record.get("abstained_at") or "check") if refused else "",
        "passage_talk": None if refused else talks_about_passage(answer),
        "quoted": bool(record.get("quoted")),
        "placements": dict(record.get("placements") or {}),
    }
    yesno, figures = question_kind(q)
    if not refused:
        # not judged for yes/no questions, which may open with Yes or No
        out["opens_yes_no"] = None if yesno else opens_with_yes_no(answer)
        out["answer_type_match"] = answer_type_match(answer, figures) if figures else None
    if answerable:
        out["fact_recall"] = (
            fact_recall(strip_markers(answer), q.get("facts") or [])
            if not refused
            else (0.0 if q.get("facts") else None)
        )
        if not refused:
            out["citation_precision"] = citation_precision([c.get("doc_id") for c in cited], q.get("doc"))
    if not refused:
        # a passage is what the investor sees: its document's title, what the document is about (when
        # the title does not say), publisher and date, then its text
        shown = {
            n: "\n".join(
                x for x in (c.get("title"), c.get("about"), c.get("publisher"), c.get("date"), c.get("text")) if x
            )
            for n, c in by_n.items()
        }
        g, bad = groundedness(answer, shown)
        out["groundedness"], out["ungrounded"] = g, bad
    return out


# The per-question checks shown as pass/fail and compared between runs; None = not applicable.
CHECKS = ("retrieval", "facts", "citations", "grounded", "refusal", "language", "shape")


def checks(q: dict, s: dict) -> dict[str, bool | None]:
    """Pass/fail per check for one scored question (``s`` from score_question + retrieval)."""
    answerable = bool(q.get("answerable"))
    return {
        "retrieval": (s.get("hit@1") == 1.0) if answerable and s.get("hit@1") is not None else None,
        "facts": (s["fact_recall"] == 1.0) if s.get("fact_recall") is not None else None,
        "citations": (s["citation_precision"] == 1.0) if s.get("citation_precision") is not None else None,
        "grounded": (s["groundedness"] == 1.0) if s.get("groundedness") is not None else None,
        "refusal": s["refusal_correct"],
        "language": s["language_match"],
        "shape": None
        if s.get("opens_yes_no") is None and s.get("answer_type_match") is None
        else (not s.get("opens_yes_no") and s.get("answer_type_match") is not False),
    }


def score_run(questions: list[dict], records: list[dict]) -> tuple[list[dict], dict]:
    """Score every question and aggregate.

    Returns (per-question scores in question order, run-level metrics). Each per-question
    entry holds the metrics of :func:`score_question`, the retrieval metrics, "checks" and
    "pass" (every applicable check passed).
    """
    by_id = {r["id"]: r for r in records}
    qs = [q for q in questions if q["id"] in by_id]
    rankings = {q["id"]: [h.get("doc_id") for h in by_id[q["id"]].get("retrieved") or []] for q in qs}
    gold = {q["id"]: q["doc"] for q in qs if q.get("answerable") and q.get("doc")}
    retrieval = retrieval_metrics(rankings, gold)
    scored = []
    for q in qs:
        s = score_question(q, by_id[q["id"]])
        s.update(retrieval.get(q["id"], {}))
        s["checks"] = checks(q, s)
        s["pass"] = all(v for v in s["checks"].values() if v is not None)
        scored.append({"id": q["id"], **s})
    return scored, aggregate(qs, scored, [by_id[q["id"]] for q in qs])


def aggregate(questions: list[dict], scored: list[dict], records: list[dict]) -> dict:
    """Run-level metrics from per-question scores (see eval/README.md for each definition)."""
    ans = [s for q, s in zip(questions, scored, strict=True) if q.get("answerable")]
    unans = [s for q, s in zip(questions, scored, strict=True) if not q.get("answerable")]
    m: dict = {}
    names = [f"hit@{k}" for k in RETRIEVAL_KS] + [f"recall@{k}" for k in RETRIEVAL_KS] + ["mrr", "ndcg@10"]
    for name in names:
        m[name] = mean(s.get(name) for s in ans)
    m["fact_recall"] = mean(s["fact_recall"] for s in ans)
    m["citation_precision"] = mean(s["citation_precision"] for s in scored)
    m["uncited_answers"] = rate(s["n_citations"] == 0 for s in ans if not s["refused"])
    m["groundedness"] = mean(s["groundedness"] for s in scored)
    m["refusal_accuracy"] = rate(s["refused"] for s in unans)
    m["false_refusals"] = rate(s["refused"] for s in ans)
    m["false_refusals_gate"] = rate(s["refused_at"] == "gate" for s in ans)
    m["false_refusals_check"] = rate(s["refused_at"] == "check" for s in ans)
    m["passage_talk"] = rate(s.get("passage_talk") for s in scored)
    m["quoted_answers"] = sum(bool(s.get("quoted")) and not s["refused"] for s in scored)
    m["citation_placement"] = dict(sum((Counter(s.get("placements") or {}) for s in scored), Counter()))
    m["language_match"] = rate(s["language_match"] for s in scored)
    m["yes_no_openings"] = rate(s.get("opens_yes_no") for s in scored)
    m["answer_type_match"] = rate(s.get("answer_type_match") for s in scored)
    m["pass_rate"] = rate(s["pass"] for s in scored)
    sizes = [r.get("prompt_tokens") for r in records if r.get("prompt_tokens")]
    m["prompt_tokens_p50"], m["prompt_tokens_p95"] = percentile(sizes, 50), percentile(sizes, 95)
    for part in ("total", "retrieve", "generate"):
        times = [(r.get("timings_ms") or {}).get(part) for r in records]
        times = [t for t in times if t is not None]
        m[f"latency_{part}_p50_ms"] = percentile(times, 50)
        m[f"latency_{part}_p95_ms"] = percentile(times, 95)
    m["counts"] = {
        "questions": len(questions),
        "answerable": len(ans),
        "unanswerable": len(unans),
        "with_facts": sum(s["fact_recall"] is not None for s in ans),
        "with_citations": sum(s["citation_precision"] is not None for s in scored),
        "checkable_for_groundedness": sum(s["groundedness"] is not None for s in scored),
        "answered_not_yes_no": sum(s.get("opens_yes_no") is not None for s in scored),
        "answered_figure_questions": sum(s.get("answer_type_match") is not None for s in scored),
        "by_lang": {lang: sum(q.get("lang") == lang for q in questions) for lang in LANGUAGES},
    }
    m["by_lang"] = {}
    for lang in LANGUAGES:
        sub = [(q, s) for q, s in zip(questions, scored, strict=True) if q.get("lang") == lang]
        if not sub:
            continue
        times = [
            (r.get("timings_ms") or {}).get("total")
            for q, r in zip(questions, records, strict=True)
            if q.get("lang") == lang and (r.get("timings_ms") or {}).get("total") is not None
        ]
        m["by_lang"][lang] = {
            "hit@1": mean(s.get("hit@1") for q, s in sub if q.get("answerable")),
            "mrr": mean(s.get("mrr") for q, s in sub if q.get("answerable")),
            "fact_recall": mean(s["fact_recall"] for q, s in sub if q.get("answerable")),
            "refusal_accuracy": rate(s["refused"] for q, s in sub if not q.get("answerable")),
            "false_refusals": rate(s["refused"] for q, s in sub if q.get("answerable")),
            "false_refusals_gate": rate(s["refused_at"] == "gate" for q, s in sub if q.get("answerable")),
            "language_match": rate(s["language_match"] for q, s in sub),
            "yes_no_openings": rate(s.get("opens_yes_no") for q, s in sub),
            "latency_total_p50_ms": percentile(times, 50),
            **translation_figures([r for q, r in zip(questions, records, strict=True) if q.get("lang") == lang]),
        }
    return m


def translation_figures(records: list[dict]) -> dict:
    """Every sentence translated for these answers (``Answer.translations``): how many were shown
    translated (checked now, or taken from the translation memory) and why the others were not
    (each reason cut to its kind: "numbers changed (5)" counts as "numbers changed")."""
    sentences = [t for r in records for t in r.get("translations") or []]
    if not sentences:
        return {}
    shown = [t for t in sentences if t.get("translated")]
    return {
        "translated_sentences": len(sentences),
        "translation_pass_rate": rate(t.get("translated") for t in sentences),
        "translation_from_memory": sum(bool(t.get("memory")) for t in shown),
        "translation_failures": dict(
            Counter(re.split(r"[:(]", t.get("reason") or "?")[0].strip() for t in sentences if not t.get("translated"))
        ),
    }


# Direction of each headline metric: +1 higher is better, -1 lower is better.
DIRECTION = {
    **{f"hit@{k}": 1 for k in RETRIEVAL_KS},
    **{f"recall@{k}": 1 for k in RETRIEVAL_KS},
    "mrr": 1,
    "ndcg@10": 1,
    "fact_recall": 1,
    "citation_precision": 1,
    "uncited_answers": -1,
    "groundedness": 1,
    "refusal_accuracy": 1,
    "false_refusals": -1,
    "false_refusals_gate": -1,
    "false_refusals_check": -1,
    "passage_talk": -1,
    "prompt_tokens_p50": -1,
    "prompt_tokens_p95": -1,
    "language_match": 1,
    "yes_no_openings": -1,
    "answer_type_match": 1,
    "pass_rate": 1,
    **{f"latency_{p}_{q}_ms": -1 for p in ("total", "retrieve", "generate") for q in ("p50", "p95")},
}
