"""What a question asks for, and whether an answer sentence gives it: hand-made cases in
English, Chinese and Korean (rag.answer.intent), and the pipeline's guarantee that an answer missing
what was asked is never shown, whatever the generator writes."""

from __future__ import annotations

import pytest

from rag.answer.intent import addresses, analyse, delivers, figures_in, opens_with_yes_no, reshape
from rag.answer.pipeline import Assistant
from rag.answer.verify import Verifier
from rag.config import get_settings
from rag.generation.base import Generator

from .fixtures import write_text_docs

BUREAU = (
    "They were accompanied by Director of the Investment Promotion Bureau of Jingyue High-tech Industrial "
    "Development Zone Bai Song, and professor of Jilin Agricultural University Dr. Sun Yang. "
    "On the morning of May 18th, the team visited the center."
)


@pytest.mark.parametrize(
    "question, yesno, wants, figures",
    [
        ("What is the corporate income tax rate in the zone?", False, "figure", ("percent",)),
        ("How much does office space rent for per square metre?", False, "figure", ("money",)),
        ("What is the phone number of the investment promotion bureau?", False, "figure", ("phone",)),
        ("When was the policy published?", False, "figure", ("date",)),
        ("How big is the demonstration zone in square kilometres?", False, "figure", ("area",)),
        ("How many working days does a business licence take?", False, "figure", ("duration",)),
        ("How many companies are registered in the zone?", False, "figure", ("count",)),
        ("How much subsidy can we get?", False, "figure", ("amount",)),
        ("Is the tax rate lower than 25%?", True, "figure", ("percent",)),
        ("Who heads the investment promotion bureau?", False, "who", ()),
        ("Which pharmaceutical R&D company joined the visit?", False, "who", ()),
        ("Where is the Norman Bethune Center located?", False, "where", ()),
        ("Which other zones does Jingyue benchmark itself against?", False, "where", ()),
        ("What kinds of companies does the zone want?", False, "", ()),
        ("What rent subsidy does Harbour Valley Zone offer?", False, "", ()),
        ("We make IGBT modules. Does the zone want power semiconductor companies?", True, "", ()),
        ("Which information technology fields does the zone support?", False, "", ()),
        # Chinese
        ("中韩示范区的企业所得税优惠税率是多少？", False, "figure", ("percent",)),
        ("净月高新区的工业用地每亩多少钱？", False, "figure", ("money",)),
        ("长春市外办是哪天去白求恩医学科学中心考察的？", False, "figure", ("date",)),
        ("净月高新区招商局局长是谁？", False, "who", ()),
        ("白求恩医学科学中心在哪个开发区？", False, "where", ()),
        ("韩国旅行社能在中韩示范区设立分支机构吗？", True, "", ()),
        ("中韩示范区鼓励发展哪些半导体产业？", False, "", ()),
        # Korean
        ("징웨 투자유치국 전화번호가 뭐예요?", False, "figure", ("phone",)),
        ("시범구에 투자하면 보조금을 얼마나 받을 수 있나요?", False, "figure", ("amount",)),
        ("징웨 하이테크 산업개발구 투자유치국 국장은 누구인가요?", False, "who", ()),
        ("한국 레저 스포츠 기관이 시범구에 지역 본부를 세울 수 있나요?", True, "", ()),
        ("중한 국제협력시범구는 어떤 산업 분야에서 협력하나요?", False, "", ()),
    ],
)
def test_question_shape_and_what_it_wants(question, yesno, wants, figures):
    intent = analyse(question)
    assert (intent.yesno, intent.wants, intent.figures) == (yesno, wants, figures)


@pytest.mark.parametrize(
    "sentence, kind",
    [
        ("The rate is 15% [1].", "percent"),
        ("A subsidy of 30 percent applies.", "percent"),
        ("Rent is 45 yuan per square metre.", "money"),
        ("Land costs RMB 200,000 per mu.", "money"),
        ("奖励五十万元。", "money"),
        ("보조금은 500만 원입니다.", "money"),
        ("Call 0431-8123 4567 for details.", "phone"),
        ("Write to invest@jingyue.gov.cn.", "email"),
        ("It was published on 2020-07-02.", "date"),
        ("The team visited on May 18th.", "date"),
        ("考察时间是5月18日。", "date"),
        ("The zone covers 210 square kilometres.", "area"),
        ("A licence takes 5 working days.", "duration"),
        ("审批需要3个工作日。", "duration"),
        ("区内有120家企业。", "count"),
        ("There are 120 companies.", "count"),
    ],
)
def test_figures_stated_in_a_sentence(sentence, kind):
    assert kind in figures_in(sentence)


def test_years_names_and_dates_are_no_counts_or_phone_numbers():
    found = figures_in("Since 2020 the 5G+VR/4K projects of May 18th grew.")
    assert "count" not in found and "phone" not in found
    assert "date" in found


def test_a_phone_question_is_not_answered_by_a_true_sentence_without_a_phone_number():
    intent = analyse("What is the phone number of the Jingyue investment promotion bureau?")
    assert not delivers(intent, "The director of the Investment Promotion Bureau is Bai Song [1].", BUREAU)
    assert not delivers(intent, "The visit took place on May 18th [1].", BUREAU)
    assert delivers(intent, "The bureau's number is 0431-8123 4567 [1].", BUREAU + " Tel: 0431-8123 4567.")
    # a figure of the right kind that is not in the cited passages does not count
    assert not delivers(intent, "The bureau's number is 0431-8123 4567 [1].", BUREAU)


def test_who_needs_a_person_or_organisation_the_question_does_not_name():
    intent = analyse("Who heads the investment promotion bureau of the Jingyue high-tech zone?")
    assert delivers(intent, "Bai Song heads the Investment Promotion Bureau [1].", BUREAU)
    assert not delivers(intent, "The bureau promotes investment in the zone [1].", BUREAU)
    # a name the passages do not hold is no answer
    assert not delivers(intent, "Zhang Wei heads the bureau [1].", BUREAU)
    zh = analyse("净月高新区招商局局长是谁？")
    assert delivers(zh, "招商局局长是白松 [1]。", BUREAU)
    ko = analyse("징웨 투자유치국 국장은 누구인가요?")
    assert delivers(ko, "투자유치국 국장은 Bai Song입니다 [1].", BUREAU)


def test_where_needs_a_place():
    intent = analyse("Where is the Norman Bethune Center for Medical Sciences located?")
    passage = (
        "The Norman Bethune Center for Medical Sciences is located at Jingyue High-tech Industrial Development Zone."
    )
    assert delivers(intent, "It is located at Jingyue High-tech Industrial Development Zone [1].", passage)
    assert not delivers(intent, "The center focuses on biomedicine [1].", passage)


@pytest.mark.parametrize(
    "question, sentence, relevant",
    [
        (
            "What kind of visa do Korean engineers need to work in Changchun?",
            "The zone strengthens cooperation with South Korean enterprises [1].",
            False,
        ),
        (
            "What sort of healthcare services does the zone want to develop for patients?",
            "The zone is to establish high-end medical institutions focusing on health examination [1].",
            True,
        ),
        (
            "Is there room for a Korean cosmetics brand in the China-ROK zone?",
            "International cooperation is to be conducted in the field of beauty and cosmetics [1].",
            True,
        ),
        (
            "We are a Korean travel agency. Can we open a branch in the China-ROK zone?",
            "South Korean tourism agencies are supported to set up branches [1].",
            True,
        ),
        ("中韩示范区鼓励发展哪些半导体产业？", "示范区推动化合物半导体、功率半导体的合作 [1]。", True),
        ("中韩示范区鼓励发展哪些半导体产业？", "示范区鼓励发展旅游业 [1]。", False),
        ("시범구는 어떤 신약 분야를 지원하나요?", "시범구는 신약 연구를 위한 녹색 통로를 지원합니다 [1].", True),
    ],
)
def test_a_sentence_must_address_the_question(question, sentence, relevant):
    assert addresses(analyse(question), sentence) is relevant


def test_relevance_also_reads_the_supporting_passage_sentence():
    intent = analyse("What does the Norman Bethune Center for Medical Sciences work on?")
    evidence = "The Norman Bethune Center for Medical Sciences mainly focuses on fields such as biomedicine."
    assert not addresses(intent, "It mainly focuses on biomedicine [1].")
    assert addresses(intent, "It mainly focuses on biomedicine [1].", evidence)


def test_a_chinese_question_is_addressed_in_english_through_its_rewrite():
    intent = analyse(
        "中韩示范区鼓励发展哪些半导体产业？", "Which semiconductor industries does the China-ROK zone encourage?"
    )
    assert addresses(intent, "The zone promotes compound semiconductor and power semiconductor cooperation [1].")


@pytest.mark.parametrize(
    "question, sentence, expected",
    [
        (
            "Which fields does the zone support?",
            "Yes, the zone supports AI and IoT [1].",
            "The zone supports AI and IoT [1].",
        ),
        ("Who led the team?", "Yes. Director Xue Chunzhi led the team [1].", "Director Xue Chunzhi led the team [1]."),
        (
            "Does the zone support robot makers?",
            "Yes, it supports industrial robots [1].",
            "Yes, it supports industrial robots [1].",
        ),
        ("中韩示范区鼓励发展哪些半导体产业？", "是的，示范区推动化合物半导体 [1]。", "示范区推动化合物半导体 [1]。"),
        ("중한 시범구는 어떤 분야에서 협력하나요?", "네, 인공지능 분야입니다 [1].", "인공지능 분야입니다 [1]."),
        ("What does the zone offer?", "Yes [1].", "[1]."),
    ],
)
def test_yes_or_no_only_opens_answers_to_yes_no_questions(question, sentence, expected):
    assert reshape(sentence, analyse(question)) == expected
    assert opens_with_yes_no(sentence)
    assert not opens_with_yes_no("Yesterday the zone opened [1].")


# --- the pipeline guarantee ------------------------------------------------------------------


class Quoting(Generator):
    """Stands in for a model that answers with true sentences that miss what was asked."""

    name, model = "quoting", "test"

    def __init__(self, text: str):
        self.text = text

    def stream(self, prompt):
        for word in self.text.split(" "):  # streamed a word at a time, as a model does
            yield word + " "


@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("intent")
    write_text_docs(tmp / "corpus")
    settings = get_settings(
        corpus_dir=tmp / "corpus",
        index_dir=tmp / "embeddings",
        backend="extractive",
        min_similarity=0.0,
        min_coverage=0.0,
    )
    return Assistant(settings)


def _with(assistant, monkeypatch, text):
    monkeypatch.setattr(assistant, "generator", lambda backend=None, lang="en": (Quoting(text), None))


def test_figure_question_without_the_figure_abstains_whatever_the_model_writes(assistant, monkeypatch):
    _with(
        assistant,
        monkeypatch,
        "Yes, the zone office is located at 12 Pier Road [1]. "
        "Harbour Valley Zone offers a rent subsidy of 30 percent [1].",
    )
    events = list(assistant.ask_stream("What is the phone number of the Harbour Valley Zone office?"))
    answer = events[-1].answer
    assert answer.abstained and answer.related
    assert not [e for e in events if e.kind == "delta" and "Pier" in e.text]  # nothing of it was streamed
    assert any("gives no figure" in r["reason"] for r in answer.removed)


def test_figure_question_with_the_figure_is_answered_in_the_shape_of_the_question(assistant, monkeypatch):
    _with(assistant, monkeypatch, "Yes, Harbour Valley Zone offers a rent subsidy of 30 percent [1].")
    answer = assistant.ask("What percentage of rent does Harbour Valley Zone subsidise?")
    assert not answer.abstained
    assert answer.answer.startswith("Harbour Valley Zone offers a rent subsidy of 30 percent")
    assert answer.intent.wants == "figure"


def test_off_topic_true_quote_is_not_an_answer(assistant, monkeypatch):
    _with(assistant, monkeypatch, "Companies in the zone focus on marine robotics and offshore wind turbines [1].")
    answer = assistant.ask("What kind of visa do foreign engineers need for Harbour Valley Zone?")
    assert answer.abstained
    assert any(r["reason"] == "does not address the question" for r in answer.removed)


def test_verifier_holds_sentences_back_until_one_delivers():
    passages = [BUREAU]
    verifier = Verifier(
        passages, "Who heads the investment promotion bureau?", analyse("Who heads the investment promotion bureau?")
    )
    events = list(
        verifier.stream(
            iter(
                [
                    "The Investment Promotion Bureau accompanied the visit of the team [1]. ",
                    "It is headed by Director Bai Song [1].",
                ]
            )
        )
    )
    texts = [e.text for e in events]
    assert len(texts) == 2 and texts[0].startswith("The Investment Promotion Bureau") and "Bai Song" in texts[1]
