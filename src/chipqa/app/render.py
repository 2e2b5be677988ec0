"""Plain-text rendering of answers, reports and status for the terminal (pure string functions)."""

from __future__ import annotations

import textwrap
from typing import Any

from chipqa.core.models import Answer
from chipqa.core.text import clip
from chipqa.ingest.indexer import IngestReport


def format_answer(answer: Answer, width: int = 100) -> str:
    """The answer, then its numbered sources with title and cited sentence."""
    lines = [textwrap.fill(answer.answer, width)]
    if answer.conflicts:
        lines.append("")
        lines.append("Conflict: the sources disagree on this figure.")
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            lines.append(f"  [{c.n}] {c.title} ({c.doc_id}, chars {c.start}-{c.end})")
            lines.append(textwrap.indent(textwrap.fill(f"“{c.text}”", width - 6), "      "))
    if answer.abstained and answer.related:
        lines.append("")
        lines.append("Related passages (not support for any figure):")
        for c in answer.related:
            lines.append(f"  - {c.title} ({c.doc_id}): {clip(c.text, width - 10)}")
    for note in answer.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def format_ingest(report: IngestReport) -> str:
    lines = [f"{s.path}: skipped: {s.reason}" for s in report.skipped]
    lines.append(report.summary())
    return "\n".join(lines)


def format_status(status: dict[str, Any]) -> str:
    width = max(len(k) for k in status)
    return "\n".join(f"{k.replace('_', ' '):<{width}}  {v}" for k, v in status.items())
