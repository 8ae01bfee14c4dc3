"""Reading every supported format, skipping bad files with a reason, and chunking."""

from __future__ import annotations

from rag.chunking import chunk_document
from rag.documents import Document, load_corpus
from rag.text import detect_language, keyword_tokens, split_sentences

from .fixtures import write_all_formats, write_bad_files


def test_every_format_is_read_and_bad_files_are_skipped_with_reasons(tmp_path):
    write_all_formats(tmp_path)
    write_bad_files(tmp_path)
    (tmp_path / "SOURCES.tsv").write_text(
        "file\ttitle\tpublisher\tdate\turl\nharbour.txt\tHarbour Valley guide\tHV office\t2024-01-02\thttp://example.org/hv\n",
        encoding="utf-8",
    )
    docs, skipped = load_corpus(tmp_path)
    by_id = {d.doc_id: d for d in docs}
    assert set(by_id) == {"harbour", "notes", "page", "changchun-zh", "forest", "river"}

    # metadata from SOURCES.tsv travels with the document
    h = by_id["harbour"]
    assert (h.title, h.publisher, h.date, h.url) == ("Harbour Valley guide", "HV office", "2024-01-02", "http://example.org/hv")
    # html: text without markup or script
    assert "Desert Solar Park builds photovoltaic glass factories." in by_id["page"].text
    assert "leaked" not in by_id["page"].text
    # pdf: page numbers kept
    forest = by_id["forest"]
    assert forest.page_at(forest.text.index("timber")) == 1
    assert forest.page_at(forest.text.index("discount")) == 2
    # docx
    assert "cold-chain logistics" in by_id["river"].text

    reasons = {s.file: s.reason for s in skipped}
    assert set(reasons) == {"empty.txt", "broken.pdf", "binary.txt", "broken.docx", "data.xyz"}
    assert reasons["empty.txt"] == "empty file"
    assert "PDF" in reasons["broken.pdf"] or "parse" in reasons["broken.pdf"]
    assert "binary" in reasons["binary.txt"]
    assert "unsupported file type" in reasons["data.xyz"]


def test_sentences_keep_offsets_in_english_and_chinese():
    text = "Dr. Liu visited the zone. It grants 30.5% rebates!\n标题\n园区发展光电产业。提供奖励。"
    spans = split_sentences(text)
    assert [s.text for s in spans] == [
        "Dr. Liu visited the zone.",
        "It grants 30.5% rebates!",
        "标题",
        "园区发展光电产业。",
        "提供奖励。",
    ]
    assert all(text[s.start : s.end] == s.text for s in spans)


def test_keyword_tokens_split_chinese_and_korean_into_bigrams():
    assert keyword_tokens("光电产业") == ["光电", "电产", "产业"]
    assert keyword_tokens("반도체는") == ["반도", "도체", "체는"]
    assert keyword_tokens("The IGBT chips") == ["igbt", "chips"]
    assert detect_language("반도체 협력 분야는?") == "ko"
    assert detect_language("中韩示范区的半导体") == "zh"
    assert detect_language("Which fields?") == "en"


def _doc(text: str) -> Document:
    return Document(doc_id="d", file="d.txt", text=text, title="T", url="http://x", page_starts=[(0, 1), (60, 2)])


def test_chunks_follow_sentences_respect_size_and_overlap():
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda omicron".split()
    sentences = [f"Sentence number {w} talks about topic {w}." for w in words]
    text = " ".join(sentences)
    count = lambda s: len(s.split())  # noqa: E731  a word count stands in for model tokens
    chunks = chunk_document(_doc(text), count, size=20, overlap=7)
    assert len(chunks) > 3
    for c in chunks:
        assert text[c.start : c.end] == c.text  # offsets point into the document
        assert c.text.startswith("Sentence") and c.text.endswith(".")  # whole sentences only
        assert count(c.text) <= 20
        assert c.source == "http://x" and c.title == "T"
    # neighbours share exactly one 7-word sentence
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end
        assert text[b.start : a.end].strip() in sentences
    assert chunks[0].page == 1 and chunks[-1].page == 2
    assert [c.chunk_id for c in chunks] == [f"d#{i}" for i in range(len(chunks))]


def test_overlap_must_be_smaller_than_size():
    import pytest

    with pytest.raises(ValueError):
        chunk_document(_doc("A b c."), lambda s: 1, size=4, overlap=4)
