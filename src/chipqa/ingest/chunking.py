"""Sentence-aware chunking that keeps every chunk's exact character span in the stored text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chipqa.core.models import Document

# Tokens whose trailing period does not end a sentence.
_ABBREVIATIONS = frozenset(
    [
        "u.s",
        "u.k",
        "u.n",
        "e.u",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "inc",
        "corp",
        "co",
        "ltd",
        "jr",
        "sr",
        "st",
        "vs",
        "e.g",
        "i.e",
        "etc",
        "no",
        "fig",
        "approx",
        "est",
        "dept",
    ]
)
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+\S)")


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


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans within text[start:end], trimmed of surrounding white space."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for m in _SENTENCE_END.finditer(text, start, end):
        stop = m.end()
        word = text[cursor : m.start() + 1].split()[-1].rstrip(".").lower() if text[cursor : m.start()].strip() else ""
        nxt = text[stop:end].lstrip()[:1]
        # Keep "U.S. export rules" whole; a sentence ends only before a capital, digit, quote or bullet.
        if word in _ABBREVIATIONS and not (nxt.isupper() and word not in {"u.s", "u.k"}):
            continue
        if nxt and not (nxt.isupper() or nxt.isdigit() or nxt in "\"'“‘*-([#"):
            continue
        spans.append((cursor, stop))
        cursor = stop
    spans.append((cursor, end))
    return [_trim(text, s, e) for s, e in spans if text[s:e].strip()]


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


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
