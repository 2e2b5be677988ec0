"""Source cards, the sources panel, the documents table and the whole-document page: pure HTML functions.

A card is what a reporter needs to cite a passage: title, publication, date and file, the cited span
highlighted inside its paragraph, and a link to the whole document; character offsets are in a tooltip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from chipqa.app.web.render import SourceDoc, esc, figure_spans
from chipqa.core.models import Answer, Citation, FigureRecord
from chipqa.core.text import clip

CONTEXT_CHARS = 700
ORIGINS = {"corpus": "corpus folder", "upload": "uploaded", "other": "elsewhere"}


def passage_context(text: str, start: int, end: int, limit: int = CONTEXT_CHARS) -> tuple[str, str, str]:
    """The paragraph (between blank lines) around text[start:end] as (before, cited, after), trimmed."""
    para_start = text.rfind("\n\n", 0, start)
    para_start = 0 if para_start < 0 else para_start + 2
    para_end = text.find("\n\n", end)
    para_end = len(text) if para_end < 0 else para_end
    before, cited, after = text[para_start:start], text[start:end], text[end:para_end]
    room = max(limit - len(cited), 0) // 2
    if len(before) > room:
        cut = before[len(before) - room :]
        before = "…" + (cut.split(" ", 1)[1] if " " in cut else cut)
    if len(after) > room:
        cut = after[:room]
        after = (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"
    return before.lstrip("\n"), cited, after.rstrip("\n")


def document_url(doc_id: str, start: int | None = None, end: int | None = None) -> str:
    """Where the whole document is shown, with the span highlighted."""
    query = f"?{urlencode({'start': start, 'end': end})}" if start is not None and end is not None else ""
    return f"documents/{quote(doc_id, safe='')}{query}#cited"


def _emphasize(text: str, figures: Sequence[str]) -> str:
    """Escaped text with the figures it supports underlined, so the eye lands on the number."""
    records = [FigureRecord(f, 0.0, None, []) for f in figures]
    spans = sorted(figure_spans(text, records), key=lambda s: (s[0], -s[1]))
    out, pos = [], 0
    for start, end, _ in spans:
        if start < pos:
            continue
        out.append(esc(text[pos:start]) + f'<span class="src-fig">{esc(text[start:end])}</span>')
        pos = end
    return "".join(out) + esc(text[pos:])


def source_card(c: Citation, turn: int, doc: SourceDoc | None, supports: Sequence[str], related: bool = False) -> str:
    mark_class = "related" if related else "cited"
    warning = ""
    if doc is None or doc.text is None:
        before, cited, after = "", c.text, ""
        warning = "This document is no longer in the index; the passage is shown as it was cited."
    elif doc.text[c.start : c.end] != c.text:
        before, cited, after = "", c.text, ""
        warning = "The stored document changed since this answer; the passage is shown as it was cited."
    else:
        before, cited, after = passage_context(doc.text, c.start, c.end)
    doc = doc or SourceDoc(None)
    file = doc.file or c.source or c.doc_id
    date = doc.date or c.published
    meta = [
        f'<span class="src-pub">{esc(doc.publisher)}</span>' if doc.publisher else "",
        f'<span class="src-date">{esc(date)}</span>' if date else '<span class="src-date">date not stated</span>',
        f'<span class="src-file">{esc(file)}</span>',
    ]
    offsets = f"document {c.doc_id}, characters {c.start}–{c.end}"
    link = ""
    if doc.text is not None:
        link = (
            f'<a class="src-open" href="{esc(document_url(c.doc_id, c.start, c.end))}" target="_blank" '
            f'rel="noopener">Open the whole document</a>'
        )
    support = ""
    if supports:
        support = '<div class="src-supports">supports ' + ", ".join(f"<strong>{esc(s)}</strong>" for s in supports)
        support += "</div>"
    label = "" if related else f'<span class="src-n">{c.n}</span>'
    return (
        f'<div class="src-card{" src-related" if related else ""}" id="src-{turn}-{c.n}" data-n="{c.n}">'
        f'<div class="src-head">{label}<span class="src-title">{esc(c.title)}</span></div>'
        f'<div class="src-meta" title="{esc(offsets)}">{" · ".join(m for m in meta if m)}</div>'
        + (f'<div class="src-warn">{esc(warning)}</div>' if warning else "")
        + f'<div class="src-text">{esc(before)}<mark class="{mark_class}">'
        + _emphasize(cited, supports)
        + f"</mark>{esc(after)}</div>"
        + support
        + link
        + "</div>"
    )


def render_turn_sources(answer: Answer, turn: int, docs: Mapping[str, SourceDoc]) -> str:
    """One answer's sources: each cited span highlighted in its paragraph; related passages if abstained."""
    asked = answer.resolved_question or answer.question
    head = f'<div class="src-question">Sources for “{esc(clip(asked, 120))}”</div>'
    if answer.abstained:
        cards = "".join(source_card(c, turn, docs.get(c.doc_id), (), related=True) for c in answer.related)
        body = (
            '<div class="src-abstain"><strong>Not in the corpus.</strong> No indexed passage states this. '
            + ("Closest passages, for reading only:" if answer.related else "")
            + "</div>"
            + cards
        )
    else:
        supports: dict[int, list[str]] = {}
        for fig in answer.figures:
            for n in fig.citations:
                supports.setdefault(n, []).append(fig.text)
        body = (
            "".join(source_card(c, turn, docs.get(c.doc_id), supports.get(c.n, ())) for c in answer.citations)
            or '<div class="src-empty">This answer cites no passage.</div>'
        )
    return f'<div class="src-turn" data-turn="{turn}">{head}{body}</div>'


def render_sources(turns: Sequence[tuple[int, str]]) -> str:
    """The sources panel: every kept answer's sources, the latest one shown (markers switch between them)."""
    if not turns:
        return (
            '<div class="src-placeholder"><strong>Sources</strong><br>Ask a question: every figure in the '
            "answer links to the passage it comes from, highlighted here in its paragraph.</div>"
        )
    last = turns[-1][0]
    return "".join(
        block if turn == last else block.replace('class="src-turn"', 'class="src-turn src-hidden"', 1)
        for turn, block in turns
    )


def documents_table(docs: Sequence[Mapping[str, Any]]) -> str:
    """The indexed documents as a table that stacks into labelled rows on a phone."""
    if not docs:
        return '<div class="doc-empty">The index holds no documents yet.</div>'
    head = "".join(f"<th>{h}</th>" for h in ("Title", "Publication", "Date", "Chunks", "File", "Origin"))
    rows = []
    for d in sorted(docs, key=lambda d: (str(d["title"]).lower(), d["doc_id"])):
        title = f'<a href="{esc(document_url(d["doc_id"]))}" target="_blank" rel="noopener">{esc(d["title"])}</a>'
        cells = [
            ("Title", title),
            ("Publication", esc(d.get("publisher") or "—")),
            ("Date", esc(d.get("date") or "—")),
            ("Chunks", esc(d["chunks"])),
            ("File", f'<span class="doc-file">{esc(d.get("file") or d["doc_id"])}</span>'),
            ("Origin", esc(ORIGINS.get(str(d.get("origin")), "elsewhere"))),
        ]
        tds = "".join(f'<td data-label="{label}">{value}</td>' for label, value in cells)
        rows.append(f'<tr data-doc="{esc(d["doc_id"])}">{tds}</tr>')
    return (
        f'<table class="doc-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
        f'<div class="doc-count">{len(docs)} document{"" if len(docs) == 1 else "s"}</div>'
    )


def document_page(info: Mapping[str, Any], text: str, start: int | None, end: int | None) -> str:
    """A whole document as a standalone page, the cited span (if any, and valid) highlighted."""
    if start is not None and end is not None and 0 <= start < end <= len(text):
        body = f'{esc(text[:start])}<mark id="cited">{esc(text[start:end])}</mark>{esc(text[end:])}'
        note = f"Highlighted: characters {start}–{end}."
    else:
        body, note = esc(text), ""
    meta = " · ".join(esc(x) for x in (info.get("publisher"), info.get("date"), info.get("file")) if x)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(info.get('title') or info.get('doc_id'))} — chipqa</title><style>"
        "body{font:16px/1.6 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1f2937}"
        "h1{font-size:1.4rem;line-height:1.3}.meta{opacity:.75;font-size:.9rem}"
        "pre{white-space:pre-wrap;font:inherit}mark{background:#fde68a;padding:1px 2px;border-radius:3px}"
        "@media (prefers-color-scheme:dark){body{background:#111827;color:#e5e7eb}mark{background:#a16207;color:#fff}}"
        f"</style></head><body><h1>{esc(info.get('title') or info.get('doc_id'))}</h1>"
        f'<div class="meta">{meta}</div><div class="meta">{esc(note)}</div><pre>{body}</pre>'
        "<script>const m=document.getElementById('cited');if(m)m.scrollIntoView({block:'center'});</script>"
        "</body></html>"
    )


def format_status(info: Mapping[str, Any]) -> str:
    """The header line (markdown): documents, chunks, models, and what is wrong if anything is."""
    index, models = info.get("index") or {}, info.get("models") or {}
    parts = [
        f"**{index.get('documents', '?')}** documents",
        f"**{index.get('chunks', '?')}** chunks",
        f"LLM: {models.get('llm', '?')}",
        f"embeddings: {models.get('embedding', '?')}",
    ]
    line = " · ".join(parts)
    problems = [str(p) for p in info.get("problems") or []]
    if any(p.startswith("building the index") for p in problems):
        return "**Starting:** " + "; ".join(problems)
    if problems:
        line += "  \n⚠ " + "; ".join(problems)
    return line
