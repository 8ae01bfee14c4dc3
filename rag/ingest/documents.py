"""Documents: reading the corpus folder into plain text with metadata.

Owns file-format parsing (.txt, .md, .html/.htm, .pdf with page numbers, .docx), safe reading
of the corpus folder, and each ``Document`` with the metadata its ``SOURCES.tsv`` row gives
(``rag.ingest.sources``). A file that cannot be read (empty, corrupt, not text, unknown type,
over a limit) is reported as skipped with a reason; the rest of the corpus is still loaded.

Defences, all reported as skip reasons: only regular files are read, never through a symbolic
link (opened with ``O_NOFOLLOW``) and never a FIFO or device; each file is parsed in a child
process (no models loaded, address space capped at ``parse_max_memory_mb``) that is killed
after ``parse_timeout_s``; a PDF may have at most ``pdf_max_pages`` pages and a .docx may
unpack to at most ``docx_max_unzipped_mb`` (the zip members' declared sizes, which Python's
``zipfile`` never reads past); pypdf's own stream-size limits apply inside PDFs.
"""

from __future__ import annotations

import bisect
import errno
import hashlib
import io
import logging
import os
import stat
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import BinaryIO

from ..config import Settings
from ..glossary import subject_of
from ..text import detect_language
from .sources import METADATA_FILE, SUBJECT_COLUMN, read_metadata

log = logging.getLogger(__name__)

SUPPORTED = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")


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
    # what the document is about: its zone and the organisations its title names (rag.glossary.subject_of),
    # or the SOURCES.tsv "subject" column ("A; B") when staff set one
    subject: tuple[str, ...] = ()

    def page_at(self, offset: int) -> int | None:
        if not self.page_starts:
            return None
        i = bisect.bisect_right([s for s, _ in self.page_starts], offset) - 1
        return self.page_starts[max(i, 0)][1]


@dataclass
class Skipped:
    file: str
    reason: str


def _default(name: str):
    return Settings.model_fields[name].default


@dataclass(frozen=True)
class ReadLimits:
    """Limits on reading one file (defaults: the settings' defaults)."""

    pdf_max_pages: int = _default("pdf_max_pages")
    docx_max_unzipped_mb: int = _default("docx_max_unzipped_mb")
    parse_timeout_s: float = _default("parse_timeout_s")
    parse_max_memory_mb: int = _default("parse_max_memory_mb")

    @classmethod
    def from_settings(cls, settings: Settings) -> ReadLimits:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})


# --- files ----------------------------------------------------------------------------------


def open_regular(path: Path) -> BinaryIO:
    """Open a regular file for reading; UnreadableDocument for a symbolic link, FIFO, device
    or folder (the link is never followed, a FIFO never blocks)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UnreadableDocument("symbolic link (links are not followed)") from e
        raise UnreadableDocument(f"cannot read file ({e.strerror or e})") from e
    f = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        f.close()
        raise UnreadableDocument("not a regular file")
    return f


def read_bytes(path: Path) -> bytes:
    with open_regular(path) as f:
        return f.read()


def file_sha256(path: Path) -> str:
    with open_regular(path) as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def scan_corpus(corpus_dir: Path) -> tuple[list[Path], list[Skipped]]:
    """The regular files of the folder (hidden files and SOURCES.tsv excluded), sorted, and the
    entries that are not read: symbolic links and special files. Sub-folders are not read."""
    if not corpus_dir.is_dir():
        return [], []
    files: list[Path] = []
    skipped: list[Skipped] = []
    for p in sorted(corpus_dir.iterdir()):
        if p.name.startswith(".") or p.name == METADATA_FILE:
            continue
        try:
            mode = p.lstat().st_mode
        except OSError:
            continue  # vanished meanwhile
        if stat.S_ISLNK(mode):
            skipped.append(Skipped(p.name, "symbolic link (links are not followed)"))
        elif stat.S_ISREG(mode):
            files.append(p)
        elif not stat.S_ISDIR(mode):
            skipped.append(Skipped(p.name, "not a regular file"))
    return files, skipped


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Every candidate document file (regular files only; see ``scan_corpus``), sorted."""
    return scan_corpus(corpus_dir)[0]


# --- one reader per format (each runs in the parsing child process) ------------------------


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise UnreadableDocument("binary content, not text")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise UnreadableDocument("not valid UTF-8 or GB18030 text")


Parsed = tuple[str, list[tuple[int, int]]]


def _read_text(data: bytes, limits: ReadLimits) -> Parsed:
    return _decode(data), []


def _read_html(data: bytes, limits: ReadLimits) -> Parsed:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(data), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line), []


def _read_pdf(data: bytes, limits: ReadLimits) -> Parsed:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnreadableDocument("encrypted PDF")
        if len(reader.pages) > limits.pdf_max_pages:
            raise UnreadableDocument(
                f"PDF has {len(reader.pages)} pages, over the limit of {limits.pdf_max_pages} (pdf_max_pages)"
            )
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
        raise _corrupt("PDF", e) from e


def _read_docx(data: bytes, limits: ReadLimits) -> Parsed:
    import zipfile

    import docx

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            unpacked = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, ValueError) as e:
        raise _corrupt("DOCX", e) from e
    if unpacked > limits.docx_max_unzipped_mb * 1024 * 1024:
        raise UnreadableDocument(
            f"DOCX unpacks to {unpacked / 1024 / 1024:,.0f} MB, over the limit of "
            f"{limits.docx_max_unzipped_mb} MB (docx_max_unzipped_mb)"
        )
    try:
        d = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise _corrupt("DOCX", e) from e
    paragraphs = [p.text.strip() for p in d.paragraphs]
    for table in d.tables:
        for row in table.rows:
            paragraphs.append(" | ".join(cell.text.strip() for cell in row.cells))
    return "\n".join(p for p in paragraphs if p), []


def _corrupt(kind: str, e: Exception) -> UnreadableDocument:
    return UnreadableDocument(f"corrupt {kind} ({e.__class__.__name__}: {e})")


READERS = {
    ".txt": _read_text,
    ".md": _read_text,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
}


# --- parsing in a child process, with time and memory limits --------------------------------


def _parse_result(suffix: str, data: bytes, limits: ReadLimits) -> tuple[str, object]:
    """("ok", (text, pages)) or ("unreadable", reason); never raises for a bad file."""
    try:
        return "ok", READERS[suffix](data, limits)
    except UnreadableDocument as e:
        return "unreadable", str(e)
    except MemoryError:
        return "unreadable", f"needs more than {limits.parse_max_memory_mb} MB to read (parse_max_memory_mb)"
    except Exception as e:  # noqa: BLE001  any parser failure is a reason to skip this file, never to stop indexing
        return "unreadable", f"could not parse ({e.__class__.__name__}: {e})"


def serve_parser(read_fd: int, write_fd: int) -> None:
    """The parsing child's loop: (suffix, bytes, limits) in, ``_parse_result`` out, until EOF."""
    import resource

    requests, replies = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    while True:
        try:
            suffix, data, limits = requests.recv()
        except EOFError:
            return
        soft = limits.parse_max_memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
        replies.send(_parse_result(suffix, data, limits))
        del data


class _ParserProcess:
    """One long-lived child process (``serve_parser``) that parses files for this process.

    A parse that takes longer than its time limit gets the child killed; the next parse
    starts a new one. The child has no models loaded and a capped address space, so a bomb
    hurts only it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._requests: Connection | None = None
        self._replies: Connection | None = None

    def _start(self) -> None:
        child_read, parent_write = os.pipe()
        parent_read, child_write = os.pipe()
        root = str(Path(__file__).resolve().parents[2])  # the folder holding this checkout's rag package
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        code = "import sys; from rag.ingest.documents import serve_parser; serve_parser(*map(int, sys.argv[1:3]))"
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", code, str(child_read), str(child_write)],
                pass_fds=(child_read, child_write),
                stdin=subprocess.DEVNULL,
                env=env,
            )
        finally:
            os.close(child_read)
            os.close(child_write)
        self._requests = Connection(parent_write, readable=False)
        self._replies = Connection(parent_read, writable=False)

    def _stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
        for conn in (self._requests, self._replies):
            if conn is not None:
                conn.close()
        self._proc = self._requests = self._replies = None

    def parse(self, suffix: str, data: bytes, limits: ReadLimits) -> tuple[str, object]:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._stop()
                self._start()
            try:
                self._requests.send((suffix, data, limits))
                if not self._replies.poll(limits.parse_timeout_s):
                    self._stop()
                    return "unreadable", f"reading took longer than {limits.parse_timeout_s:g} s (parse_timeout_s)"
                return self._replies.recv()
            except (EOFError, OSError):
                code = self._proc.poll() if self._proc else None
                self._stop()
                return "unreadable", f"the parser stopped without a result (exit code {code})"


_parser = _ParserProcess()


def parse_bytes(suffix: str, data: bytes, limits: ReadLimits) -> Parsed:
    """Text and page starts of a file's contents, parsed in the child process within
    ``limits``. Raises UnreadableDocument with the reason."""
    status, value = _parser.parse(suffix, data, limits)
    if status != "ok":
        raise UnreadableDocument(value)
    return value


def load_document(
    path: Path, meta: dict[str, str] | None = None, sha256: str | None = None, limits: ReadLimits | None = None
) -> Document:
    """Read one file. Raises UnreadableDocument with the reason if it cannot be used."""
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise UnreadableDocument(f"unsupported file type {path.suffix or '(none)'!r}")
    data = read_bytes(path)
    if not data:
        raise UnreadableDocument("empty file")
    text, pages = parse_bytes(suffix, data, limits or ReadLimits())
    if not text.strip():
        raise UnreadableDocument("no extractable text")
    meta = meta or {}
    title = meta.get("title") or _first_line(text) or path.stem
    given = tuple(x.strip() for x in meta.get(SUBJECT_COLUMN, "").split(";") if x.strip())
    return Document(
        doc_id=path.stem,
        file=path.name,
        text=text,
        title=title,
        publisher=meta.get("publisher", ""),
        date=meta.get("date", ""),
        url=meta.get("url", ""),
        sha256=sha256 or hashlib.sha256(data).hexdigest(),
        page_starts=pages,
        subject=given or subject_of(title, text, detect_language(text)),
    )


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


def load_corpus(corpus_dir: Path, limits: ReadLimits | None = None) -> tuple[list[Document], list[Skipped]]:
    """All readable documents in ``corpus_dir``, and the skipped files with reasons."""
    meta = read_metadata(corpus_dir)
    files, skipped = scan_corpus(corpus_dir)
    docs: list[Document] = []
    for path in files:
        try:
            docs.append(load_document(path, meta.get(path.name), limits=limits))
        except UnreadableDocument as e:
            log.warning("skipped %s: %s", path.name, e)
            skipped.append(Skipped(path.name, str(e)))
    return docs, skipped
