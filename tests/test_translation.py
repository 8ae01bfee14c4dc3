"""The translation check on hand-made cases: faithful Chinese and Korean renderings of verified
English sentences pass; the errors the 1.5B model was seen to make (wrong zone name, wrong drug
term, garbled names, changed figures, dropped citations) and renderings of another meaning fail,
with the multilingual sentence encoder as the meaning test."""

from __future__ import annotations

import threading

import pytest

from rag.answer.translation import Translator, check
from rag.config import Settings
from rag.embedders import get_embedder
from rag.generation.base import Generator

ZONE = "The China-ROK demonstration zone supports new antibody drugs and new immunotherapy drugs [1]."
BETHUNE = "The Norman Bethune Center for Medical Sciences is located in Jingyue [2]."
CHIPS = "The zone promotes compound semiconductor, power semiconductor and chip cooperation [1]."
VISIT = "Director Xue Chunzhi led the team on May 18th [1]."
REWARD = "Chen Yunwu said the zone plans 4 industrial parks [1]."

# (English sentence, translation, target, faithful?)
CASES = [
    (ZONE, "中韩示范区支持新型抗体药物和新型免疫治疗药物 [1]。", "zh", True),
    (ZONE, "중한 시범구는 새로운 항체 의약품과 새로운 면역치료 약물을 지원합니다 [1].", "ko", True),
    (BETHUNE, "白求恩医学科学中心位于净月 [2]。", "zh", True),
    (BETHUNE, "노먼 베순 의학과학센터는 징웨에 있습니다 [2].", "ko", True),
    (CHIPS, "示范区推动化合物半导体、功率半导体和芯片领域的合作 [1]。", "zh", True),
    (CHIPS, "시범구는 화합물 반도체, 전력 반도체 및 칩 분야의 협력을 추진합니다 [1].", "ko", True),
    (VISIT, "Xue Chunzhi主任于5月18日带队 [1]。", "zh", True),
    (VISIT, "Xue Chunzhi 주임이 5월 18일에 팀을 이끌었습니다 [1].", "ko", True),
    (REWARD, "Chen Yunwu表示，示范区计划建设4个产业园区 [1]。", "zh", True),
    # from a Chinese document into English: Chinese numerals are numbers too
    (
        "园区为新设立的研发中心提供一次性奖励五十万元 [1]。",
        "The park gives newly set-up R&D centres a one-off award of 500,000 yuan [1].",
        "en",
        True,
    ),
    (
        "园区为新设立的研发中心提供一次性奖励五十万元 [1]。",
        "The park gives newly set-up R&D centres a one-off award of 50,000 yuan [1].",
        "en",
        False,
    ),
    # the model's own mistakes, seen on this corpus (issue: "attack zone", a wrong drug term, garbled names)
    (ZONE, "중국-ROK 공격 지구는 새로운 항체 의약품과 신체 보호 기술 약물을 지원합니다 [1].", "ko", False),
    (ZONE, "중한 시범구는 새로운 항체 의약품과 신체 보호 기술 약물을 지원합니다 [1].", "ko", False),
    (BETHUNE, "노르웨인 베트네인 센터는 징웨에 있습니다 [2].", "ko", False),
    (BETHUNE, "北非布恩图医学中心位于净月 [2]。", "zh", False),
    # figures, markers, names and script
    (REWARD, "Chen Yunwu表示，示范区计划建设5个产业园区 [1]。", "zh", False),
    (REWARD, "陈云武表示，示范区计划建设4个产业园区 [1]。", "zh", False),
    (REWARD, "Chen Yunwu表示，示范区计划建设4个产业园区。", "zh", False),
    (VISIT, "Xue Chunzhi 주임이 6월 18일에 팀을 이끌었습니다 [1].", "ko", False),
    (CHIPS, "The zone promotes compound semiconductor cooperation [1].", "zh", False),
    # text left in the source's script
    (
        "园区为新设立的研发中心提供一次性奖励五十万元 [1]。",
        "The park gives newly set-up 研发中心 a one-off award of 500,000 yuan [1].",
        "en",
        False,
    ),
    (ZONE, "중한 시범구는 新型抗体药物과 새로운 면역치료 약물을 지원합니다 [1].", "ko", False),
    # English words left in a Korean sentence (eval run v6, ko-22), and acronyms and names that stay
    (
        "The Demonstration Zone is pursuing public health projects [1].",
        "The 시범구는 공공 건강 프로젝트를 Pursue하고 있습니다 [1].",
        "ko",
        False,
    ),
    (
        "The zone promotes power semiconductor (IGBT) cooperation with Jingyue [1].",
        "시범구는 징웨와 전력 반도체(IGBT) 협력을 추진합니다 [1].",
        "ko",
        True,
    ),
    # another meaning altogether
    (BETHUNE, "示范区支持化妆品合作，白求恩医学科学中心和净月 [2]。", "zh", False),
    (CHIPS, "시범구는 관광 산업을 지원합니다 [1].", "ko", False),
]
# wrong translations the check lets through (kept here so the figure in eval/README.md is honest):
# every term, name, figure and marker is kept, and the meaning is close enough for the encoder
KNOWN_SLIPS = [
    (CHIPS, "示范区不推动化合物半导体、功率半导体和芯片领域的合作 [1]。", "zh"),  # a negation added
]


@pytest.fixture(scope="module")
def meaning():
    use = get_embedder(Settings(embedder="use-multilingual"))

    def similarity(a: str, b: str) -> float:
        va, vb = use.encode([a, b], kind="query")
        return float(va @ vb)

    return similarity


@pytest.mark.parametrize("source, translated, target, faithful", CASES)
def test_translation_check_on_hand_made_cases(source, translated, target, faithful, meaning):
    reason = check(source, translated, target, meaning, min_meaning=0.4)
    assert (reason == "") is faithful, reason


def test_known_slips_still_pass(meaning):
    """A negation the translator adds is not caught: the grounding check runs on the verified
    source sentence only. Counted as a miss in the figures."""
    for source, translated, target in KNOWN_SLIPS:
        assert check(source, translated, target, meaning, min_meaning=0.4) == ""


def test_check_says_why():
    by_text = {translated: (source, target) for source, translated, target, _ in CASES}

    def why(translated: str) -> str:
        return check(by_text[translated][0], translated, by_text[translated][1])

    assert "term" in why("중국-ROK 공격 지구는 새로운 항체 의약품과 신체 보호 기술 약물을 지원합니다 [1].")
    assert "numbers" in why("Chen Yunwu表示，示范区计划建设5个产业园区 [1]。")
    assert "name" in why("陈云武表示，示范区计划建设4个产业园区 [1]。")
    assert "citation" in why("Chen Yunwu表示，示范区计划建设4个产业园区。")
    assert "not in" in why("The zone promotes compound semiconductor cooperation [1].")
    assert "untranslated: The" in why("The 시범구는 공공 건강 프로젝트를 Pursue하고 있습니다 [1].")


def test_the_meaning_test_separates_another_meaning(meaning):
    good = meaning(BETHUNE, "白求恩医学科学中心位于净月 [2]。")
    other = meaning(BETHUNE, "示范区支持化妆品合作 [2]。")
    assert good > 0.4 > other


class Echo(Generator):
    """Stands in for the model as a translator: ``reply`` is what it writes, given the sentence
    it was asked to translate (with its placeholders)."""

    name, model = "echo", "test"

    def __init__(self, reply):
        self.reply = reply if callable(reply) else (lambda sentence: reply)
        self.prompts = []

    def stream(self, prompt):
        content = prompt.messages[-1]["content"]
        self.prompts.append(content)
        yield self.reply(content.split("Sentence: ", 1)[1].rsplit("\n", 1)[0])


def test_protected_translation_puts_back_terms_names_numbers_and_markers():
    seen = []

    def translate(sentence):
        seen.append(sentence)
        return "[T1][T2]支持新型[T3]和新型[T4]药物。"

    t = Translator(Echo(translate)).translate(ZONE, "zh")
    assert seen == ["The [T1] [T2] supports new [T3] and new [T4] drugs."]  # the model never saw them
    assert t.translated and t.text == "中韩示范区支持新型抗体药物和新型免疫治疗药物[1]。"
    visit = Translator(Echo(lambda s: "[T1]主任于[T2]带队 。")).translate(VISIT, "zh")
    assert visit.translated and visit.text == "Xue Chunzhi主任于5月18日带队[1]。", visit


def test_a_lost_placeholder_is_asked_for_once_more_then_falls_back():
    # the model drops two terms: they are written out again for the second try, with the glossary's words
    answers = iter(["[T1][T2]支持新型药物。", "[T1][T2]支持新型抗体药物和新型免疫治疗药物。"])
    model = Echo(lambda s: next(answers))
    t = Translator(model).translate(ZONE, "zh")
    assert t.translated and t.text == "中韩示范区支持新型抗体药物和新型免疫治疗药物[1]。"
    retry = model.prompts[1]
    assert (
        "placeholders [T1], [T2]" in retry
        and "antibody drugs" in retry
        and "Translate antibody drugs as 抗体药物" in retry
    )
    lost = Translator(Echo("중국-ROK 공격 지구는 새로운 신체 보호 기술 약물을 지원합니다.")).translate(ZONE, "ko")
    # lost every time: written out for the second try, where the check finds the wrong term ("attack zone")
    assert not lost.translated and lost.text == ZONE and "term not rendered" in lost.reason
    twice = Translator(Echo("[T1][T1][T2]支持[T3]和[T4]。")).translate(ZONE, "zh")
    assert not twice.translated and twice.reason.startswith("placeholder")  # twice, then made up on the retry


def test_translator_drops_a_preamble_and_refuses_a_preamble_alone():
    source = "园区为新设立的研发中心提供一次性奖励五十万元[1]。"
    english = "The translation is: The park gives a newly set-up [T1] a one-off award of [T2] yuan."
    t = Translator(Echo(english)).translate(source, "en")
    assert t.translated and t.text == "The park gives a newly set-up R&D centre a one-off award of 500000 yuan [1]."
    # seen with the 1.5B model: the announcement of a translation, and none
    announced = Echo('The translation of the sentence "光电信息产业[1]" into English is:')
    t = Translator(announced).translate("光电信息产业[1]", "en")
    assert not t.translated and t.text == "光电信息产业[1]"


# --- the pipeline: draft in the documents' language, verify, translate ------------------------


class Bilingual(Generator):
    """Stands in for the model: rewrites, answers in English (two sentences, streamed), translates
    (well or badly). Like llama.cpp it runs one generation at a time: a second one started while
    the first is streaming fails the test instead of hanging."""

    name, model = "bilingual", "test"

    def __init__(self, translation: str):
        self.translation = translation
        self.busy = threading.Lock()

    def stream(self, prompt):
        assert self.busy.acquire(blocking=False), "a generation started while another was streaming"
        try:
            content = prompt.messages[-1]["content"]
            if "Standalone English query" in content:
                yield "What rent subsidy does Harbour Valley Zone offer?"
            elif content.startswith("Translate"):
                # given the protected sentence "[T1] Zone offers a rent subsidy of [T2] percent."
                yield self.translation
            else:
                assert "Answer (in English" in content  # drafted in the documents' language
                yield "Harbour Valley Zone offers a rent subsidy of 30 percent [1]. "
                yield "Harbour Valley Zone offers a rent subsidy of 30 percent for the first two years [1]."
        finally:
            self.busy.release()


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    from rag.answer.pipeline import Assistant
    from rag.config import get_settings

    from .fixtures import write_text_docs

    tmp = tmp_path_factory.mktemp("translation")
    write_text_docs(tmp / "corpus")
    return Assistant(get_settings(corpus_dir=tmp / "corpus", index_dir=tmp / "embeddings", backend="extractive"))


@pytest.fixture
def assistant(indexed, tmp_path):
    """The module's index, and a translation memory of the test's own."""
    from rag.answer.pipeline import Assistant

    settings = indexed.settings.model_copy(update={"feedback_db": tmp_path / "store.sqlite3"})
    return Assistant(settings, retriever=indexed.retriever)


def test_chinese_question_gets_a_checked_translation_of_the_verified_english(assistant, monkeypatch):
    fake = Bilingual("[T1]园区提供[T2]%的租金补贴。")
    monkeypatch.setattr(assistant, "generator", lambda backend=None, lang="en": (fake, None))
    events = list(assistant.ask_stream("Harbour Valley Zone 提供多少租金补贴？"))
    answer = events[-1].answer
    assert not answer.abstained and answer.language == "zh" and answer.source_language == "en"
    assert answer.answer.startswith("Harbour Valley园区提供30%的租金补贴[1]。")
    assert answer.source_answer.startswith("Harbour Valley Zone offers a rent subsidy of 30 percent [1].")
    assert answer.translations[0].translated
    assert answer.citations[0].doc_id == "harbour"
    assert "".join(e.text for e in events if e.kind == "delta") == answer.answer


def test_a_translation_that_fails_the_check_shows_the_verified_sentence_with_a_note(assistant, monkeypatch):
    fake = Bilingual("[T1]园区提供50%的租金补贴。")  # a figure of its own instead of the protected one
    monkeypatch.setattr(assistant, "generator", lambda backend=None, lang="en": (fake, None))
    answer = assistant.ask("Harbour Valley Zone 提供多少租金补贴？")
    # asked once more with the number written out, it still writes its own: the check refuses it
    assert not answer.translations[0].translated and "numbers changed" in answer.translations[0].reason
    assert "50%" not in answer.answer
    assert answer.answer.startswith("Harbour Valley Zone offers a rent subsidy of 30 percent [1].")
    assert "译文未通过核对" in answer.answer
