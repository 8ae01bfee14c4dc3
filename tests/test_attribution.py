"""The pipeline places citations and quotes itself (issue 17): hand-made cases in English,
Chinese and Korean for each rule behind the verifier, with no model.

- a sentence is attributed to the passage that holds its figures and names and supports its
  words best; the model's marker is a hint, not a verdict;
- every passage carries its document's subject, so a fact in the middle of an article is known
  to be about its zone, and one zone's fact never passes under another zone's name;
- answers talk about the zone, not about "the passage";
- names are put as the cited document spells them (the glossary's variants);
- a contact question wants a contact, not a name;
- before an abstention, the documents' own sentence that delivers what was asked is quoted;
- a list answer naming only part of its passage's enumeration gets that sentence in full;
- the evidence gate counts a glossary term found in any spelling.
"""

from __future__ import annotations

import pytest

from rag.answer.grounding import check_sentence
from rag.answer.intent import about_the_passage, analyse, delivers, reshape
from rag.answer.quotes import completions, quote_for
from rag.answer.reading import evidence
from rag.answer.verify import Verifier, shown_passage
from rag.glossary import expand, respell, subject_of
from rag.ingest.chunking import Chunk
from rag.search.retrieval import Hit

ARTICLE_TITLE = "Director-General of the Changchun Foreign Affairs Office Led Team to Visit Norman Bethune Center"
ARTICLE_OPENING = (
    "The team visited the Norman Bethune Center for Medical Sciences located at Jingyue High-tech Industrial "
    "Development Zone. Jingyue High-tech Industrial Development Zone has just obtained approval as a national zone."
)
# a passage from the middle of the article: it never names the zone it is about
ARTICLE_MIDDLE = (
    "Further steps will also be taken to complete the tasks of six-cities linkage overall layout planning, "
    "and optimization of innovation resources."
)
LAYOUT_TITLE = (
    "Policy interpretation: industrial layout of China-ROK (Changchun) International Cooperation Demonstration Zone"
)
LAYOUT_VOCATIONAL = (
    "Promote vocational education institutions to conduct exchanges and cooperation and support foreign-invested "
    "vocational skills training institutions. Support South Korean tourism agencies to set up branches in the "
    "demonstration zone."
)
LAYOUT_ROBOTS = (
    "Focus on pushing the international cooperation in such industries as industrial robot, service robot, "
    "additive printing, intelligent equipment manufacturing, intelligent control system and ice & snow equipment."
)


def chunk(doc: str, title: str, text: str, n: int = 0) -> Chunk:
    subject = "; ".join(subject_of(title, ARTICLE_OPENING if doc == "article" else text, "en"))
    return Chunk(f"{doc}#{n}", doc, title, doc, "", "", None, 0, len(text), text, subject)


def hits(*chunks: Chunk) -> list[Hit]:
    return [Hit(i, 1.0, c, 0.5, 1.0) for i, c in enumerate(chunks, start=1)]


ARTICLE = chunk("article", ARTICLE_TITLE, ARTICLE_MIDDLE, 3)
VOCATIONAL = chunk("layout", LAYOUT_TITLE, LAYOUT_VOCATIONAL, 4)
ROBOTS = chunk("layout", LAYOUT_TITLE, LAYOUT_ROBOTS, 2)


def check(sentence: str, *chunks: Chunk, question: str = ""):
    return check_sentence(sentence, [shown_passage(c) for c in chunks], question, docs=[c.doc_id for c in chunks])


# --- citations placed by the pipeline --------------------------------------------------------


def test_a_sentence_without_a_marker_is_placed_on_the_passage_that_supports_it():
    checked = check("South Korean tourism agencies may set up branches in the demonstration zone.", ROBOTS, VOCATIONAL)
    assert checked.kept and checked.citations == [2] and checked.placement == "placed"
    assert checked.text.endswith("[2].")


def test_a_wrong_marker_is_corrected_and_a_right_one_kept():
    wrong = check(
        "South Korean tourism agencies may set up branches in the demonstration zone [1].", ROBOTS, VOCATIONAL
    )
    assert wrong.kept and wrong.citations == [2] and wrong.placement == "corrected"
    right = check(
        "South Korean tourism agencies may set up branches in the demonstration zone [2].", ROBOTS, VOCATIONAL
    )
    assert right.kept and right.citations == [2] and right.placement == "model"


def test_a_marker_is_a_hint_between_two_passages_that_both_support_the_sentence():
    twin = chunk("layout", LAYOUT_TITLE, LAYOUT_VOCATIONAL, 5)
    for n in (1, 2):
        checked = check(
            f"South Korean tourism agencies may set up branches in the demonstration zone [{n}].", VOCATIONAL, twin
        )
        assert checked.kept and checked.citations == [n] and checked.placement == "model"


def test_a_sentence_no_passage_supports_is_still_dropped():
    checked = check("The zone pays a 30% rent subsidy to tourism agencies [2].", ROBOTS, VOCATIONAL)
    assert not checked.kept and "30%" in checked.reason


# --- passages that say what they are about ----------------------------------------------------


def test_a_document_is_about_the_zone_it_names_most():
    assert subject_of(ARTICLE_TITLE, ARTICLE_OPENING, "en")[0] == "Jingyue High-tech Industrial Development Zone"
    assert subject_of(LAYOUT_TITLE, LAYOUT_ROBOTS, "en")[0].startswith("China-ROK (Changchun)")
    assert subject_of("长春新区通知", "长春新区为新设立的研发中心提供奖励。", "zh") == ("长春新区",)
    assert ARTICLE.about == "Jingyue High-tech Industrial Development Zone"  # the title does not say it
    assert VOCATIONAL.about == ""  # the title says it


def test_a_fact_in_the_middle_of_an_article_is_known_to_be_about_its_zone():
    sentence = "Jingyue is working to complete the six-cities linkage overall layout planning [1]."
    assert check(sentence, ARTICLE).kept
    bare = Chunk("article#3", "article", ARTICLE_TITLE, "article", "", "", None, 0, 1, ARTICLE_MIDDLE)
    assert not check(sentence, bare).kept  # the same passage without its subject: "Jingyue" is nowhere


def test_one_zones_fact_never_passes_under_another_zones_name():
    # a China-ROK support measure put under Jingyue's name, citing the article about Jingyue
    sentence = "Jingyue supports foreign-invested vocational skills training institutions [1]."
    checked = check(sentence, ARTICLE, VOCATIONAL)
    assert not checked.kept
    # the China-ROK passage alone cannot carry Jingyue's name either
    assert not check(sentence, VOCATIONAL).kept
    # under its own zone's name the fact stands
    assert check(
        "The demonstration zone supports foreign-invested vocational skills training institutions.", ARTICLE, VOCATIONAL
    ).kept


# --- answers about the zone, not about the passage --------------------------------------------


@pytest.mark.parametrize(
    "question, sentence, expected",
    [
        (
            "What does the zone plan?",
            "The passage states that the zone plans cooperation in culture [1].",
            "The zone plans cooperation in culture [1].",
        ),
        (
            "What does the zone plan?",
            "According to the passages, the zone plans cooperation [1].",
            "The zone plans cooperation [1].",
        ),
        (
            "What does the zone plan?",
            'The passage states: "Focus on pushing robots" [2].',
            "Focus on pushing robots [2].",
        ),
        ("Does the zone plan it?", "Yes, according to the passage [1], the zone plans it.", "Yes, the zone plans it."),
        ("示范区计划做什么？", "根据段落，示范区计划开展文化合作 [1]。", "示范区计划开展文化合作 [1]。"),
        (
            "시범구는 무엇을 계획하나요?",
            "지문에 따르면, 시범구는 문화 협력을 계획합니다 [1].",
            "시범구는 문화 협력을 계획합니다 [1].",
        ),
    ],
)
def test_what_a_sentence_says_about_the_passage_is_cut(question, sentence, expected):
    assert reshape(sentence, analyse(question)) == expected


@pytest.mark.parametrize(
    "sentence, about",
    [
        ("The zone plans cooperation, as stated in the passage [1].", True),
        ("This text does not name the bureau chief.", True),
        ("文中提到示范区支持文化合作。", True),
        ("본문에서는 시범구가 문화 협력을 지원한다고 합니다.", True),
        ("The zone plans cooperation in culture [1].", False),
        ("示范区支持文化合作 [1]。", False),
    ],
)
def test_a_sentence_still_about_the_passage_is_recognised(sentence, about):
    assert about_the_passage(sentence) is about


def test_the_verifier_drops_a_sentence_about_the_passage_and_one_repeating_a_title():
    verifier = Verifier([shown_passage(ROBOTS)], "Which robots?", analyse("Which robots does the zone want?"))
    assert verifier.check("The text says nothing more about robots, as the passage shows.") is None
    assert verifier.check(f"{LAYOUT_TITLE} [1]") is None
    assert {r["reason"] for r in verifier.removed} == {
        "talks about the passage, not the zone",
        "repeats a document title",
    }


def test_names_are_put_as_the_cited_document_spells_them():
    assert respell("Yes, 3D printing is one of the industries.", LAYOUT_ROBOTS) == (
        "Yes, additive printing is one of the industries."
    )
    respelled = respell("The Chinese-ROK Demonstration Zone welcomes robots.", f"{LAYOUT_TITLE}\n{LAYOUT_ROBOTS}")
    assert respelled == f"The {LAYOUT_TITLE.split(': industrial layout of ')[1]} welcomes robots."
    assert respell("Robots are welcome.", LAYOUT_ROBOTS) == "Robots are welcome."  # nothing to put


# --- contact questions need a contact ---------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "Who should I contact at the China-ROK zone to apply for an investment subsidy?",
        "How can I get in touch with the Norman Bethune Center?",
        "想申请中韩示范区的投资补贴，应该联系谁？",
        "시범구 투자 상담은 어디에 연락하면 되나요?",
    ],
)
def test_a_contact_question_wants_a_contact_not_a_name(question):
    intent = analyse(question)
    assert intent.wants == "contact"
    office = "Please contact the Investment Promotion Bureau of Jingyue High-tech Zone."
    assert not delivers(intent, office, office)  # a name, however official
    for contact in (
        "Call the bureau on 0431-8512 3456.",
        "Write to invest@jingyue.gov.cn.",
        "The bureau is at No. 1888 Renmin Street.",
        "招商局地址为人民大街1888号。",
    ):
        assert delivers(intent, contact, contact), contact


# --- a quote before an abstention -------------------------------------------------------------


def test_a_quote_delivers_what_was_asked_when_no_drafted_sentence_survives():
    bureau = chunk(
        "article",
        ARTICLE_TITLE,
        "They were accompanied by Director of the Investment Promotion Bureau of Jingyue High-tech Industrial "
        "Development Zone Bai Song, and professor of Jilin Agricultural University Dr. Sun Yang.",
        1,
    )
    for question in ("Who heads the investment promotion bureau of Jingyue?", "净月高新区招商局局长是谁？"):
        quotes = quote_for(analyse(question), question, hits(ROBOTS, bureau))
        assert [(q.n, "Bai Song" in q.text) for q in quotes] == [(2, True)], question
        assert quotes[0].marked().startswith("“") and quotes[0].marked().endswith("[2]")


@pytest.mark.parametrize(
    "question",
    [
        "What is the phone number of the investment promotion bureau?",  # no phone number anywhere
        "What kind of visa do Korean engineers need?",  # no passage holds its focus
        "징웨 투자유치국 전화번호가 뭐예요?",
        "Who should I contact about robot subsidies?",  # a contact question: names are no contact
    ],
)
def test_no_quote_when_no_sentence_delivers_it(question):
    assert quote_for(analyse(question), question, hits(ROBOTS, VOCATIONAL, ARTICLE)) == []


def test_a_list_answer_naming_part_of_an_enumeration_gets_it_in_full():
    intent = analyse("Which industries does the China-ROK zone push for international cooperation?")
    assert intent.lists
    verifier = Verifier([shown_passage(ROBOTS)], "Which industries?", intent)
    kept = [verifier.check("The zone pushes cooperation in industrial robots and service robots [1].")]
    quotes = completions(intent, kept, hits(ROBOTS))
    assert len(quotes) == 1 and quotes[0].n == 1 and "additive printing" in quotes[0].text
    # an answer that names them all needs nothing more
    full = [verifier.check(LAYOUT_ROBOTS.replace("Focus on pushing", "The zone pushes") + " [1]")]
    assert completions(intent, full, hits(ROBOTS)) == []
    # a question that is no list question is left as answered
    assert completions(analyse("Does the zone want robots?"), kept, hits(ROBOTS)) == []


# --- the evidence gate ------------------------------------------------------------------------


def test_a_glossary_term_counts_as_covered_in_any_spelling():
    passages = hits(VOCATIONAL)
    _, coverage = evidence("Can a travel agency set up a branch?", passages)
    _, plain = evidence("Can a trip organiser set up an outlet?", passages)
    assert coverage == 1.0 and plain < 0.5
    assert "new energy vehicles" in expand("Do you support electric car makers?", "en")
