"""Chunking: documents into passages that follow sentence boundaries.

Chunks are sized in the embedding model's tokens: sentences are packed until the next one
would pass ``chunk_tokens``; the next chunk starts far enough back to share about
``chunk_overlap`` tokens of whole sentences with it. A sentence longer than a chunk becomes a
chunk on its own (the embedder truncates; BM25 still sees all of it). Each chunk remembers
its document's metadata, its page and its character offsets in the document text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass
from functools import cached_property

from ..glossary import named_in
from ..text import detect_language, split_sentences
from .documents import Document


@dataclass
class Chunk:
    chunk_id: str  # "<doc_id>#<n>"
    doc_id: str
    title: str
    source: str  # URL of the original, or the file name when there is none
    publisher: str
    date: str
    page: int | None
    start: int  # character offsets of the chunk in the document text
    end: int
    text: str
    subject: str = ""  # what its document is about ("Jingyue High-tech Industrial Development Zone; ...")

    @property
    def about(self) -> str:
        """The subject's parts its title does not already name in any spelling ("" when the title
        says it all): what a reader of the passage under its title still needs to be told."""
        return "; ".join(x for x in (self.subject or "").split("; ") if x and not named_in(x, self.title))

    @cached_property
    def lang(self) -> str:
        """The language its text is written in ("en", "zh", "ko"): detected once, then carried."""
        return detect_language(self.text)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Chunk:
        # a field with a default may be missing (written before it existed), the others read as None
        return cls(**{k: d.get(k) for k, f in cls.__dataclass_fields__.items() if k in d or f.default is MISSING})


def chunk_document(doc: Document, count_tokens: Callable[[str], int], size: int, overlap: int) -> list[Chunk]:
    if overlap >= size:
        raise ValueError(f"chunk overlap ({overlap}) must be smaller than chunk size ({size})")
    sentences = split_sentences(doc.text)
    lengths = [count_tokens(s.text) for s in sentences]
    windows: list[tuple[int, int]] = []  # sentence index ranges [i, j)
    i = 0
    while i < len(sentences):
        j, total = i, 0
        while j < len(sentences) and (j == i or total + lengths[j] <= size):
            total += lengths[j]
            j += 1
        windows.append((i, j))
        if j >= len(sentences):
            break
        # step back over whole sentences worth up to `overlap` tokens, always moving forward
        k, back = j, 0
        while k - 1 > i and back + lengths[k - 1] <= overlap:
            k -= 1
            back += lengths[k]
        i = k
    chunks = []
    for n, (a, b) in enumerate(windows):
        start, end = sentences[a].start, sentences[b - 1].end
        chunks.append(
            Chunk(
                chunk_id=f"{doc.doc_id}#{n}",
                doc_id=doc.doc_id,
                title=doc.title,
                source=doc.url or doc.file,
                publisher=doc.publisher,
                date=doc.date,
                page=doc.page_at(start),
                start=start,
                end=end,
                text=doc.text[start:end],
                subject="; ".join(doc.subject),
            )
        )
    return chunks
