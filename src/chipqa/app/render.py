"""Plain-text rendering of answers, reports and status for the terminal (pure string functions)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

from chipqa.core.models import Answer, Citation
from chipqa.core.text import clip
from chipqa.ingest.indexer import IngestReport


def format_answer(answer: Answer, width: int = 100, publishers: Mapping[str, str] | None = None) -> str:
    """The answer, then its numbered sources: title, publisher, date, file, and the cited sentence.

    A follow-up that was resolved starts with the question actually answered, so it can be checked."""
    publishers = publishers or {}
    lines = []
    if answer.resolved_question and answer.resolved_question != answer.question:
        lines.append(textwrap.fill(f"Answering: {answer.resolved_question}", width))
    lines.append(textwrap.fill(answer.answer, width))
    if answer.conflicts:
        lines.append("")
        lines.append("Conflict: the sources disagree on this figure.")
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            lines.append(f"  [{c.n}] {source_line(c, publishers.get(c.doc_id))}")
            lines.append(textwrap.indent(textwrap.fill(f"“{c.text}”", width - 6), "      "))
    if answer.abstained and answer.related:
        lines.append("")
        lines.append("Related passages (not support for any figure):")
        for c in answer.related:
            lines.append(f"  - {c.title} ({c.doc_id}): {clip(c.text, width - 10)}")
    for note in answer.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def source_line(c: Citation, publisher: str | None = None) -> str:
    """ "Title — Publisher, 2025-01-15, file.txt (chars 581-701)": what a reader needs to find the source."""
    where = [p for p in (publisher, c.published, c.source or c.doc_id) if p]
    return f"{c.title} — {', '.join(where)} (chars {c.start}-{c.end})"


def format_ingest(report: IngestReport) -> str:
    lines = [f"{s.path}: skipped: {s.reason}" for s in report.skipped]
    lines.append(report.summary())
    return "\n".join(lines)


def format_status(status: dict[str, Any]) -> str:
    width = max(len(k) for k in status)
    return "\n".join(f"{k.replace('_', ' '):<{width}}  {v}" for k, v in status.items())
