"""Staff actions on the corpus: SOURCES.tsv rows never lost, real dates, safe names, the
password check with lockout, and bombs refused at upload. Real files in temporary folders,
real concurrent processes."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time

import pytest

from rag.config import Settings
from rag.ingest.corpus import CorpusError, clean_metadata, remove_document, safe_filename, save_upload
from rag.ingest.sources import read_metadata
from rag.web import login
from rag.web.login import check_password, lockout_remaining

from .conftest import ROOT
from .hostile_files import write_long_pdf

HEADER = "file\ttitle\tpublisher\tdate\turl\n"
GOOD_PASSWORD = "correct horse battery"


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in (
        ("a.txt", "Alpha Park makes bicycles."),
        ("b.txt", "Beta Park makes boats."),
        ("c.txt", "Gamma Park makes chips."),
    ):
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def settings(corpus, tmp_path):
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index", upload_max_mb=5)


@pytest.fixture
def upload(tmp_path):
    def make(name: str, text: str = "Delta Park makes drones and offers rent subsidies."):
        src = tmp_path / "uploads" / name
        src.parent.mkdir(exist_ok=True)
        src.write_text(text, encoding="utf-8")
        return src

    return make


# --- SOURCES.tsv: an upload adds its row and loses none ------------------------------------


def test_upload_keeps_rows_of_a_sources_file_saved_with_a_bom(settings, corpus, upload):
    rows = HEADER + "a.txt\tAlpha guide\tAP\t2024-01-02\t\nb.txt\tBeta guide\tBP\t\t\n"
    (corpus / "SOURCES.tsv").write_text(rows, encoding="utf-8-sig")
    save_upload(settings, upload("d.txt"), meta={"title": "Delta guide"})
    meta = read_metadata(corpus)
    assert set(meta) == {"a.txt", "b.txt", "d.txt"}
    assert meta["a.txt"]["title"] == "Alpha guide" and meta["d.txt"]["title"] == "Delta guide"
    assert (corpus / "SOURCES.tsv").read_bytes().startswith(b"\xef\xbb\xbffile\t")  # the BOM kept, like the rest


def test_upload_keeps_every_other_line_byte_for_byte(settings, corpus, upload):
    lines = [
        HEADER.encode(),
        b'a.txt\t"Alpha" guide\tAP\t\t\n',  # a stray quote
        "b.txt\t长春新区\t长春市政府\t\t\n".encode("gb18030"),  # not UTF-8
        b"c.txt\tGamma\tGP\t\t\textra field\n",  # more fields than the header
    ]
    (corpus / "SOURCES.tsv").write_bytes(b"".join(lines))
    save_upload(settings, upload("d.txt"), meta={"title": "Delta", "url": "https://e.org/d"})
    after = (corpus / "SOURCES.tsv").read_bytes()
    assert after == b"".join(lines) + b"d.txt\tDelta\t\t\thttps://e.org/d\n"

    remove_document(settings, "c.txt")
    assert (corpus / "SOURCES.tsv").read_bytes() == b"".join(lines[:3]) + b"d.txt\tDelta\t\t\thttps://e.org/d\n"
    assert sorted(p.name for p in corpus.iterdir()) == ["SOURCES.tsv", "a.txt", "b.txt", "d.txt"]  # no temp files


def test_replacing_a_document_merges_its_row(settings, corpus, upload):
    (corpus / "SOURCES.tsv").write_text(HEADER + "a.txt\tAlpha\tAP\t2024-01-02\thttps://e.org/a\n", encoding="utf-8")
    save_upload(settings, upload("a.txt", "Alpha Park now makes e-bikes."), replace=True, meta={"title": "Alpha 2"})
    assert read_metadata(corpus)["a.txt"] == {
        "file": "a.txt",
        "title": "Alpha 2",
        "publisher": "AP",
        "date": "2024-01-02",
        "url": "https://e.org/a",
    }


def test_old_header_without_url_column_gets_it(settings, corpus, upload):
    (corpus / "SOURCES.tsv").write_text("file\ttitle\na.txt\tAlpha\n", encoding="utf-8")
    save_upload(settings, upload("d.txt"), meta={"title": "Delta", "url": "https://e.org/d"})
    assert (corpus / "SOURCES.tsv").read_text(encoding="utf-8") == (
        "file\ttitle\turl\na.txt\tAlpha\nd.txt\tDelta\thttps://e.org/d\n"
    )
    assert read_metadata(corpus)["a.txt"]["title"] == "Alpha"


def test_two_processes_changing_sources_at_once_lose_no_row(settings, corpus):
    """Two processes each upload 5 documents and set the metadata of 80 names, all at once;
    SOURCES.tsv must end with every row (a read-modify-write without the lock loses some)."""
    (corpus / "SOURCES.tsv").write_text(HEADER + "a.txt\tAlpha\t\t\t\n", encoding="utf-8")
    script = (
        "import sys, pathlib\n"
        "from rag.config import Settings\n"
        "from rag.ingest.corpus import save_upload, set_metadata\n"
        "corpus, tag = pathlib.Path(sys.argv[1]), sys.argv[2]\n"
        "settings = Settings(corpus_dir=corpus, index_dir=corpus.parent / 'index')\n"
        "src = corpus.parent / f'src-{tag}'\n"
        "src.mkdir()\n"
        "for i in range(5):\n"
        "    f = src / f'{tag}{i}.txt'\n"
        "    f.write_text(f'Park {tag}{i} makes things.', encoding='utf-8')\n"
        "    save_upload(settings, f, meta={'title': f'Title {tag}{i}'})\n"
        "for i in range(5, 85):\n"
        "    set_metadata(settings, f'{tag}{i}.txt', {'title': f'Title {tag}{i}'})\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(corpus), tag], cwd=ROOT) for tag in ("p", "q")]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    meta = read_metadata(corpus)
    assert len(meta) == 1 + 2 * 85
    assert all(meta[f"{tag}{i}.txt"]["title"] == f"Title {tag}{i}" for tag in "pq" for i in range(85))


# --- upload rules ---------------------------------------------------------------------------


def test_impossible_dates_are_refused():
    for good in ("2024-05-31", "2024-02-29", "2024-05", "2024"):
        assert clean_metadata(date=good) == {"date": good}
    for bad in ("2024-13-45", "2023-02-29", "2024-00", "2024-04-31", "24-05-01", "2024/05/01"):
        with pytest.raises(CorpusError, match="real date"):
            clean_metadata(date=bad)


@pytest.mark.parametrize(
    "name, code",
    [
        ("report\u202etxt.exe.md", "U+202E"),  # right-to-left override: shows as "reportdm.exe.txt"
        ("in\u200bvoice.pdf", "U+200B"),  # zero-width space
        ("zone\u2066notes\u2069.txt", "U+2066, U+2069"),
        ("\ufeffnotes.md", "U+FEFF"),
        ("a\u200db.docx", "U+200D"),
    ],
)
def test_names_with_invisible_or_bidi_characters_are_refused(name, code):
    with pytest.raises(CorpusError, match=re.escape(f"invisible or direction-changing characters ({code})")):
        safe_filename(name)


def test_pdf_bomb_is_refused_at_upload_and_never_reaches_the_corpus(settings, corpus, tmp_path):
    src = tmp_path / "brochure.pdf"
    write_long_pdf(src, 2100)
    with pytest.raises(CorpusError, match=r"brochure.pdf: cannot be read \(PDF has 2100 pages, over the limit of 2000"):
        save_upload(settings, src)
    assert sorted(p.name for p in corpus.iterdir()) == ["a.txt", "b.txt", "c.txt"]


def test_removing_a_symlink_removes_the_link_not_its_target(settings, corpus, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me", encoding="utf-8")
    (corpus / "link.txt").symlink_to(outside)
    (corpus / "a-link.txt").symlink_to(corpus / "a.txt")
    remove_document(settings, "link.txt")
    remove_document(settings, "a-link.txt")
    assert outside.read_text(encoding="utf-8") == "keep me" and (corpus / "a.txt").is_file()
    assert not (corpus / "link.txt").is_symlink() and not (corpus / "a-link.txt").is_symlink()


# --- staff password -------------------------------------------------------------------------


def test_password_is_compared_and_empty_or_weak_configured_passwords_admit_nobody():
    assert check_password(GOOD_PASSWORD, GOOD_PASSWORD, "t-basic")
    assert not check_password(GOOD_PASSWORD + " ", GOOD_PASSWORD, "t-basic")
    assert not check_password("", GOOD_PASSWORD, "t-basic") and not check_password(None, GOOD_PASSWORD, "t-basic")
    for weak in (None, "", " ", "        ", "s3cret"):
        assert not check_password(weak, weak, "t-basic")


def test_failures_are_logged_without_the_password_and_never_sleep(caplog):
    with caplog.at_level(logging.WARNING, logger="rag.web.login"):
        t0 = time.perf_counter()
        for _ in range(3):
            assert not check_password("guess-number-1", GOOD_PASSWORD, "198.51.100.7")
        elapsed = time.perf_counter() - t0
    assert elapsed < 0.1, elapsed  # the old 1 s sleep per failure blocked a server worker
    failures = [r.getMessage() for r in caplog.records if "198.51.100.7" in r.getMessage()]
    assert failures == [f"staff login failed for client 198.51.100.7 ({n} of 10 allowed in 900 s)" for n in (1, 2, 3)]
    assert "guess-number-1" not in caplog.text and GOOD_PASSWORD not in caplog.text


def test_lockout_after_n_failures_per_client_within_the_window(caplog):
    kw = {"max_failures": 3, "lockout_s": 1.0}
    for _ in range(3):
        assert not check_password("wrong password", GOOD_PASSWORD, "203.0.113.5", **kw)
    with caplog.at_level(logging.WARNING, logger="rag.web.login"):
        assert not check_password(GOOD_PASSWORD, GOOD_PASSWORD, "203.0.113.5", **kw)  # locked: even the right one
    assert "refused for client 203.0.113.5: locked out" in caplog.text
    assert 0 < lockout_remaining("203.0.113.5", **kw) <= 1.0
    assert check_password(GOOD_PASSWORD, GOOD_PASSWORD, "203.0.113.6", **kw)  # another client is not locked
    time.sleep(1.1)
    assert lockout_remaining("203.0.113.5", **kw) == 0
    assert check_password(GOOD_PASSWORD, GOOD_PASSWORD, "203.0.113.5", **kw)  # the window has passed


def test_success_clears_failures_and_no_client_means_the_default_client():
    kw = {"max_failures": 2, "lockout_s": 60.0}
    assert not check_password("wrong password", GOOD_PASSWORD, "192.0.2.9", **kw)
    assert check_password(GOOD_PASSWORD, GOOD_PASSWORD, "192.0.2.9", **kw)
    assert not check_password("wrong password", GOOD_PASSWORD, "192.0.2.9", **kw)
    assert check_password(GOOD_PASSWORD, GOOD_PASSWORD, "192.0.2.9", **kw)  # one failure since: not locked

    try:
        for _ in range(2):
            assert not check_password("wrong password", GOOD_PASSWORD, **kw)
        assert lockout_remaining(**kw) > 0
        assert not check_password(GOOD_PASSWORD, GOOD_PASSWORD, "default", **kw)
    finally:
        login._failed_logins.clear("default")  # leave no lockout to other tests in this process
