"""Document fixtures the tests generate: one file per supported format, plus bad files."""

from __future__ import annotations

from pathlib import Path

ZONE_TXT = (
    "Harbour Valley Zone offers a rent subsidy of 30 percent for the first two years. "
    "Companies in the zone focus on marine robotics and offshore wind turbines. "
    "The zone office is located at 12 Pier Road."
)
ZH_TXT = "长春新区重点发展光电信息产业。园区为新设立的研发中心提供一次性奖励五十万元。企业可以申请人才公寓。"


def write_text_docs(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "harbour.txt").write_text(ZONE_TXT, encoding="utf-8")
    (folder / "notes.md").write_text(
        "# Alpine Park notes\n\nAlpine Park hosts ski equipment makers and snow sports research.\n", encoding="utf-8"
    )
    (folder / "page.html").write_text(
        "<html><head><title>x</title><script>var leaked = 'script text';</script></head>"
        "<body><h1>Desert Solar Park</h1><p>Desert Solar Park builds photovoltaic glass factories.</p></body></html>",
        encoding="utf-8",
    )
    (folder / "changchun-zh.txt").write_text(ZH_TXT, encoding="utf-8")


def write_pdf(path: Path, pages: list[str]) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    for text in pages:
        c.drawString(72, 760, text)
        c.showPage()
    c.save()


def write_docx(path: Path, paragraphs: list[str]) -> None:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    d.save(str(path))


def write_all_formats(folder: Path) -> None:
    write_text_docs(folder)
    write_pdf(
        folder / "forest.pdf",
        [
            "Forest Tech Park welcomes timber processing firms.",
            "Forest Tech Park grants land at a discount on page two.",
        ],
    )
    write_docx(folder / "river.docx", ["River Port Zone specialises in cold-chain logistics.", "It opened in 2019."])


def write_bad_files(folder: Path) -> None:
    (folder / "empty.txt").write_bytes(b"")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n this is not really a pdf \x00\x01\x02")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (folder / "broken.docx").write_bytes(b"PK\x03\x04 not a zip at all")
    (folder / "data.xyz").write_text("unknown type", encoding="utf-8")
