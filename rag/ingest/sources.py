"""Sources: ``SOURCES.tsv``, the corpus folder's table of document metadata (file, title,
publisher, date, url), read line by line.

It is tab-separated with a header line, read without quoting (a ``"`` is just a character); a
byte-order mark is ignored, header names are case-insensitive, and a line that is not UTF-8 is
read as GB18030 (else with replacement characters) with a warning naming the file and line. Staff
edits go through ``rag.ingest.corpus``, which rewrites only the edited row.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

METADATA_FILE = "SOURCES.tsv"
METADATA_COLUMNS = ("file", "title", "publisher", "date", "url")
# an optional column: what a document is about ("zone; organisation"), when the automatic reading is wrong
SUBJECT_COLUMN = "subject"


@dataclass
class MetadataLine:
    number: int  # 1-based line number in the file
    raw: bytes  # the line as stored, line ending included
    fields: list[str]  # the decoded line split at tabs (no quoting)


def _decode_line(raw: bytes) -> tuple[str, str | None]:
    """The line's text and, if it was not UTF-8, how it was read."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030"), "read as GB18030"
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace"), "bad bytes replaced"


def metadata_lines(path: Path) -> list[MetadataLine]:
    """Every line of a SOURCES.tsv file (empty list if there is none), header first."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as e:
        log.warning("%s cannot be read (%s); documents get no metadata", path, e.strerror or e)
        return []
    raws = data.splitlines(keepends=True)
    texts: list[str] = []
    odd: list[str] = []
    for number, raw in enumerate(raws, start=1):
        body = raw.rstrip(b"\r\n")
        if number == 1 and body.startswith(b"\xef\xbb\xbf"):
            body = body[3:]  # UTF-8 byte-order mark (Excel, Notepad)
        text, how = _decode_line(body)
        if how:
            odd.append(f"line {number} ({how})")
        texts.append(text)
    if odd:
        log.warning("%s is not valid UTF-8: %s; save it as UTF-8", path, ", ".join(odd))
    split = csv.reader(texts, delimiter="\t", quoting=csv.QUOTE_NONE)
    return [MetadataLine(n, raw, fields) for n, (raw, fields) in enumerate(zip(raws, split, strict=True), start=1)]


def metadata_columns(lines: list[MetadataLine]) -> list[str]:
    """The header's column names, stripped and lower-cased (the default columns if no file)."""
    if not lines:
        return list(METADATA_COLUMNS)
    return [c.strip().lower() for c in lines[0].fields]


def metadata_row(columns: list[str], line: MetadataLine) -> dict[str, str]:
    """One data line as {column: value}; missing trailing fields are empty."""
    values = line.fields + [""] * (len(columns) - len(line.fields))
    return {c: v.strip() for c, v in zip(columns, values, strict=False) if c}


def read_metadata(corpus_dir: Path) -> dict[str, dict[str, str]]:
    """SOURCES.tsv rows keyed by file name (columns: file, title, publisher, date, url)."""
    path = corpus_dir / METADATA_FILE
    lines = metadata_lines(path)
    columns = metadata_columns(lines)
    if lines and "file" not in columns:
        log.warning("%s line 1: no 'file' column in the header %r; documents get no metadata", path, columns)
        return {}
    rows: dict[str, dict[str, str]] = {}
    for line in lines[1:]:
        if len(line.fields) > len(columns):
            log.warning(
                "%s line %d: %d fields, the header has %d; extra fields ignored",
                path,
                line.number,
                len(line.fields),
                len(columns),
            )
        row = metadata_row(columns, line)
        if row.get("file"):
            rows[row["file"]] = row
    return rows
