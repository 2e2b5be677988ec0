"""The web UI (Gradio) and the one server that carries it and the JSON API.

`render_*` functions are pure: an answer record in, HTML out, every piece of text escaped. The Gradio
callbacks fetch what they need (answers, document texts) through `Guarded` and hand it to them.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import os
import queue
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline-first: no phoning home

import gradio as gr
from fastapi import FastAPI

from chipqa.app.api import Guarded, add_basic_auth, add_error_handlers, api_router, health
from chipqa.core.errors import ChipQAError, ConfigError
from chipqa.core.models import Answer, Citation, FigureRecord
from chipqa.core.text import clip
from chipqa.ingest import uploads

if TYPE_CHECKING:
    import uvicorn

    from chipqa.app.service import ChipQA
    from chipqa.core.settings import Settings

log = logging.getLogger("chipqa.server")

EXAMPLES = (
    "How many Hopper GPUs did Microsoft buy?",
    "How much will ByteDance spend on AI chips in 2025?",
    "What share of AI hardware spending did Nvidia capture in 2024?",
    "How many GPUs did Apple buy?",
)
# Sources of this many recent answers stay in the panel, so older [n] markers remain clickable.
KEPT_TURNS = 20
CONTEXT_CHARS = 700
_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


# ---------------------------------------------------------------------------------------------------------
# Pure rendering


@dataclass(frozen=True)
class SourceDoc:
    """What the sources panel needs of a cited document: its stored text and date (None if removed)."""

    text: str | None
    date: str | None = None


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


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


def _unit_suffix(fig: FigureRecord) -> str:
    """A count's unit ("chips") when the figure's text lacks it; currencies and % are already in the text."""
    unit = fig.unit or ""
    if unit.isalpha() and not unit.isupper() and unit.lower() not in fig.text.lower():
        return f" {unit}"
    return ""


def _cite_button(n: int, turn: int, citations: Mapping[int, Citation]) -> str:
    c = citations.get(n)
    if c is None:
        return esc(n)
    tip = f"[{n}] {c.title}: “{clip(c.text, 160)}”"
    return (
        f'<button type="button" class="cite" data-turn="{turn}" data-n="{n}" '
        f'title="{esc(tip)}" aria-label="show source {n}">{n}</button>'
    )


def _figure_spans(text: str, figures: Sequence[FigureRecord]) -> list[tuple[int, int, FigureRecord]]:
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
        spans.append((m.start(), m.end(), "".join(_cite_button(n, turn, by_n) for n in numbers)))
    for start, end, fig in _figure_spans(text, figures):
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
        cites = "".join(_cite_button(n, turn, by_n) for n in fig.citations)
        if fig.computed:
            how = f" computed from {esc(', '.join(fig.inputs))}" if fig.inputs else " computed"
            items.append(
                '<span class="qa-fig qa-fig-computed"><span class="ok">=</span> '
                f"<strong>{esc(fig.text)}</strong>"
                f"{esc(_unit_suffix(fig))}{how} {cites}</span>"
            )
        else:
            items.append(
                '<span class="qa-fig"><span class="ok" aria-hidden="true">✓</span> '
                f"<strong>{esc(fig.text)}</strong>"
                f"{esc(_unit_suffix(fig))} in {cites}</span>"
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
                date = (docs.get(c.doc_id) or SourceDoc(None)).date
                source = (
                    f'<div class="qa-conflict-src">{_cite_button(c.n, turn, by_n)} {esc(c.title)}'
                    + (f' <span class="qa-date">· {esc(date)}</span>' if date else "")
                    + f'</div><div class="qa-conflict-quote">“{esc(clip(c.text, 260))}”</div>'
                )
            cards.append(
                f'<div class="qa-conflict-card"><div class="qa-conflict-fig">{esc(fig.text)}'
                f"{esc(_unit_suffix(fig))}</div>{source}</div>"
            )
        blocks.append(
            '<div class="qa-conflict"><div class="qa-conflict-head">⚠ The sources disagree'
            + ' — compare them before using a figure</div><div class="qa-conflict-grid">'
            + "".join(cards)
            + "</div></div>"
        )
    return "".join(blocks)


def _meta_line(answer: Answer) -> str:
    parts = [f"LLM: {esc(answer.llm)}" if answer.llm else ""]
    total = answer.timings_ms.get("total")
    if total is not None:
        parts.append(f"{total / 1000:.1f} s" if total >= 1000 else f"{total:.0f} ms")
    if answer.grounded and not answer.abstained:
        parts.append("every figure checked against its source")
    notes = "".join(f'<div class="qa-note">{esc(n)}</div>' for n in answer.notes)
    return notes + '<div class="qa-meta">' + " · ".join(p for p in parts if p) + "</div>"


def render_answer(answer: Answer, turn: int, docs: Mapping[str, SourceDoc] | None = None) -> str:
    """The chat bubble of a final answer (one line of HTML, so markdown leaves it alone)."""
    docs = docs or {}
    text = decorate_answer(answer.answer, answer.figures, answer.citations, turn)
    if answer.abstained:
        return (
            f'<div class="qa-answer qa-abstained" data-state="final" data-turn="{turn}">'
            '<div class="qa-badge">Not in the corpus</div>'
            f'<div class="qa-text">{text}</div>'
            + (
                f'<button type="button" class="show-src" data-turn="{turn}" data-n="{answer.related[0].n}">'
                "Show the closest passages</button>"
                if answer.related
                else ""
            )
            + _meta_line(answer)
            + "</div>"
        )
    badge = '<div class="qa-badge qa-badge-conflict">Sources disagree</div>' if answer.conflicts else ""
    return (
        f'<div class="qa-answer" data-state="final" data-turn="{turn}">{badge}'
        f'<div class="qa-text">{text}</div>'
        + _conflict_block(answer, turn, docs)
        + _figures_strip(answer, turn)
        + _meta_line(answer)
        + "</div>"
    )


def render_pending(draft: str) -> str:
    """The bubble while the answer is being drafted; figures arrive only with the verified answer."""
    body = esc(draft.strip()) if draft.strip() else "Searching the corpus"
    status = "Drafting — figures appear once checked against the sources" if draft.strip() else ""
    return (
        f'<div class="qa-answer qa-pending" data-state="pending"><div class="qa-text">{body}'
        '<span class="qa-cursor" aria-hidden="true">▍</span></div>'
        + (f'<div class="qa-meta">{status}</div>' if status else "")
        + "</div>"
    )


def render_error(message: str) -> str:
    return (
        '<div class="qa-answer qa-error" data-state="error"><div class="qa-badge qa-badge-error">Error</div>'
        f'<div class="qa-text">{esc(message)}</div></div>'
    )


def _emphasize(text: str, figures: Sequence[str]) -> str:
    """Escaped text with the figures it supports underlined, so the eye lands on the number."""
    records = [FigureRecord(f, 0.0, None, []) for f in figures]
    spans = sorted(_figure_spans(text, records), key=lambda s: (s[0], -s[1]))
    out, pos = [], 0
    for start, end, _ in spans:
        if start < pos:
            continue
        out.append(esc(text[pos:start]) + f'<span class="src-fig">{esc(text[start:end])}</span>')
        pos = end
    return "".join(out) + esc(text[pos:])


def _source_card(c: Citation, turn: int, doc: SourceDoc | None, supports: Sequence[str], related: bool = False) -> str:
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
    meta = [esc(doc.date)] if doc and doc.date else []
    meta.append(f'<span class="src-id">{esc(c.doc_id)}</span>')
    meta.append(f"chars {c.start}–{c.end}")
    if supports:
        meta.append("supports " + ", ".join(f"<strong>{esc(s)}</strong>" for s in supports))
    label = "" if related else f'<span class="src-n">{c.n}</span>'
    return (
        f'<div class="src-card{" src-related" if related else ""}" id="src-{turn}-{c.n}" data-n="{c.n}">'
        f'<div class="src-head">{label}<span class="src-title">{esc(c.title)}</span></div>'
        f'<div class="src-meta">{" · ".join(meta)}</div>'
        + (f'<div class="src-warn">{esc(warning)}</div>' if warning else "")
        + f'<div class="src-text">{esc(before)}<mark class="{mark_class}">'
        + _emphasize(cited, supports)
        + "</mark>"
        f"{esc(after)}</div>"
        "</div>"
    )


def render_turn_sources(answer: Answer, turn: int, docs: Mapping[str, SourceDoc]) -> str:
    """One answer's sources: each cited span highlighted in its paragraph; related passages if abstained."""
    head = f'<div class="src-question">Sources for “{esc(clip(answer.question, 120))}”</div>'
    if answer.abstained:
        cards = "".join(_source_card(c, turn, docs.get(c.doc_id), (), related=True) for c in answer.related)
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
            "".join(_source_card(c, turn, docs.get(c.doc_id), supports.get(c.n, ())) for c in answer.citations)
            or '<div class="src-empty">This answer cites no passage.</div>'
        )
    return f'<div class="src-turn" data-turn="{turn}">{head}{body}</div>'


def render_sources(turns: Sequence[tuple[int, str]]) -> str:
    """The sources panel: every kept answer's sources, the latest one shown (markers switch between them)."""
    if not turns:
        return (
            '<div class="src-placeholder"><strong>Sources</strong><br>Ask a question: every figure in the '
            "answer "
            "links to the passage it comes from, highlighted here in its paragraph.</div>"
        )
    last = turns[-1][0]
    return "".join(
        block if turn == last else block.replace('class="src-turn"', 'class="src-turn src-hidden"', 1)
        for turn, block in turns
    )


def document_rows(records: Mapping[str, Any]) -> list[list[Any]]:
    return [
        [
            d.title,
            d.date or "—",
            d.chunks,
            d.ingested_at.replace("T", " ").replace("+00:00", " UTC"),
            d.doc_id,
        ]
        for d in sorted(records.values(), key=lambda d: (d.title.lower(), d.doc_id))
    ]


def format_status(info: Mapping[str, Any]) -> str:
    index, models = info.get("index") or {}, info.get("models") or {}
    parts = [
        f"**{index.get('documents', '?')}** documents",
        f"**{index.get('chunks', '?')}** chunks",
        f"LLM: {models.get('llm', '?')}",
        f"embeddings: {models.get('embedding', '?')}",
    ]
    line = " · ".join(parts)
    if info.get("problems"):
        line += "  \n⚠ " + "; ".join(str(p) for p in info["problems"])
    return line


def backend_choices(settings: Settings) -> list[tuple[str, str]]:
    """LLM backends a person can switch to: the bundled model, none, and remote ones only when configured."""
    from urllib.parse import urlparse

    choices = [("Local: Gemma 3 270M (bundled)", "local"), ("None: extractive, no LLM", "none")]
    if settings.llm_base_url and settings.llm_model:
        host = urlparse(settings.llm_base_url).hostname or "server"  # never show credentials in a URL
        choices.append((f"OpenAI-compatible: {settings.llm_model} @ {host}", "openai-compatible"))
    if settings.llm == "openai" or settings.llm_api_key or os.environ.get("OPENAI_API_KEY"):
        choices.append((f"OpenAI: {settings.llm_model or 'gpt-4o-mini'}", "openai"))
    if settings.llm not in {v for _, v in choices}:
        choices.append((settings.llm, settings.llm))
    return choices


# ---------------------------------------------------------------------------------------------------------
# Gradio app

CSS = """
.gradio-container {max-width: 1400px !important; margin: 0 auto !important}
#title h1 {margin-bottom: 0}
#title p {margin-top: .2em; opacity: .75}
#status {font-size: .9em; opacity: .85}
.qa-answer {line-height: 1.55}
.qa-text {font-size: 1rem}
.qa-answer .fig {font-weight: 700; padding: 0 2px; border-radius: 3px; cursor: pointer;
  background: rgba(250, 204, 21, .22); box-shadow: inset 0 -2px 0 #eab308}
button.cite {display: inline-block; min-width: 1.5em; padding: 0 .4em; margin: 0 2px; border-radius: 9px;
  border: 1px solid var(--color-accent); color: var(--color-accent);
  background: var(--background-fill-primary); font-size: .78em; font-weight: 700; line-height: 1.45;
  vertical-align: .1em; cursor: pointer}
button.cite:hover, button.cite:focus-visible {background: var(--color-accent); color: #fff}
.qa-figs {margin-top: .55em; font-size: .86em; display: flex; flex-wrap: wrap; gap: .35em;
  align-items: center}
.qa-figs-label {font-size: .8em; text-transform: uppercase; letter-spacing: .04em; opacity: .65;
  margin-right: .2em}
.qa-fig {border: 1px solid var(--border-color-primary); border-radius: 6px; padding: .05em .5em;
  background: var(--background-fill-secondary)}
.qa-fig .ok {color: #16a34a; font-weight: 700}
.qa-meta {margin-top: .45em; font-size: .76em; opacity: .65}
.qa-note {margin-top: .35em; font-size: .8em; font-style: italic; opacity: .8}
.show-src {margin-top: .35em; font-size: .82em; padding: .15em .6em; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-primary)}
.show-src:hover {border-color: var(--color-accent); color: var(--color-accent)}
.qa-badge {display: inline-block; font-weight: 700; font-size: .72em; letter-spacing: .05em;
  text-transform: uppercase; padding: .1em .55em; border-radius: 4px; margin-bottom: .35em}
.qa-abstained .qa-badge {background: #fee2e2; color: #991b1b}
.qa-badge-conflict {background: #fef3c7; color: #92400e}
.qa-badge-error {background: #fee2e2; color: #991b1b}
.qa-pending .qa-text {opacity: .75}
.qa-cursor {animation: qa-blink 1s steps(2) infinite; margin-left: 1px}
@keyframes qa-blink {50% {opacity: 0}}
.qa-conflict {margin-top: .6em; border: 1px solid #f59e0b; border-radius: 8px; padding: .55em}
.qa-conflict-head {font-weight: 700; color: #b45309; margin-bottom: .45em; font-size: .92em}
.qa-conflict-grid {display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: .5em}
.qa-conflict-card {border: 1px solid var(--border-color-primary); border-radius: 6px; padding: .5em .6em;
  background: var(--background-fill-secondary)}
.qa-conflict-fig {font-size: 1.35em; font-weight: 800; margin-bottom: .15em}
.qa-conflict-src {font-size: .85em; font-weight: 600}
.qa-conflict-quote {font-size: .82em; opacity: .85; margin-top: .25em}
.qa-date {opacity: .7; font-weight: 400}
#sources {max-height: 72vh; overflow-y: auto; padding-right: 4px}
.src-hidden {display: none}
.src-placeholder {opacity: .7; padding: 1em; border: 1px dashed var(--border-color-primary);
  border-radius: 8px}
.src-question {font-weight: 700; margin: .1em 0 .6em}
.src-abstain {margin-bottom: .6em; padding: .5em .7em; border-radius: 6px; background: #fef2f2;
  color: #7f1d1d}
.src-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6em .75em;
  margin-bottom: .6em; background: var(--background-fill-primary);
  transition: box-shadow .2s, border-color .2s}
.src-card.active {border-color: var(--color-accent); box-shadow: 0 0 0 3px rgba(99, 102, 241, .25)}
.src-head {display: flex; gap: .5em; align-items: baseline}
.src-n {flex: none; min-width: 1.5em; text-align: center; border-radius: 9px; font-size: .8em;
  font-weight: 700;
  background: var(--color-accent); color: #fff; padding: 0 .35em}
.src-title {font-weight: 650}
.src-meta {font-size: .78em; opacity: .7; margin: .15em 0 .45em}
.src-id {font-family: var(--font-mono)}
.src-warn {font-size: .8em; color: #b45309; margin-bottom: .3em}
.src-text {font-size: .9em; line-height: 1.55; white-space: pre-wrap}
.src-related .src-text {opacity: .85}
mark.cited {background: #fde68a; color: #1f2937; padding: 1px 2px; border-radius: 3px; font-weight: 600}
mark.cited .src-fig {text-decoration: underline 2px; text-underline-offset: 3px; font-weight: 800}
mark.related {background: #e5e7eb; color: #1f2937; padding: 1px 2px; border-radius: 3px}
.dark mark.cited {background: #a16207; color: #fff}
.dark mark.related {background: #4b5563; color: #fff}
.dark .src-abstain {background: #450a0a; color: #fecaca}
.examples-row {align-items: center; gap: .4em !important}
.examples-row button {font-size: .82em !important; font-weight: 400 !important}
.examples-label {flex: none !important; min-width: 2.5em !important; opacity: .7}
#doc-status {min-height: 1.5em}
#documents .virtual-row, #documents .virtual-row * {font-family: var(--font) !important}
.src-card.active {animation: src-flash 1.2s ease-out}
@keyframes src-flash {from {background: rgba(253, 230, 138, .55)}
  to {background: var(--background-fill-primary)}}
"""

# One delegated listener: a [n] marker or a bolded figure shows its source card (any turn) in the panel.
JS = """
() => {
  const show = (el) => {
    const turn = el.dataset.turn, n = el.dataset.n;
    const panel = document.getElementById('sources');
    if (!panel || !turn || !n) return;
    panel.querySelectorAll('.src-turn')
      .forEach(t => t.classList.toggle('src-hidden', t.dataset.turn !== turn));
    panel.querySelectorAll('.src-card.active').forEach(c => c.classList.remove('active'));
    const card = panel.querySelector(`.src-turn[data-turn="${turn}"] .src-card[data-n="${n}"]`);
    if (card) {
      card.classList.add('active');
      card.scrollIntoView({block: 'nearest', behavior: 'smooth'});
    }
  };
  document.addEventListener('click', (ev) => {
    const el = ev.target.closest && ev.target.closest('.cite[data-n], .fig[data-n], .show-src[data-n]');
    if (el) { ev.preventDefault(); show(el); }
  });
}
"""


class _Callbacks:
    """Gradio event handlers over one Guarded ChipQA."""

    def __init__(self, guarded: Guarded) -> None:
        self.g = guarded
        self.settings = guarded.settings

    # -- chat --

    def respond(
        self,
        question: str,
        history: list[dict[str, Any]],
        turns: list[tuple[int, str]],
        llm: str,
        top_k: float,
    ) -> Iterator[tuple[Any, ...]]:
        history = list(history or [])
        turns = list(turns or [])
        if not (question or "").strip():
            yield history, render_sources(turns), turns, question
            return
        turn = (turns[-1][0] + 1) if turns else 1
        history.append({"role": "user", "content": esc(question.strip())})
        history.append({"role": "assistant", "content": render_pending("")})
        yield history, render_sources(turns), turns, ""

        tokens: queue.Queue[str | None] = queue.Queue()
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["result"] = self.g.ask(question, top_k=int(top_k), llm=llm or None, on_token=tokens.put)
            except ChipQAError as exc:
                outcome["error"] = str(exc)
            except Exception:
                log.exception("answering %r failed", question[:80])
                outcome["error"] = "internal error; the server log has the details"
            finally:
                tokens.put(None)

        threading.Thread(target=work, name="chipqa-ask", daemon=True).start()
        draft, done = "", False
        while not done:
            item = tokens.get()
            while True:  # take everything already queued, so the UI is not updated once per token
                if item is None:
                    done = True
                    break
                draft += item
                try:
                    item = tokens.get_nowait()
                except queue.Empty:
                    break
            if not done:
                history[-1] = {"role": "assistant", "content": render_pending(draft)}
                yield history, render_sources(turns), turns, ""

        if "error" in outcome:
            history[-1] = {"role": "assistant", "content": render_error(outcome["error"])}
            yield history, render_sources(turns), turns, ""
            return
        answer: Answer = outcome["result"].answer
        docs = self._source_docs(answer)
        history[-1] = {"role": "assistant", "content": render_answer(answer, turn, docs)}
        turns = [*turns, (turn, render_turn_sources(answer, turn, docs))][-KEPT_TURNS:]
        yield history, render_sources(turns), turns, ""

    def _source_docs(self, answer: Answer) -> dict[str, SourceDoc]:
        docs: dict[str, SourceDoc] = {}
        for c in [*answer.citations, *answer.related]:
            if c.doc_id in docs:
                continue
            try:
                record = self.g.app.store.document(c.doc_id)
            except ChipQAError:
                record = None
            docs[c.doc_id] = SourceDoc(record.text, record.date) if record else SourceDoc(None)
        return docs

    # -- status and documents --

    def status(self) -> str:
        return format_status(health(self.g))

    def documents(self) -> tuple[Any, ...]:
        try:
            records = self.g.app.store.documents()
        except ChipQAError as exc:
            return [], gr.update(choices=[]), f"⚠ {esc(exc)}"
        choices = [(f"{d.title[:70]} ({d.doc_id})", d.doc_id) for d in records.values()]
        return document_rows(records), gr.update(choices=sorted(choices), value=None), self.status()

    def upload(
        self,
        files: list[str] | str | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio injects a tracker for this default
    ) -> tuple[Any, ...]:
        paths = [files] if isinstance(files, str) else list(files or [])
        lines: list[str] = []
        saved: list[Path] = []
        max_bytes = int(self.settings.max_upload_mb * 1e6)
        try:
            taken = set(self.g.app.store.documents())
        except ChipQAError as exc:
            return (None, f"✗ {esc(exc)}", *self.documents())
        for raw in paths:
            name = Path(raw).name
            try:
                target = uploads.save_upload(
                    Path(raw),
                    name,
                    self.settings.corpus_dir,
                    self.settings.max_upload_mb,
                    taken,
                    validate=lambda p: _check_loadable(p, max_bytes),
                )
            except ChipQAError as exc:
                lines.append(f"✗ **{esc(name)}**: {esc(exc)}")
                continue
            taken.add(target.stem)
            saved.append(target)
        if saved:

            def report_progress(done: int, total: int, item: str) -> None:
                progress((done, total), desc=f"embedding {item}", unit="chunks")

            progress(0, desc="indexing")
            try:
                report = self.g.ingest(saved, progress=report_progress)
            except ChipQAError as exc:
                lines.append(f"✗ indexing failed: {esc(exc)}")
            else:
                counts = self.g.app.store.documents()
                for doc_id in report.added + report.updated + report.unchanged:
                    verb = "added" if doc_id in report.added else "updated" if doc_id in report.updated else "unchanged"
                    chunks = counts[doc_id].chunks if doc_id in counts else 0
                    lines.append(f"✓ **{esc(doc_id)}** {verb} ({chunks} chunk{'' if chunks == 1 else 's'})")
                lines.extend(f"✗ **{esc(s.path.name)}**: {esc(s.reason)}" for s in report.skipped)
                lines.append(f"Index: {report.total_documents} documents, {report.total_chunks} chunks.")
        return (None, "  \n".join(lines) or "No file received.", *self.documents())

    def remove(self, doc_id: str | None) -> tuple[Any, ...]:
        if not doc_id:
            return ("Choose a document to remove first.", *self.documents())
        try:
            record = self.g.app.store.document(doc_id)
            chunks = self.g.remove(doc_id)
        except ChipQAError as exc:
            return (f"✗ {esc(exc)}", *self.documents())
        message = f"✓ Removed **{esc(doc_id)}** ({chunks} chunks)."
        if record is not None and record.source:
            if uploads.delete_if_inside(self.settings.corpus_dir, record.source):
                message += f" Deleted its file {esc(Path(record.source).name)} from the corpus folder."
            else:
                message += " Its file is outside the corpus folder and was left in place."
        return (message, *self.documents())


def _check_loadable(path: Path, max_bytes: int) -> None:
    from chipqa.ingest.loading import load_document

    load_document(path, max_bytes)


def build_ui(guarded: Guarded) -> gr.Blocks:
    """The Blocks app: Ask (chat, sources, settings) and Documents (table, upload, remove)."""
    settings = guarded.settings
    cb = _Callbacks(guarded)
    with gr.Blocks(title="chipqa", analytics_enabled=False) as demo:
        gr.Markdown(
            "# chipqa\nFigures on AI-chip purchases, each checked against the passage it comes from.",
            elem_id="title",
        )
        status = gr.Markdown("", elem_id="status")
        turns = gr.State([])
        with gr.Tabs():
            with gr.Tab("Ask", id="ask-tab", elem_id="ask-tab"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=420):
                    chat = gr.Chatbot(
                        elem_id="chat",
                        show_label=False,
                        height=560,
                        latex_delimiters=[],
                        feedback_options=None,
                        buttons=[],
                        # Every piece of text in a message is escaped by render_*; the sanitizer
                        # would also strip the data-* attributes that tie [n] markers to their source cards.
                        sanitize_html=False,
                        placeholder="Ask about GPU purchases, AI-chip spending or export rules.",
                    )
                    with gr.Row():
                        question = gr.Textbox(
                            elem_id="question",
                            show_label=False,
                            scale=8,
                            lines=1,
                            max_lines=4,
                            max_length=settings.max_question_chars,
                            autofocus=True,
                            placeholder="e.g. How many Hopper GPUs did Microsoft buy?",
                        )
                        ask = gr.Button("Ask", elem_id="ask", variant="primary", scale=1, min_width=90)
                    with gr.Row(elem_classes="examples-row"):
                        gr.Markdown("Try:", elem_classes="examples-label")
                        example_buttons = [
                            gr.Button(q, size="sm", variant="secondary", elem_classes="example", min_width=120)
                            for q in EXAMPLES
                        ]
                with gr.Column(scale=2, min_width=320):
                    sources = gr.HTML(render_sources([]), elem_id="sources", js_on_load=None)
                    with gr.Accordion("Settings", open=True, elem_id="settings"):
                        llm = gr.Dropdown(
                            backend_choices(settings),
                            value=settings.llm,
                            label="LLM backend",
                            info="Drafts the sentence; figures are always verified against the sources.",
                            elem_id="llm",
                        )
                        top_k = gr.Slider(
                            1,
                            50,
                            value=settings.top_k,
                            step=1,
                            label="Passages retrieved (top-k)",
                            elem_id="top-k",
                        )
                        gr.Markdown("Changes apply to the next question.")
            with gr.Tab("Documents", id="docs-tab", elem_id="docs-tab") as docs_tab:
                gr.Markdown(
                    f"Uploads are saved into the corpus folder `{settings.corpus_dir}` and indexed "
                    f"right away. Accepted: {', '.join(uploads.ALLOWED_SUFFIXES)}, "
                    f"up to {settings.max_upload_mb:g} MB each."
                )
                table = gr.Dataframe(
                    headers=["Title", "Date", "Chunks", "Ingested at", "Doc id"],
                    datatype="str",
                    interactive=False,
                    wrap=True,
                    elem_id="documents",
                    label="Indexed documents",
                    column_widths=["46%", "11%", "8%", "17%", "18%"],
                )
                with gr.Row(equal_height=False):
                    upload = gr.File(
                        label="Add documents",
                        file_types=list(uploads.ALLOWED_SUFFIXES),
                        file_count="multiple",
                        elem_id="upload",
                        height=150,
                    )
                    with gr.Column():
                        remove_choice = gr.Dropdown(
                            [],
                            label="Remove a document",
                            info="Its file is deleted too when it lies in the corpus folder.",
                            elem_id="remove-doc",
                        )
                        remove = gr.Button("Remove from index", variant="stop", elem_id="remove")
                doc_status = gr.Markdown("", elem_id="doc-status")

        chat_io: dict[str, Any] = {
            "inputs": [question, chat, turns, llm, top_k],
            "outputs": [chat, sources, turns, question],
        }
        for trigger in (ask.click, question.submit):
            trigger(cb.respond, **chat_io, show_progress="hidden", api_visibility="private")
        for button, text in zip(example_buttons, EXAMPLES, strict=True):
            button.click(lambda t=text: t, outputs=question, api_visibility="private", queue=False).then(
                cb.respond, **chat_io, show_progress="hidden", api_visibility="private"
            )
        chat.clear(lambda: (render_sources([]), []), outputs=[sources, turns], api_visibility="private")
        docs_outputs = [table, remove_choice, status]
        upload.upload(cb.upload, inputs=upload, outputs=[upload, doc_status, *docs_outputs], api_visibility="private")
        remove.click(cb.remove, inputs=remove_choice, outputs=[doc_status, *docs_outputs], api_visibility="private")
        docs_tab.select(cb.documents, outputs=docs_outputs, api_visibility="private")
        demo.load(cb.documents, outputs=docs_outputs, api_visibility="private")
    return demo


# ---------------------------------------------------------------------------------------------------------
# Server


def _assemble(app: ChipQA, host: str, port: int) -> tuple[FastAPI, gr.Blocks]:
    guarded = Guarded(app)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        # The index build and model loads happen once, off the event loop; requests wait on the lock.
        threading.Thread(target=guarded.warm_up, name="chipqa-warm-up", daemon=True).start()
        yield

    server = FastAPI(
        title="chipqa",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    add_error_handlers(server)
    server.include_router(api_router(guarded))
    add_basic_auth(server, app.settings.ui_auth)
    blocks = build_ui(guarded)
    theme = gr.themes.Default(
        primary_hue="indigo",
        font=["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    )
    gr.mount_gradio_app(
        server,
        blocks,
        path="/",
        server_name=host,
        server_port=port,
        footer_links=["gradio", "settings"],
        max_file_size=int(app.settings.max_upload_mb * 1e6),
        ssr_mode=False,
        mcp_server=False,
        theme=theme,
        css=CSS,
        js=JS,
    )
    return server, blocks


def build_server(app: ChipQA, host: str | None = None, port: int | None = None) -> FastAPI:
    """The FastAPI app: JSON API under /api, the Gradio UI at /, basic auth over both when configured."""
    server, _ = _assemble(app, host or app.settings.ui_host, port or app.settings.ui_port)
    return server


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port") from None


def _configure_logging() -> None:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def serve(app: ChipQA, host: str | None = None, port: int | None = None, share: bool = False) -> None:
    """Run the UI and API in one uvicorn server until interrupted."""
    import uvicorn

    _configure_logging()
    settings = app.settings
    host = host or settings.ui_host
    port = port or settings.ui_port
    _check_port(host, port)
    server_app, blocks = _assemble(app, host, port)
    if settings.ui_auth:
        log.info("basic auth is on for the UI and the API")
    elif not is_loopback(host):
        log.warning(
            "listening on %s without authentication: anyone who can reach it can query and change the index; "
            "set CHIPQA_UI_AUTH=user:password",
            host,
        )
    server = uvicorn.Server(uvicorn.Config(server_app, host=host, port=port, log_level="info"))
    everywhere = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}
    shown = everywhere.get(host) or (f"[{host}]" if ":" in host else host)
    log.info("chipqa UI on http://%s:%d/ — JSON API under /api (docs at /api/docs)", shown, port)
    if share:
        if not settings.ui_auth:
            log.warning("the share link makes this server public; consider CHIPQA_UI_AUTH=user:password")
        threading.Thread(target=_share_link, args=(server, blocks, host, port), daemon=True).start()
    server.run()


def _share_link(server: uvicorn.Server, blocks: gr.Blocks, host: str, port: int) -> None:
    """A public gradio.live tunnel to this server, opened only on request (--share)."""
    from gradio import networking

    while not server.started and not server.should_exit:
        time.sleep(0.1)
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    try:
        url = networking.setup_tunnel(
            local_host=local,
            local_port=port,
            share_token=blocks.share_token,
            share_server_address=None,
            share_server_tls_certificate=None,
        )
    except Exception as exc:  # the tunnel client raises many kinds; the local server keeps running
        log.warning("could not create a share link: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return
    log.info("public share link: %s", url)


@dataclass
class RunningServer:
    """A server started in a background thread (tests, notebooks); stop() shuts it down."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def start_background(app: ChipQA, host: str = "127.0.0.1", port: int = 0, timeout: float = 60.0) -> RunningServer:
    """Start the server in a daemon thread (port 0: any free port) and wait until it accepts connections."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(build_server(app, host, port or None), host=host, port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="chipqa-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the server did not start on {host}:{port}")
        time.sleep(0.05)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return RunningServer(f"http://{host}:{bound}", server, thread)
