"""Hostile files the reliability tests craft in temporary folders: upload bombs and slow files."""

from __future__ import annotations

import zipfile
from pathlib import Path

from .fixtures import write_docx

GIB = 1 << 30


def write_docx_bomb(path: Path, unpacked: int = 2 * GIB) -> None:
    """A real .docx (it opens in Word) whose ``word/document.xml`` is padded with ``unpacked``
    bytes of whitespace between paragraphs: about 9 MB on disk, and python-docx reads the
    whole part into memory and parses it."""
    plain = path.with_suffix(".plain.docx")
    write_docx(plain, ["Bomb Park offers free land to anyone who opens this file."])
    block = b" " * (1 << 24)
    with (
        zipfile.ZipFile(plain) as src,
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as out,
    ):
        for item in src.infolist():
            data = src.read(item)
            if item.filename != "word/document.xml":
                out.writestr(item, data)
                continue
            head, tail = data.split(b"</w:body>")
            with out.open("word/document.xml", "w", force_zip64=True) as f:
                f.write(head)
                for _ in range(unpacked // len(block)):
                    f.write(block)
                f.write(b"</w:body>" + tail)
    plain.unlink()


def write_long_pdf(path: Path, pages: int) -> None:
    """A PDF with one line of real text on each of ``pages`` pages."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    for i in range(pages):
        c.drawString(72, 760, f"Page {i + 1} of the Long Park brochure about logistics.")
        c.showPage()
    c.save()


def write_slow_html(path: Path, paragraphs: int = 60_000) -> None:
    """2.2 MB of valid HTML that takes BeautifulSoup 4.7 s to parse on this machine (a 4.6 MB
    one took 17.5 s): under the upload limit, over a short parse limit."""
    body = "<p><b>Slow Park</b> offers rooms.</p>" * paragraphs
    path.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")
