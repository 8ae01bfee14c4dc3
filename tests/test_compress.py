"""Query-aware compression of the prompt's passages (issue 19): the sentences that carry the
question's focus, a figure of the kind it asks for, or a name it states stay, with a sentence they
lean on; the rest is left out and marked; every passage keeps its best sentence. No model."""

from __future__ import annotations

from rag.answer.compress import GAP, compress
from rag.answer.intent import analyse

PASSAGE = (
    "The zone was founded in 2010 on the northern shore. "
    "Harbour Valley Zone offers a rent subsidy of 30 percent to start-ups. "
    "They also get free legal advice in their first year. "
    "The port hosts a sailing festival every summer. "
    "Visitors enjoy the seafood market."
)
OTHER = "The lake district is known for its hiking trails. Hotels are open all year."


def test_only_the_sentences_that_matter_stay_and_the_gaps_are_marked():
    intent = analyse("What rent subsidy does Harbour Valley Zone offer to start-ups?")
    kept, other = compress([PASSAGE, OTHER], intent, "rent subsidy for start-ups")
    assert "rent subsidy of 30 percent" in kept
    assert "They also get free legal advice" not in kept  # leans on nothing kept after it
    assert "sailing festival" not in kept and "seafood" not in kept
    assert kept.startswith(GAP.strip()) and kept.endswith(GAP.strip())
    assert other  # every passage keeps at least one sentence
    assert len(kept) + len(other) < len(PASSAGE) + len(OTHER)


def test_a_sentence_leaning_on_the_one_before_keeps_it():
    intent = analyse("Do start-ups get free legal advice?")
    (kept,) = compress([PASSAGE], intent, "free legal advice")
    assert "They also get free legal advice" in kept and "rent subsidy of 30 percent" in kept


def test_a_figure_of_the_kind_asked_for_or_a_stated_name_keeps_its_sentence():
    intent = analyse("When was it founded?")
    (kept,) = compress([PASSAGE], intent, "founding year")
    assert "founded in 2010" in kept
    named = analyse("What does Harbour Valley Zone give?")
    (kept,) = compress([PASSAGE], named, "what is given")
    assert "Harbour Valley Zone offers" in kept


def test_meaning_keeps_a_sentence_with_no_shared_word():
    def encode(texts):  # a stand-in encoder: the question and the festival sentence point the same way
        import numpy as np

        return np.array([[1.0, 0.0] if ("regatta" in t or "festival" in t) else [0.0, 1.0] for t in texts])

    intent = analyse("Is there a regatta?")
    (kept,) = compress([PASSAGE], intent, "Is there a regatta?", encode)
    assert "sailing festival" in kept


def test_the_compact_prompt_names_each_document_once_and_keeps_the_rank_numbers():
    from rag.answer.prompts import answer_prompt
    from rag.config import Settings
    from rag.ingest.chunking import Chunk
    from rag.search.retrieval import Hit

    def chunk(doc: str, n: int, text: str) -> Chunk:
        return Chunk(f"{doc}#{n}", doc, f"Title of {doc}", "", "", "", None, 0, len(text), text)

    texts = ["Alpha one.", "Beta one.", "Alpha two."]
    hits = [
        Hit(i, 1.0, c)
        for i, c in enumerate([chunk("a", 1, texts[0]), chunk("b", 1, texts[1]), chunk("a", 2, texts[2])], 1)
    ]
    full = answer_prompt("Q?", "Q?", hits, "en", Settings()).messages[1]["content"]
    compact = answer_prompt("Q?", "Q?", hits, "en", Settings(prompt_template="answer_compact")).messages[1]["content"]
    assert full.count("(Title of a)") == 2 and compact.count("(Title of a)") == 1
    # passage n is still hits[n-1]: the citations the pipeline places keep their meaning
    assert "(Title of a)\n[1] Alpha one.\n[3] Alpha two." in compact and "(Title of b)\n[2] Beta one." in compact
    assert len(compact) < len(full)


def test_a_line_repeating_the_title_is_left_to_the_heading():
    titled = "Harbour Valley Zone guide\n\n" + PASSAGE
    intent = analyse("What rent subsidy does Harbour Valley Zone offer to start-ups?")
    (kept,) = compress([titled], intent, "rent subsidy", titles=["Harbour Valley Zone guide"])
    assert "Harbour Valley Zone guide" not in kept and "rent subsidy of 30 percent" in kept


def test_a_sentence_shared_by_overlapping_passages_is_given_once():
    intent = analyse("What rent subsidy does Harbour Valley Zone offer to start-ups?")
    overlap = "Harbour Valley Zone offers a rent subsidy of 30 percent to start-ups. The subsidy is paid monthly."
    first, second = compress([PASSAGE, overlap], intent, "rent subsidy")
    assert "rent subsidy of 30 percent" in first and "rent subsidy of 30 percent" not in second
    assert "paid monthly" in second
