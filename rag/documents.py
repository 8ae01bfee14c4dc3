"""Documents: reading the corpus folder into plain text with metadata.

Owns file-format parsing (.txt, .md, .html/.htm, .pdf with page numbers, .docx) and the
per-file metadata from ``SOURCES.tsv`` (title, publisher, date, url). A file that cannot be
read (empty, corrupt, not text, unknown type) is reported as skipped with a reason; the rest
of the corpus is still loaded.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

SUPPORTED = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
METADATA_FILE = "SOURCES.tsv"


class UnreadableDocument(ValueError):
    """The file cannot be turned into text; the message is the reason shown to staff."""


@dataclass
class Document:
    doc_id: str  # file name without extension
    file: str  # file name inside the corpus folder
    text: str
    title: str
    publisher: str = ""
    date: str = ""
    url: str = ""
    sha256: str = ""
    # (start offset, page number) pairs, ascending; empty for formats without pages
    page_starts: list[tuple[int, int]] = field(default_factory=list)

    def page_at(self, offset: int) -> int | None:
        if not self.page_starts:
            return None
        i = bisect.bisect_right([s for s, _ in self.page_starts], offset) - 1
        return self.page_starts[max(i, 0)][1]


@dataclass
class Skipped:
    file: str
    reason: str


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_metadata(corpus_dir: Path) -> dict[str, dict[str, str]]:
    """SOURCES.tsv rows keyed by file name (columns: file, title, publisher, date, url)."""
    path = corpus_dir / METADATA_FILE
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as f:
        return {row["file"]: row for row in csv.DictReader(f, delimiter="\t") if row.get("file")}


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Every candidate document file (hidden files and SOURCES.tsv excluded), sorted."""
    if not corpus_dir.is_dir():
        return []
    return sorted(
        p for p in corpus_dir.iterdir() if p.is_file() and not p.name.startswith(".") and p.name != METADATA_FILE
    )


# --- one reader per format --------------------------------------------------------------


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise UnreadableDocument("binary content, not text")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise UnreadableDocument("not valid UTF-8 or GB18030 text")


def _read_text(path: Path) -> tuple[str, list[tuple[int, int]]]:
    return _decode(path.read_bytes()), []


def _read_html(path: Path) -> tuple[str, list[tuple[int, int]]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(path.read_bytes()), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line), []


def _read_pdf(path: Path) -> tuple[str, list[tuple[int, int]]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise UnreadableDocument("encrypted PDF")
        parts: list[str] = []
        starts: list[tuple[int, int]] = []
        offset = 0
        for number, page in enumerate(reader.pages, start=1):
            text = (page.extract_text() or "").strip()
            starts.append((offset, number))
            parts.append(text)
            offset += len(text) + 2  # the "\n\n" joining pages
        return "\n\n".join(parts), starts
    except UnreadableDocument:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as e:
        raise UnreadableDocument(f"corrupt PDF ({e.__class__.__name__}: {e})") from e


def _read_docx(path: Path) -> tuple[str, list[tuple[int, int]]]:
    import zipfile

    import docx

    try:
        d = docx.Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise UnreadableDocument(f"corrupt DOCX ({e.__class__.__name__}: {e})") from e
    paragraphs = [p.text.strip() for p in d.paragraphs]
    for table in d.tables:
        for row in table.rows:
            paragraphs.append(" | ".join(cell.text.strip() for cell in row.cells))
    return "\n".join(p for p in paragraphs if p), []


READERS = {
    ".txt": _read_text,
    ".md": _read_text,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
}


def load_document(path: Path, meta: dict[str, str] | None = None, sha256: str | None = None) -> Document:
    """Read one file. Raises UnreadableDocument with the reason if it cannot be used."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise UnreadableDocument(f"unsupported file type {path.suffix or '(none)'!r}")
    if path.stat().st_size == 0:
        raise UnreadableDocument("empty file")
    try:
        text, pages = reader(path)
    except UnreadableDocument:
        raise
    except Exception as e:  # any parser failure is a reason to skip this file, never to stop indexing
        raise UnreadableDocument(f"could not parse ({e.__class__.__name__}: {e})") from e
    if not text.strip():
        raise UnreadableDocument("no extractable text")
    meta = meta or {}
    return Document(
        doc_id=path.stem,
        file=path.name,
        text=text,
        title=meta.get("title") or _first_line(text) or path.stem,
        publisher=meta.get("publisher", ""),
        date=meta.get("date", ""),
        url=meta.get("url", ""),
        sha256=sha256 or file_sha256(path),
        page_starts=pages,
    )


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


def load_corpus(corpus_dir: Path) -> tuple[list[Document], list[Skipped]]:
    """All readable documents in ``corpus_dir``, and the skipped files with reasons."""
    meta = read_metadata(corpus_dir)
    docs: list[Document] = []
    skipped: list[Skipped] = []
    for path in corpus_files(corpus_dir):
        try:
            docs.append(load_document(path, meta.get(path.name)))
        except UnreadableDocument as e:
            log.warning("skipped %s: %s", path.name, e)
            skipped.append(Skipped(path.name, str(e)))
    return docs, skipped
