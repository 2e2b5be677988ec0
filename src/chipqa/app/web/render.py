"""Chat bubbles as HTML: pure functions from an answer record to markup, every piece of text escaped.

Each bubble is one line of HTML, so the chatbot's markdown pass leaves it alone. Source cards, the sources
panel and the documents table are in `sources.py`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chipqa.core.models import Answer, Citation, FigureRecord
from chipqa.core.text import clip

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


@dataclass(frozen=True)
class SourceDoc:
    """What the UI shows of a cited document besides the citation: its stored text (None once removed),
    publication date, publisher and file name."""

    text: str | None
    date: str | None = None
    publisher: str | None = None
    file: str | None = None


@dataclass(frozen=True)
class Timing:
    """How long the person waited for a reply, and how much of it went into building the index first."""

    waited_ms: float
    build_ms: float = 0.0


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _attr(text: str) -> str:
    """An attribute value that keeps its line breaks while the bubble's HTML stays on one line."""
    return esc(text).replace("\n", "&#10;")


def unit_suffix(fig: FigureRecord) -> str:
    """A count's unit ("chips") when the figure's text lacks it; currencies and % are already in the text."""
    unit = fig.unit or ""
    if unit.isalpha() and not unit.isupper() and unit.lower() not in fig.text.lower():
        return f" {unit}"
    return ""


def cite_button(n: int, turn: int, citations: Mapping[int, Citation]) -> str:
    c = citations.get(n)
    if c is None:
        return esc(n)
    tip = f"[{n}] {c.title}: “{clip(c.text, 160)}”"
    return (
        f'<button type="button" class="cite" data-turn="{turn}" data-n="{n}" '
        f'title="{esc(tip)}" aria-label="show source {n}">{n}</button>'
    )


def figure_spans(text: str, figures: Sequence[FigureRecord]) -> list[tuple[int, int, FigureRecord]]:
    spans = []
    for fig in figures:
        if not fig.text:
            continue
        for m in re.finditer(re.escape(fig.text), text):
            before = text[m.start() - 1] if m.start() else " "
            after = text[m.end()] if m.end() < len(text) else " "
            # "230,000" must not light up inside "1,230,000" or "2,300,000".
            if not (before.isdigit() or before in ",." or after.isdigit()):
                spans.append((m.start(), m.end(), fig))
    return spans


def decorate_answer(text: str, figures: Sequence[FigureRecord], citations: Sequence[Citation], turn: int) -> str:
    """The answer text as HTML: figures bolded and tied to their source, [n] markers as source buttons."""
    by_n = {c.n: c for c in citations}
    spans: list[tuple[int, int, str]] = []
    for m in _MARKER.finditer(text):
        numbers = [int(x) for x in m.group(1).split(",")]
        spans.append((m.start(), m.end(), "".join(cite_button(n, turn, by_n) for n in numbers)))
    for start, end, fig in figure_spans(text, figures):
        n = fig.citations[0] if fig.citations else None
        refs = ", ".join(f"[{k}]" for k in fig.citations)
        title = f"verified in source {refs}" if refs else "figure"
        data = f' data-turn="{turn}" data-n="{n}"' if n is not None and n in by_n else ""
        spans.append((start, end, f'<strong class="fig"{data} title="{esc(title)}">{esc(text[start:end])}</strong>'))
    out, pos = [], 0
    for start, end, rendered in sorted(spans, key=lambda s: (s[0], -s[1])):
        if start < pos:  # overlaps an earlier span
            continue
        out.append(esc(text[pos:start]))
        out.append(rendered)
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


def _figures_strip(answer: Answer, turn: int) -> str:
    if not answer.figures:
        return ""
    by_n = {c.n: c for c in answer.citations}
    items = []
    for fig in answer.figures:
        cites = "".join(cite_button(n, turn, by_n) for n in fig.citations)
        if fig.computed:
            how = f" computed from {esc(', '.join(fig.inputs))}" if fig.inputs else " computed"
            items.append(
                '<span class="qa-fig qa-fig-computed"><span class="ok">=</span> '
                f"<strong>{esc(fig.text)}</strong>{esc(unit_suffix(fig))}{how} {cites}</span>"
            )
        else:
            items.append(
                '<span class="qa-fig"><span class="ok" aria-hidden="true">✓</span> '
                f"<strong>{esc(fig.text)}</strong>{esc(unit_suffix(fig))} in {cites}</span>"
            )
    return '<div class="qa-figs"><span class="qa-figs-label">Verified figures</span>' + "".join(items) + "</div>"


def _conflict_block(answer: Answer, turn: int, docs: Mapping[str, SourceDoc]) -> str:
    by_n = {c.n: c for c in answer.citations}
    blocks = []
    for conflict in answer.conflicts:
        cards = []
        for fig in conflict.figures:
            c = by_n.get(fig.citations[0]) if fig.citations else None
            source = ""
            if c is not None:
                doc = docs.get(c.doc_id) or SourceDoc(None)
                date = doc.date or c.published
                source = (
                    f'<div class="qa-conflict-src">{cite_button(c.n, turn, by_n)} {esc(c.title)}'
                    + (f' <span class="qa-date">· {esc(date)}</span>' if date else "")
                    + f'</div><div class="qa-conflict-quote">“{esc(clip(c.text, 260))}”</div>'
                )
            cards.append(
                f'<div class="qa-conflict-card"><div class="qa-conflict-fig">{esc(fig.text)}'
                f"{esc(unit_suffix(fig))}</div>{source}</div>"
            )
        blocks.append(
            '<div class="qa-conflict"><div class="qa-conflict-head">⚠ The sources disagree'
            + ' — compare them before using a figure</div><div class="qa-conflict-grid">'
            + "".join(cards)
            + "</div></div>"
        )
    return "".join(blocks)


def _duration(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def meta_line(answer: Answer, timing: Timing | None = None) -> str:
    """Notes, then "LLM · time · figures checked": the time is what the person waited, a build included."""
    parts = [f"LLM: {esc(answer.llm)}" if answer.llm else ""]
    if timing is not None:
        waited = _duration(timing.waited_ms)
        if timing.build_ms >= 1:
            waited += f" (of which {_duration(timing.build_ms)} building the index on first use)"
        parts.append(waited)
    elif (total := answer.timings_ms.get("total")) is not None:
        parts.append(_duration(total))
    if answer.grounded and not answer.abstained and answer.figures:
        parts.append("every figure checked against its source")
    notes = "".join(f'<div class="qa-note">{esc(n)}</div>' for n in answer.notes)
    return notes + '<div class="qa-meta">' + " · ".join(p for p in parts if p) + "</div>"


def copy_text(answer: Answer, docs: Mapping[str, SourceDoc] | None = None) -> str:
    """The answer as plain text with its sources, for the clipboard."""
    docs = docs or {}
    lines = [answer.answer]
    if answer.citations:
        lines.append("")
        for c in answer.citations:
            doc = docs.get(c.doc_id) or SourceDoc(None)
            where = [p for p in (doc.publisher, doc.date or c.published, doc.file or c.source or c.doc_id) if p]
            lines.append(f"[{c.n}] {c.title} ({', '.join(where)}): “{c.text}”")
    return "\n".join(lines)


def _resolved_line(answer: Answer) -> str:
    resolved = answer.resolved_question
    if not resolved or resolved == answer.question:
        return ""
    return (
        f'<div class="qa-resolved">Answering: <q>{esc(resolved)}</q> '
        f'<button type="button" class="qa-edit" data-q="{esc(resolved)}" '
        'title="Put this question in the box to change it">Edit</button></div>'
    )


def _actions(answer: Answer, docs: Mapping[str, SourceDoc]) -> str:
    asked = answer.resolved_question or answer.question
    return (
        '<div class="qa-actions">'
        f'<button type="button" class="qa-copy" data-copy="{_attr(copy_text(answer, docs))}" '
        'title="Copy the answer and its sources">Copy</button>'
        f'<button type="button" class="qa-again" data-q="{esc(asked)}" title="Ask this question again">'
        "Ask again</button></div>"
    )


def render_answer(
    answer: Answer, turn: int, docs: Mapping[str, SourceDoc] | None = None, timing: Timing | None = None
) -> str:
    """The chat bubble of a final answer."""
    docs = docs or {}
    text = decorate_answer(answer.answer, answer.figures, answer.citations, turn)
    head = f'<div class="qa-answer{{cls}}" data-state="final" data-turn="{turn}">' + _resolved_line(answer)
    tail = meta_line(answer, timing) + _actions(answer, docs) + '<div class="qa-inline" hidden></div></div>'
    if answer.abstained:
        related = (
            f'<button type="button" class="show-src" data-turn="{turn}" data-n="{answer.related[0].n}">'
            "Show the closest passages</button>"
            if answer.related
            else ""
        )
        return (
            head.replace("{cls}", " qa-abstained")
            + '<div class="qa-badge">Not in the corpus</div>'
            + f'<div class="qa-text">{text}</div>'
            + related
            + tail
        )
    badge = '<div class="qa-badge qa-badge-conflict">Sources disagree</div>' if answer.conflicts else ""
    return (
        head.replace("{cls}", "")
        + badge
        + f'<div class="qa-text">{text}</div>'
        + _conflict_block(answer, turn, docs)
        + _figures_strip(answer, turn)
        + tail
    )


def render_pending(draft: str, status: str = "") -> str:
    """The bubble while the answer is being drafted; figures arrive only with the verified answer."""
    body = esc(draft.strip()) if draft.strip() else esc(status or "Searching the corpus")
    note = "Drafting — figures appear once checked against the sources" if draft.strip() else ""
    if status and draft.strip():
        note = status
    return (
        f'<div class="qa-answer qa-pending" data-state="pending"><div class="qa-text">{body}'
        '<span class="qa-cursor" aria-hidden="true">▍</span></div>'
        + (f'<div class="qa-meta">{esc(note)}</div>' if note else "")
        + "</div>"
    )


def render_building(done: int, total: int, corpus: str) -> str:
    """The bubble while the first question waits for the index to be built."""
    share = f"{done:,} of {total:,} chunks embedded" if total else "reading the files"
    percent = round(100 * done / total) if total else 0
    return (
        '<div class="qa-answer qa-pending qa-building" data-state="building">'
        f'<div class="qa-text">Building the index from {esc(corpus)} (first use): {esc(share)}'
        '<span class="qa-cursor" aria-hidden="true">▍</span></div>'
        f'<progress class="qa-progress" max="100" value="{percent}">{percent}%</progress>'
        '<div class="qa-meta">Your question is answered as soon as the index is ready.</div></div>'
    )


def render_stopped(draft: str) -> str:
    """The bubble of an answer stopped before it was verified: nothing in it is to be used."""
    shown = f'<div class="qa-text qa-struck">{esc(draft.strip())}</div>' if draft.strip() else ""
    return (
        '<div class="qa-answer qa-stopped" data-state="stopped"><div class="qa-badge qa-badge-stopped">Stopped</div>'
        + shown
        + '<div class="qa-meta">Stopped before the answer was checked against the sources; nothing here is an '
        "answer.</div></div>"
    )


def render_error(message: str) -> str:
    return (
        '<div class="qa-answer qa-error" data-state="error"><div class="qa-badge qa-badge-error">Error</div>'
        f'<div class="qa-text">{esc(message)}</div></div>'
    )
