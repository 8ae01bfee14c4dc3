"""The answer-shape metrics of eval/metrics.py (Yes/No openings, answer-type match) on hand-made
records, and the question set's shape labels against rag.answer.intent's reading of each question."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval import metrics as M
from eval.run import load_questions
from rag.answer.intent import analyse

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "answer, opens",
    [
        ("Yes, the zone supports AI [1].", True),
        ("No. The documents say nothing more.", True),
        ("是的，示范区支持 [1]。", True),
        ("네, 지원합니다 [1].", True),
        ("The zone supports AI [1].", False),
        ("Yesterday's notice says [1].", False),
        ("Nobody else joined [1].", False),
    ],
)
def test_yes_no_openings(answer, opens):
    assert M.opens_with_yes_no(answer) is opens


def test_shape_metrics_per_question():
    what = {
        "id": "a",
        "question": "Which fields?",
        "lang": "en",
        "answerable": True,
        "facts": [["AI"]],
        "doc": "d",
        "yesno": False,
        "figures": [],
    }
    yesno = dict(what, id="b", question="Does it support AI?", yesno=True)
    rate = dict(what, id="c", question="What is the tax rate?", facts=[["15%"]], figures=["percent"])
    rec = {
        "answer": "Yes, AI is supported [1].",
        "abstained": False,
        "citations": [{"n": 1, "doc_id": "d", "text": "AI is supported.", "title": "t"}],
        "retrieved": [],
    }
    assert M.score_question(what, rec)["opens_yes_no"] is True
    assert M.score_question(yesno, rec)["opens_yes_no"] is None  # a yes/no question may open with Yes
    assert M.score_question(rate, rec)["answer_type_match"] is False
    rec15 = dict(rec, answer="The rate is 15% [1].")
    s = M.score_question(rate, rec15)
    assert s["answer_type_match"] is True and s["opens_yes_no"] is False
    assert M.checks(rate, s)["shape"] is True
    refused = dict(rec, answer="The documents I have do not answer this question.", abstained=True)
    s = M.score_question(rate, refused)
    assert s["answer_type_match"] is None and s["opens_yes_no"] is None and M.checks(rate, s)["shape"] is None


def test_run_level_shape_metrics():
    qs = [
        {
            "id": f"q{i}",
            "question": "Which fields?",
            "lang": "en",
            "answerable": True,
            "facts": [["AI"]],
            "doc": "d",
            "yesno": False,
            "figures": [],
        }
        for i in range(4)
    ]
    recs = [
        {
            "id": q["id"],
            "answer": a,
            "abstained": False,
            "citations": [{"n": 1, "doc_id": "d", "text": "AI", "title": "t"}],
            "retrieved": [{"doc_id": "d"}],
        }
        for q, a in zip(qs, ["Yes, AI [1].", "AI [1].", "AI and IoT [1].", "No, AI [1]."], strict=True)
    ]
    _, m = M.score_run(qs, recs)
    assert m["yes_no_openings"] == 0.5
    assert m["answer_type_match"] is None  # no figure questions


def test_question_labels_agree_with_the_pipelines_reading():
    """The shape labels of eval/questions.jsonl (reviewed by hand) are what rag.answer.intent reads:
    the metric and the pipeline agree on which questions are yes/no and which want figures."""
    disagree = []
    for q in load_questions(ROOT / "eval" / "questions.jsonl"):
        intent = analyse(q["question"])
        if (q["yesno"], q["wants"], q["figures"]) != (intent.yesno, intent.wants, list(intent.figures)):
            disagree.append(q["id"])
    assert not disagree
