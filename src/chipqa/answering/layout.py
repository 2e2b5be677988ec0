"""The layout of a document's stored text: headings, label lines, table rows and their header, Q&A questions.

Answering reads around a retrieved sentence: the heading above it names the company a listicle item is about,
a table row's figures take their meaning from the header row, and a Q&A answer ("No. It received 4,000 ...")
from the question line before it. Pure: a Layout is built from the text alone.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Literal

from chipqa.core.text import split_sentences

LineKind = Literal["heading", "table_header", "table_row", "table_rule", "question", "byline", "text"]

_MD_HEADING = re.compile(r"^#{1,6}\s+\S")
_BOLD_LABEL = re.compile(r"^(?:\d+[.)]\s*)?(?:\*\*|__)[^*_]+(?:\*\*|__)\s*:?\s*$")
_NUMBERED_LABEL = re.compile(r"^\d{1,2}[.)]\s+\S")
_TABLE_RULE = re.compile(r"^\|?[\s:|-]+\|?$")
_QUESTION_LINE = re.compile(r"^(?:\*\*)?(?:Q|Question)\s*[:.)\-]|\?\s*(?:\*\*)?$")
_TERMINAL = re.compile(r"[.!?…]['\")”’\]]*$")
_BYLINE = re.compile(
    r"^(?:by\s|published|updated|posted|last updated|written by|posted by|filed|dateline"
    r"|\d{1,2} \w+ \d{4}\b|\w+ \d{1,2}, \d{4}$)",
    re.IGNORECASE,
)
_TERMINAL_SOMEWHERE = re.compile(r"[.!?]['\")”’\]]*(?:\s|$)")
# A heading or label line is short; a longer line without a full stop is a sentence that lost its punctuation.
HEADING_WORDS = 12


@dataclass(frozen=True)
class Line:
    """One non-blank line of the stored text."""

    start: int
    end: int
    kind: LineKind
    cells: tuple[tuple[int, int], ...] = ()  # table cells' spans, for table rows and headers


class Layout:
    """Lines and sentences of one document, with what stands above each position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = _lines(text)
        self._starts = [line.start for line in self.lines]
        self._sentences: list[tuple[int, int]] = []
        for line in self.lines:
            if line.kind in ("table_row", "table_header", "table_rule", "heading"):
                self._sentences.append((line.start, line.end))
            else:
                self._sentences.extend(split_sentences(text, line.start, line.end))
        self._sentence_starts = [s for s, _ in self._sentences]

    @property
    def sentences(self) -> list[tuple[int, int]]:
        """Spans of every sentence (a heading or table row counts as one), in order."""
        return self._sentences

    def lead(self) -> tuple[int, int] | None:
        """The first sentence of the first paragraph (a full sentence, not the headline, a byline or a date
        line): a news article names its subject there."""
        for line in self.lines:
            text = self.text[line.start : line.end]
            if line.kind != "text" or len(text.split()) < 12 or not _TERMINAL_SOMEWHERE.search(text):
                continue
            return next(((s, e) for s, e in self._sentences if line.start <= s < line.end), None)
        return None

    def section_start(self, pos: int) -> int:
        """Where the section holding `pos` starts (after its heading; 0 without one)."""
        heading = self.heading_above(pos)
        return heading.end if heading else 0

    def section_end(self, pos: int) -> int:
        """Where the section holding `pos` ends: at the next heading or label line (the document's end without
        one)."""
        for line in self.lines[self.line_at(pos) + 1 :]:
            if line.kind == "heading":
                return line.start
        return len(self.text)

    def line_at(self, pos: int) -> int:
        """Index of the line holding `pos` (the last line starting at or before it)."""
        return max(0, bisect.bisect_right(self._starts, pos) - 1)

    def heading_above(self, pos: int) -> Line | None:
        """The nearest heading or label line above `pos` (the title counts), or None."""
        for i in range(self.line_at(pos) - 1, -1, -1):
            if self.lines[i].kind == "heading":
                return self.lines[i]
        return None

    def sentences_before(self, pos: int, n: int = 2) -> list[tuple[int, int]]:
        """Up to n sentences before `pos` in its section (stopping at a heading), nearest last."""
        i = bisect.bisect_right(self._sentence_starts, pos) - 1
        out: list[tuple[int, int]] = []
        heading = self.heading_above(pos)
        floor = heading.end if heading else 0
        j = i - 1
        while j >= 0 and len(out) < n:
            s, e = self._sentences[j]
            if s < floor:
                break
            if e <= pos:
                out.append((s, e))
            j -= 1
        return list(reversed(out))

    def sentence_after(self, pos: int) -> tuple[int, int] | None:
        """The sentence that starts after `pos` in the same section, or None."""
        i = bisect.bisect_right(self._sentence_starts, pos)
        if i >= len(self._sentences):
            return None
        span = self._sentences[i]
        heading = self.heading_above(span[0])
        mine = self.heading_above(pos)
        return span if heading == mine else None

    def table_header(self, pos: int) -> Line | None:
        """For a position in a table row, the header row of its table; else None."""
        i = self.line_at(pos)
        if self.lines[i].kind != "table_row":
            return None
        for j in range(i - 1, -1, -1):
            kind = self.lines[j].kind
            if kind == "table_header":
                return self.lines[j]
            if kind not in ("table_row", "table_rule"):
                return None
        return None

    def cell_header(self, pos: int) -> str:
        """The header text of the table column holding `pos`, or ""."""
        header = self.table_header(pos)
        if header is None:
            return ""
        row = self.lines[self.line_at(pos)]
        for index, (s, e) in enumerate(row.cells):
            if s <= pos < e and index < len(header.cells):
                hs, he = header.cells[index]
                return self.text[hs:he]
        return ""

    def row_label(self, pos: int) -> tuple[int, int] | None:
        """The first cell of the table row holding `pos` (what the row is about), or None."""
        row = self.lines[self.line_at(pos)]
        return row.cells[0] if row.kind == "table_row" and row.cells else None


def _lines(text: str) -> list[Line]:
    raw: list[tuple[int, int]] = []
    pos = 0
    for part in text.splitlines(keepends=True):
        stripped = part.strip()
        if stripped:
            lead = len(part) - len(part.lstrip())
            raw.append((pos + lead, pos + lead + len(stripped)))
        pos += len(part)
    lines: list[Line] = []
    for index, (s, e) in enumerate(raw):
        line = text[s:e]
        if "|" in line and (line.startswith("|") or line.count(" | ") >= 2):
            if _TABLE_RULE.match(line):
                lines.append(Line(s, e, "table_rule"))
                continue
            previous = lines[-1].kind if lines else None
            kind: LineKind = "table_row" if previous in ("table_header", "table_row", "table_rule") else "table_header"
            lines.append(Line(s, e, kind, _cells(text, s, e)))
            continue
        next_len = raw[index + 1][1] - raw[index + 1][0] if index + 1 < len(raw) else 0
        if _BYLINE.match(line) and len(line.split()) <= 16:
            lines.append(Line(s, e, "byline"))  # "Published: 18 September 2024 | Desk" starts no section
        elif index == 0 and not _TERMINAL.search(line) and len(line.split()) <= 30:
            lines.append(Line(s, e, "heading"))  # the headline
        elif _is_heading(line, next_len):
            lines.append(Line(s, e, "heading"))
        elif _QUESTION_LINE.search(line) and len(line.split()) <= 40:
            lines.append(Line(s, e, "question"))
        else:
            lines.append(Line(s, e, "text"))
    return lines


def _is_heading(line: str, next_len: int) -> bool:
    if _MD_HEADING.match(line) or _BOLD_LABEL.match(line):
        return True
    words = line.split()
    if len(words) > HEADING_WORDS or _TERMINAL.search(line) or line.endswith("?"):
        return False
    if _NUMBERED_LABEL.match(line):
        return True
    return (line[:1].isupper() or line[:1].isdigit()) and next_len > len(line)


def _cells(text: str, start: int, end: int) -> tuple[tuple[int, int], ...]:
    """Spans of the cells of a table row ("| a | b |" or "a | b | c"), trimmed."""
    cells = []
    cursor = start
    for m in re.finditer(r"\|", text[start:end]):
        cells.append((cursor, start + m.start()))
        cursor = start + m.end()
    cells.append((cursor, end))
    out = []
    for s, e in cells:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return tuple(out)
