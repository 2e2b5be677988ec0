"""Sentence-aware chunking that keeps every chunk's exact character span in the stored text.

chipqa's own rather than LlamaIndex's SentenceSplitter: a chunk must stay inside one content line (a paragraph or
table row of the text left after boilerplate, which is excluded without cutting the stored text) and be an exact
span of it; SentenceSplitter fills a token budget across paragraph boundaries. Chunk sizes were measured (README,
"Chunking, measured")."""

from __future__ import annotations

from dataclasses import dataclass

from chipqa.core.models import Document
from chipqa.core.text import split_sentences


@dataclass(frozen=True)
class Chunk:
    """A span of a document: text == document.text[start:end]."""

    doc_id: str
    index: int
    start: int
    end: int
    text: str

    @property
    def chunk_id(self) -> str:
        return f"{self.doc_id}#{self.index:05d}"


def chunk_document(doc: Document, max_chars: int = 360) -> list[Chunk]:
    """Group consecutive sentences of one content line (paragraph, table row) up to max_chars."""
    chunks: list[Chunk] = []
    for line_start, line_end in doc.content_spans:
        group: list[tuple[int, int]] = []
        for s, e in split_sentences(doc.text, line_start, line_end):
            if group and e - group[0][0] > max_chars:
                chunks.append(_make(doc, len(chunks), group[0][0], group[-1][1]))
                group = []
            group.append((s, e))
        if group:
            chunks.append(_make(doc, len(chunks), group[0][0], group[-1][1]))
    return chunks


def _make(doc: Document, index: int, start: int, end: int) -> Chunk:
    return Chunk(doc.doc_id, index, start, end, doc.text[start:end])
