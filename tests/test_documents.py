"""Reading every supported format, skipping bad files with a reason, and chunking."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time

import pytest

from rag.config import Settings
from rag.ingest.chunking import chunk_document
from rag.ingest.documents import Document, ReadLimits, UnreadableDocument, file_sha256, load_corpus, load_document
from rag.ingest.sources import read_metadata
from rag.text import detect_language, keyword_tokens, split_sentences

from .fixtures import write_all_formats, write_bad_files, write_text_docs
from .hostile_files import write_docx_bomb, write_long_pdf, write_slow_html


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
    assert (h.title, h.publisher, h.date, h.url) == (
        "Harbour Valley guide",
        "HV office",
        "2024-01-02",
        "http://example.org/hv",
    )
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
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.start < a.end
        assert text[b.start : a.end].strip() in sentences
    assert chunks[0].page == 1 and chunks[-1].page == 2
    assert [c.chunk_id for c in chunks] == [f"d#{i}" for i in range(len(chunks))]


def test_overlap_must_be_smaller_than_size():
    with pytest.raises(ValueError):
        chunk_document(_doc("A b c."), lambda s: 1, size=4, overlap=4)


# --- SOURCES.tsv read robustly --------------------------------------------------------------

HEADER = "file\ttitle\tpublisher\tdate\turl\n"


def test_sources_with_byte_order_mark_is_read(tmp_path):
    write_text_docs(tmp_path)
    (tmp_path / "SOURCES.tsv").write_text(
        HEADER + "harbour.txt\tHarbour guide\tHV office\t2024-01-02\t\n", encoding="utf-8-sig"
    )  # as Excel and Notepad save it
    assert read_metadata(tmp_path)["harbour.txt"]["title"] == "Harbour guide"


def test_stray_quote_does_not_swallow_following_rows(tmp_path):
    rows = [
        'harbour.txt\t"Best" harbour guide\tHV\t2024-01-02\t',
        'notes.md\t12" pipes and Alpine notes\tAP\t\t',
        "page.html\tDesert page\tDS\t\t",
    ]
    (tmp_path / "SOURCES.tsv").write_text(
        "File\tTitle\tPublisher\tDate\tURL\r\n" + "\r\n".join(rows) + "\r\n", encoding="utf-8"
    )
    meta = read_metadata(tmp_path)
    assert set(meta) == {"harbour.txt", "notes.md", "page.html"}
    assert meta["harbour.txt"]["title"] == '"Best" harbour guide'
    assert meta["notes.md"]["title"] == '12" pipes and Alpine notes'
    assert meta["page.html"]["publisher"] == "DS"


def test_non_utf8_sources_is_read_with_a_warning_naming_file_and_line(tmp_path, caplog):
    write_text_docs(tmp_path)
    data = (
        HEADER.encode()
        + b"harbour.txt\tHarbour guide\tHV\t\t\n"
        + "changchun-zh.txt\t长春新区光电产业\t长春市政府\t\t\n".encode("gb18030")  # saved by a Chinese Excel
        + b"notes.md\tAlpine \xff\xfe notes\tAP\t\t\n"  # not valid in any encoding
    )
    (tmp_path / "SOURCES.tsv").write_bytes(data)
    with caplog.at_level(logging.WARNING, logger="rag.ingest.sources"):
        docs, _skipped = load_corpus(tmp_path)
    by_id = {d.doc_id: d for d in docs}
    assert by_id["harbour"].title == "Harbour guide"
    assert by_id["changchun-zh"].title == "长春新区光电产业" and by_id["changchun-zh"].publisher == "长春市政府"
    assert by_id["notes"].title.startswith("Alpine") and by_id["notes"].title.endswith("notes")
    warning = " ".join(r.getMessage() for r in caplog.records)
    assert "SOURCES.tsv" in warning and "line 3 (read as GB18030)" in warning and "line 4" in warning


# --- what is never read: links, special files -----------------------------------------------


def test_symlinks_and_fifos_in_the_corpus_are_skipped_never_followed(tmp_path):
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    write_text_docs(corpus)
    outside.mkdir()
    (outside / "secret.txt").write_text("The staff password is hunter2.", encoding="utf-8")
    (corpus / "secret.txt").symlink_to(outside / "secret.txt")
    (corpus / "harbour-copy.txt").symlink_to(corpus / "harbour.txt")
    os.mkfifo(corpus / "pipe.txt")  # opened for reading, a FIFO would block the indexer
    docs, skipped = load_corpus(corpus)
    assert all("hunter2" not in d.text for d in docs)
    assert {d.doc_id for d in docs} == {"harbour", "notes", "page", "changchun-zh"}
    reasons = {s.file: s.reason for s in skipped}
    assert reasons == {
        "secret.txt": "symbolic link (links are not followed)",
        "harbour-copy.txt": "symbolic link (links are not followed)",
        "pipe.txt": "not a regular file",
    }
    # asked directly (a link swapped in after the folder was listed), the file is still refused
    for name in ("secret.txt", "pipe.txt"):
        with pytest.raises(UnreadableDocument):
            load_document(corpus / name)
    with pytest.raises(UnreadableDocument, match="symbolic link"):
        file_sha256(corpus / "secret.txt")


def test_file_sha256_matches_hashlib(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"park " * 500_000)
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


# --- upload bombs and slow files: skipped with the reason, the rest is read -----------------


def test_docx_bomb_is_skipped_by_its_unpacked_size(tmp_path):
    write_text_docs(tmp_path)
    write_docx_bomb(tmp_path / "bomb.docx")  # 2 GiB unpacked
    assert (tmp_path / "bomb.docx").stat().st_size < 20 * 1024 * 1024  # under the upload limit
    t0 = time.perf_counter()
    docs, skipped = load_corpus(tmp_path)
    assert time.perf_counter() - t0 < 20
    assert {d.doc_id for d in docs} == {"harbour", "notes", "page", "changchun-zh"}
    [(name, reason)] = [(s.file, s.reason) for s in skipped]
    assert name == "bomb.docx"
    assert re.fullmatch(r"DOCX unpacks to 2,04\d MB, over the limit of 200 MB \(docx_max_unzipped_mb\)", reason)


def test_parser_memory_is_capped(tmp_path):
    """With the unpack limit raised, the same bomb hits the parser's address-space cap: the
    parsing process gets a MemoryError, not the app, and the file is skipped with the reason."""
    write_docx_bomb(tmp_path / "bomb.docx")
    limits = ReadLimits(docx_max_unzipped_mb=10_000, parse_max_memory_mb=512)
    with pytest.raises(UnreadableDocument, match=r"^needs more than 512 MB to read \(parse_max_memory_mb\)$"):
        load_document(tmp_path / "bomb.docx", limits=limits)
    (tmp_path / "after.txt").write_text("After Park still gets read.", encoding="utf-8")
    assert load_document(tmp_path / "after.txt").text == "After Park still gets read."


def test_pdf_with_thousands_of_pages_is_skipped_by_page_count(tmp_path):
    write_text_docs(tmp_path)
    write_long_pdf(tmp_path / "long.pdf", 2500)
    write_long_pdf(tmp_path / "short.pdf", 3)
    docs, skipped = load_corpus(tmp_path)
    assert "short" in {d.doc_id for d in docs}
    assert [(s.file, s.reason) for s in skipped] == [
        ("long.pdf", "PDF has 2500 pages, over the limit of 2000 (pdf_max_pages)")
    ]
    limits = ReadLimits(pdf_max_pages=2)
    with pytest.raises(UnreadableDocument, match="3 pages, over the limit of 2"):
        load_document(tmp_path / "short.pdf", limits=limits)


def test_slow_file_is_stopped_at_the_parse_time_limit_and_the_rest_is_read(tmp_path):
    write_text_docs(tmp_path)
    write_slow_html(tmp_path / "slow.html")
    limits = ReadLimits(parse_timeout_s=1.0)
    t0 = time.perf_counter()
    docs, skipped = load_corpus(tmp_path, limits=limits)
    elapsed = time.perf_counter() - t0
    assert [(s.file, s.reason) for s in skipped] == [("slow.html", "reading took longer than 1 s (parse_timeout_s)")]
    assert {d.doc_id for d in docs} == {"harbour", "notes", "page", "changchun-zh"}  # read after the kill
    assert elapsed < 8, elapsed


def test_limits_come_from_settings():
    s = Settings(pdf_max_pages=5, docx_max_unzipped_mb=7, parse_timeout_s=3, parse_max_memory_mb=512)
    assert ReadLimits.from_settings(s) == ReadLimits(5, 7, 3.0, 512)
