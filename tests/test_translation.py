"""The translation check on hand-made cases: faithful Chinese and Korean renderings of verified
English sentences pass; the errors the 1.5B model was seen to make (wrong zone name, wrong drug
term, garbled names, changed figures, dropped citations) and renderings of another meaning fail,
with the multilingual sentence encoder as the meaning test."""

from __future__ import annotations

import pytest

from rag.config import Settings
from rag.embedding import get_embedder
from rag.generation.base import Generator
from rag.translation import Translator, check

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
    assert "term" in check(ZONE, CASES[9][1], "ko")
    assert "numbers" in check(REWARD, CASES[13][1], "zh")
    assert "name" in check(REWARD, CASES[14][1], "zh")
    assert "citation" in check(REWARD, CASES[15][1], "zh")
    assert "not in" in check(CHIPS, CASES[17][1], "zh")


def test_the_meaning_test_separates_another_meaning(meaning):
    good = meaning(BETHUNE, CASES[2][1])
    other = meaning(BETHUNE, "示范区支持化妆品合作 [2]。")
    assert good > 0.4 > other


class Echo(Generator):
    name, model = "echo", "test"

    def __init__(self, reply: str):
        self.reply = reply
        self.prompts = []

    def stream(self, prompt):
        self.prompts.append(prompt.messages[-1]["content"])
        yield self.reply


def test_translator_gives_the_glossary_and_falls_back_to_the_source():
    good = Echo("中韩示范区支持新型抗体药物和新型免疫治疗药物 [1]。")
    t = Translator(good).translate(ZONE, "zh")
    assert t.translated and t.text == good.reply
    assert "免疫治疗" in good.prompts[0] and "中韩" in good.prompts[0]  # the glossary spellings were given
    bad = Translator(Echo("중국-ROK 공격 지구는 새로운 신체 보호 기술 약물을 지원합니다 [1].")).translate(ZONE, "ko")
    assert not bad.translated and bad.text == ZONE and bad.reason
