"""Evaluation metrics on small hand-made cases whose values are known."""

from __future__ import annotations

import math

import pytest

from eval import metrics as M
from eval.cmrc import cmrc_em, cmrc_f1, mixed_segmentation

DOC_A, DOC_B = "zone-a", "zone-b"


# --- matching ------------------------------------------------------------------------------


def test_contains_respects_word_boundaries_but_allows_plurals():
    assert M.contains("The zone supports AI and chips.", "AI")
    assert not M.contains("He said nothing.", "AI")
    assert M.contains("compound semiconductors and chips", "chip")
    assert M.contains("Power Semiconductor (IGBT, etc.)", "power semiconductor")
    assert not M.contains("5G networks", "G")
    assert M.contains("示范区鼓励发展功率半导体产业", "功率半导体")
    assert M.contains("the “six-cities linkage” plan", "six-cities linkage")
    assert M.contains("the six\u2013cities linkage", "six-cities linkage")  # en dash
    assert not M.contains("anything", "")


def test_fact_recall_counts_any_accepted_spelling_once():
    facts = [["Internet of Things", "IoT"], ["artificial intelligence", "AI"], ["5G"]]
    assert M.fact_recall("It backs IoT and AI.", facts) == pytest.approx(2 / 3)
    assert M.fact_recall("It backs the Internet of Things, IoT, AI and 5G.", facts) == 1.0
    assert M.fact_recall("Nothing relevant.", facts) == 0.0
    assert M.fact_recall("Anything", []) is None


def test_fact_recall_in_other_languages():
    facts = [["白松", "Bai Song"]]
    assert M.fact_recall("净月高新区招商局局长是白松。", facts) == 1.0
    assert M.fact_recall("투자유치국 국장은 Bai Song입니다.", facts) == 1.0


# --- citations -----------------------------------------------------------------------------


def test_citation_precision():
    assert M.citation_precision([DOC_A, DOC_A, DOC_B], DOC_A) == pytest.approx(2 / 3)
    assert M.citation_precision([DOC_A], DOC_A) == 1.0
    assert M.citation_precision([DOC_B], DOC_A) == 0.0
    assert M.citation_precision([], DOC_A) is None  # no citations: not judged
    assert M.citation_precision([DOC_A], None) is None  # no gold document


def test_markers_and_strip_markers():
    assert M.markers("A [2]. B [1, 2]. C [3，1]") == [2, 1, 3]
    assert M.markers("no markers") == []
    assert M.strip_markers("It grew 5% [1]. Then [2, 3] more.") == "It grew 5%. Then more."


# --- groundedness --------------------------------------------------------------------------


def test_claims_are_numbers_and_names():
    assert M.claims("Support the zone with 5G+VR/4K and IGBT chips [1].") == ["5G", "VR", "4K", "IGBT"]
    assert M.claims("On May 18th, Director Xue Chunzhi paid 30% of 3.5 million in 2020.") == [
        "May", "18th", "Director", "Xue", "Chunzhi", "30%", "3.5", "2020",
    ]  # fmt: skip
    assert M.claims("The zone supports tourism.") == []
    assert M.claims("示范区于2020年支持IGBT。") == ["IGBT", "2020"]


def test_claim_supported_numbers_need_digit_boundaries():
    assert M.claim_supported("18", "On the morning of May 18th")
    assert not M.claim_supported("18", "approved in 2018")
    assert not M.claim_supported("3", "rose 3.5 percent")
    assert M.claim_supported("30%", "a 30 percent share")
    assert M.claim_supported("10000", "10,000 square metres")


def test_groundedness_checks_each_sentence_against_its_own_citations():
    passages = {1: "Rent is 18 yuan per square metre in Northgate.", 2: "Lakeside opened in 2021."}
    answer = "Rent in Northgate is 18 yuan [1]. Lakeside opened in 2021 [1]. It is a good place to invest."
    share, bad = M.groundedness(answer, passages)
    # sentence 2 cites passage 1, which lacks "Lakeside" and "2021"; sentence 3 has nothing to check
    assert share == 0.5
    assert bad == ["Lakeside opened in 2021 [1]."]


def test_groundedness_uncited_sentence_inherits_following_marker_or_fails():
    passages = {1: "Lakeside opened in 2021 with 40 firms."}
    assert M.groundedness("Lakeside opened in 2021. It has 40 firms [1].", passages) == (1.0, [])
    share, bad = M.groundedness("Lakeside opened in 2021.", passages)  # no citation at all
    assert share == 0.0 and bad == ["Lakeside opened in 2021."]
    share, _ = M.groundedness("Lakeside opened in 2021 [7].", passages)  # cites a passage that was not given
    assert share == 0.0


def test_groundedness_without_checkable_sentences_is_none():
    assert M.groundedness("the zone supports tourism [1].", {1: "text"}) == (None, [])
    assert M.groundedness("", {}) == (None, [])


# --- refusals and language -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The documents do not say what the tax rate is.",
        "The documents I have do not answer this question.",
        "I cannot answer that from the documents.",
        "现有文件没有回答这个问题。",
        "文件中未提及税率。",
        "보유한 문서에는 이 질문에 대한 답이 없습니다.",
        "",
    ],
)
def test_refusal_phrasings(text):
    assert M.is_refusal(text)


def test_not_refusals():
    assert not M.is_refusal("The zone supports IGBT makers [1]. The documents do not say more about subsidies.")
    assert not M.is_refusal("Bai Song heads the bureau [1].")
    assert M.is_refusal("Bai Song heads the bureau [1].", abstained=True)


def test_refusal_correct():
    assert M.refusal_correct(refused=True, answerable=False)
    assert M.refusal_correct(refused=False, answerable=True)
    assert not M.refusal_correct(refused=True, answerable=True)
    assert not M.refusal_correct(refused=False, answerable=False)


def test_language_match():
    assert M.language_match("白求恩医学科学中心位于净月高新区 [1]。", "zh")
    assert M.language_match("베순 센터는 징웨 개발구에 있습니다 [1].", "ko")
    assert M.language_match("It is in Jingyue [1].", "en")
    assert not M.language_match("It is in Jingyue [1].", "zh")


# --- retrieval -----------------------------------------------------------------------------


def test_retrieval_metrics_known_values():
    rankings = {
        "q1": [DOC_A, DOC_A, DOC_B],  # chunks of one document count once
        "q2": [DOC_A, DOC_B],  # gold second
        "q3": [],  # nothing retrieved
        "q4": [DOC_B],  # not scored: no gold
    }
    gold = {"q1": DOC_A, "q2": DOC_B, "q3": DOC_A}
    r = M.retrieval_metrics(rankings, gold)
    assert set(r) == {"q1", "q2", "q3"}
    assert r["q1"]["hit@1"] == 1.0 and r["q1"]["mrr"] == 1.0 and r["q1"]["ndcg@10"] == pytest.approx(1.0)
    assert r["q2"]["hit@1"] == 0.0 and r["q2"]["hit@3"] == 1.0 and r["q2"]["recall@3"] == 1.0
    assert r["q2"]["mrr"] == 0.5
    assert r["q2"]["ndcg@10"] == pytest.approx(1 / math.log2(3))
    assert r["q3"] == {k: 0.0 for k in r["q3"]}
    assert M.retrieval_metrics(rankings, {}) == {}


def test_ranked_docs_dedupes_in_rank_order():
    assert M.ranked_docs(["b", "a", "b", None, "c", "a"]) == ["b", "a", "c"]


# --- aggregation ---------------------------------------------------------------------------


def test_percentile_and_mean_edge_cases():
    assert M.percentile([5, 1, 3, 2, 4], 50) == 3
    assert M.percentile([1, 2, 3, 4, 5], 95) == pytest.approx(4.8)
    assert M.percentile([7], 95) == 7
    assert M.percentile([], 50) is None
    assert M.mean([None, None]) is None
    assert M.rate([]) is None
    assert M.rate([True, False, None, True]) == pytest.approx(2 / 3)


def _q(qid, answerable=True, facts=(("IGBT",),), doc=DOC_A, lang="en"):
    return {"id": qid, "question": qid, "lang": lang, "answerable": answerable,
            "facts": [list(f) for f in facts] if answerable else [], "doc": doc if answerable else None}  # fmt: skip


def _rec(qid, answer, abstained=False, cited=(), retrieved=(DOC_A,), total=1000.0):
    citations = [{"n": i, "doc_id": d, "text": t} for i, (d, t) in enumerate(cited, 1)]
    return {"id": qid, "answer": answer, "abstained": abstained, "citations": citations,
            "retrieved": [{"doc_id": d} for d in retrieved], "timings_ms": {"total": total}}  # fmt: skip


def test_score_run_mixed_case():
    qs = [_q("a1"), _q("a2"), _q("u1", answerable=False), _q("u2", answerable=False)]
    recs = [
        _rec("a1", "The zone wants IGBT makers [1].", cited=[(DOC_A, "IGBT makers are welcome.")], total=100),
        _rec("a2", "The documents do not say.", retrieved=(DOC_B, DOC_A), total=200),
        _rec("u1", "The documents I have do not answer this question.", abstained=True, total=300),
        _rec("u2", "The tax rate is 15% [1].", cited=[(DOC_B, "No rates here.")], retrieved=(DOC_B,), total=400),
    ]
    scored, m = M.score_run(qs, recs)
    by = {s["id"]: s for s in scored}
    assert by["a1"]["fact_recall"] == 1.0 and by["a1"]["citation_precision"] == 1.0 and by["a1"]["pass"]
    assert by["a2"]["refused"] and by["a2"]["fact_recall"] == 0.0 and by["a2"]["checks"]["refusal"] is False
    assert by["u1"]["checks"]["refusal"] is True and by["u1"]["checks"]["facts"] is None
    assert by["u2"]["groundedness"] == 0.0 and by["u2"]["citation_precision"] is None  # no gold doc
    assert m["fact_recall"] == 0.5
    assert m["citation_precision"] == 1.0
    assert m["uncited_answers"] == 0.0
    assert m["groundedness"] == 0.5
    assert m["refusal_accuracy"] == 0.5 and m["false_refusals"] == 0.5
    assert m["hit@1"] == 0.5 and m["mrr"] == 0.75
    assert m["latency_total_p50_ms"] == 250 and m["latency_total_p95_ms"] == pytest.approx(385)
    assert m["counts"]["answerable"] == 2 and m["counts"]["unanswerable"] == 2


def test_all_refused():
    qs = [_q("a1"), _q("u1", answerable=False)]
    recs = [_rec("a1", "", abstained=True), _rec("u1", "", abstained=True)]
    _, m = M.score_run(qs, recs)
    assert m["refusal_accuracy"] == 1.0
    assert m["false_refusals"] == 1.0
    assert m["fact_recall"] == 0.0
    assert m["citation_precision"] is None  # nothing was cited
    assert m["groundedness"] is None
    assert m["uncited_answers"] is None  # no answer was given


def test_no_citations_and_no_unanswerable_questions():
    qs = [_q("a1", facts=(("IGBT",), ("chip", "chips")))]
    recs = [_rec("a1", "IGBT makers are welcome, as are chip makers.")]
    scored, m = M.score_run(qs, recs)
    assert m["fact_recall"] == 1.0
    assert m["citation_precision"] is None
    assert m["uncited_answers"] == 1.0
    assert m["refusal_accuracy"] is None  # no unanswerable question in the set
    assert scored[0]["groundedness"] == 0.0  # "IGBT" is a name, and the sentence cites nothing


def test_answer_with_citation_list_but_no_markers_cites_the_list():
    q = _q("a1")
    rec = _rec("a1", "IGBT makers are welcome.", cited=[(DOC_A, "IGBT makers are welcome."), (DOC_B, "other")])
    s = M.score_question(q, rec)
    assert s["citation_precision"] == 0.5


# --- CMRC official scoring -----------------------------------------------------------------


def test_cmrc_segmentation_and_scores():
    assert mixed_segmentation("《战国无双3》 ABC def", rm_punc=True) == ["战", "国", "无", "双", "3", "abc", "def"]
    assert mixed_segmentation("ω-force", rm_punc=False) == ["ω", "-", "force"]
    refs = ["光荣和ω-force", "光荣"]
    assert cmrc_em(refs, "光荣和ω-force") == 1.0
    assert cmrc_em(refs, "「光荣」") == 1.0  # 「」 are in the official punctuation list
    assert cmrc_em(refs, "光荣公司") == 0.0
    assert cmrc_em(["村雨城"], "村雨城。") == 1.0  # punctuation is dropped before comparing
    assert cmrc_f1(["村雨城"], "村雨城") == 1.0
    # prediction 任天堂游戏谜之村雨城 (10 segments) vs reference 村雨城 (3): LCS 3 -> P 0.3, R 1.0
    assert cmrc_f1(["村雨城"], "任天堂游戏谜之村雨城") == pytest.approx(2 * 0.3 * 1.0 / 1.3)
    # best over the references
    assert cmrc_f1(["无关", "村雨城"], "任天堂游戏谜之村雨城") == pytest.approx(2 * 0.3 / 1.3)
    assert cmrc_f1(["村雨城"], "") == 0.0
    assert cmrc_f1([], "x") == 0.0


def test_translation_figures_count_passes_memory_and_failure_kinds():
    def t(translated, reason="", memory=""):
        return {"source": "s", "text": "t", "translated": translated, "reason": reason, "memory": memory}

    records = [
        {"translations": [t(True), t(True, memory="model"), t(False, "numbers changed (5, 6)")]},
        {"translations": [t(False, "name changed: Jingyue"), t(False, "numbers changed (7)")]},
        {"translations": []},
    ]
    figures = M.translation_figures(records)
    assert figures["translated_sentences"] == 5
    assert figures["translation_pass_rate"] == pytest.approx(0.4)
    assert figures["translation_from_memory"] == 1
    assert figures["translation_failures"] == {"numbers changed": 2, "name changed": 1}
    assert M.translation_figures([{"translations": []}]) == {}  # an English-only language: nothing to report
