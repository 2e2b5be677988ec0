"""Compose the answer record: numbered citations of exact spans, the answer text, figures and conflicts.

`Citations` is the one stateful piece of answering: it numbers spans as the answer uses them, reusing a number
for a span already cited.
"""

from __future__ import annotations

from dataclasses import replace

from chipqa.answering.gather import Sentence, TermMatcher, layout_of, left_out
from chipqa.core.figures import Figure
from chipqa.core.models import Answer, Citation, ConflictRecord, FigureRecord, Passage
from chipqa.core.text import clip

# A context sentence this close before the evidence joins its citation as one span; a farther heading is cited
# on its own.
JOIN_CONTEXT_CHARS = 400


class Citations:
    """Numbered citations of exact document spans."""

    def __init__(self) -> None:
        self.items: list[Citation] = []

    def span(self, s: Sentence, start: int, end: int) -> int:
        """The number of the citation of s.doc.text[start:end] (new, or the same span cited before)."""
        for c in self.items:
            if c.doc_id == s.doc_id and c.start == start and c.end == end:
                return c.n
        n = len(self.items) + 1
        self.items.append(
            Citation(n, s.doc_id, s.doc.title, start, end, s.doc.text[start:end], s.doc.source, s.doc.published)
        )
        return n

    def sentence(self, s: Sentence, matcher: TermMatcher | None = None, required: list[int] | None = None) -> list[int]:
        """Cite a sentence, and where a required term is named only elsewhere (the heading, the sentence
        before, a table's header, earlier in the article), cite that too: joined into one span when close."""
        needed: list[tuple[int, int]] = []
        if s.header and s.kind == "table_row":
            header = _header_span(s)
            if header is not None:
                needed.append(header)
        if matcher is not None:
            for i in required or []:
                if matcher.strength(i, s.text) > 0 or any(matcher.strength(i, s.doc.text[a:b]) > 0 for a, b in needed):
                    continue
                holder = _naming_span(s, matcher, i)
                if holder is not None and holder not in needed:
                    needed.append(holder)
        start = s.start
        for sp in sorted(needed):
            if 0 <= s.start - sp[0] <= JOIN_CONTEXT_CHARS and sp[0] < start:
                start = sp[0]
        numbers = [self.span(s, start, s.end)]
        for sp in sorted(needed):
            if sp[0] < start or sp[0] > s.end:
                numbers.append(self.span(s, sp[0], sp[1]))
        return numbers

    def related(self, passages: list[Passage], limit: int = 3) -> list[Citation]:
        """The closest passages, for an abstention (listed as related, not as support)."""
        return [
            Citation(i, p.doc_id, p.title, p.start, p.end, p.text, published=p.date)
            for i, p in enumerate(passages[:limit], 1)
        ]


def _naming_span(s: Sentence, matcher: TermMatcher, i: int) -> tuple[int, int] | None:
    """The nearest span before the sentence that names term i (context first, then earlier sentences, then
    anywhere in the document)."""
    spans = [*reversed(s.before), *([s.heading] if s.heading else [])]
    for a, b in spans:
        if matcher.strength(i, s.doc.text[a:b]) > 0:
            return (a, b)
    layout = layout_of(s.doc.text)
    # never a sentence the index left out as addressed to a model
    sentences = [(a, b) for a, b in layout.sentences if not left_out(s.doc.text, layout, a, b)]
    earlier = [sp for sp in sentences if sp[1] <= s.start]
    for a, b in reversed(earlier):
        if matcher.strength(i, s.doc.text[a:b]) > 0:
            return (a, b)
    for a, b in sentences:
        if a >= s.end and matcher.strength(i, s.doc.text[a:b]) > 0:
            return (a, b)
    return None


def _header_span(s: Sentence) -> tuple[int, int] | None:
    text = s.doc.text
    index = text.rfind(s.header, 0, s.start)
    return (index, index + len(s.header)) if index >= 0 else None


def marks(numbers: list[int]) -> str:
    return "".join(f"[{n}]" for n in dict.fromkeys(numbers))


def phrase(fig: Figure) -> str:
    """A figure as the answer states it, with its count noun when the figure's own text lacks it."""
    if fig.kind in ("count", "number", "measure") and fig.unit and fig.unit.lower() not in fig.text.lower():
        return f"{fig.text} {fig.unit}"
    return fig.text


def record(fig: Figure, numbers: list[int], computed: bool = False, inputs: list[str] | None = None) -> FigureRecord:
    return FigureRecord(fig.text, fig.value, fig.unit, sorted(set(numbers)), computed, inputs or [])


def quote(citations: Citations, n: int, limit: int = 240, sentence: Sentence | None = None) -> str:
    """The cited text in quotes, clipped; with `sentence`, that sentence (the one holding the figure) rather
    than the whole span, which may open with the context that names the subject."""
    text = sentence.text if sentence is not None else citations.items[n - 1].text
    return f"“{clip(text, limit)}”"


def conflict_record(question: str, entries: list[tuple[Figure, list[int], str | None]]) -> ConflictRecord:
    """Figures that differ across sources, earliest publication first (unknown dates last)."""
    ordered = sorted(entries, key=lambda e: (e[2] is None, e[2] or ""))
    return ConflictRecord(question, [record(fig, numbers) for fig, numbers, _ in ordered])


def finish(
    question: str,
    text: str,
    figures: list[FigureRecord],
    citations: Citations,
    llm: str,
    conflicts: list[ConflictRecord] | None = None,
) -> Answer:
    return Answer(
        question=question,
        answer=text,
        abstained=False,
        grounded=True,
        figures=figures,
        citations=list(citations.items),
        conflicts=conflicts or [],
        llm=llm,
    )


def abstention(question: str, reason: str, passages: list[Passage], llm: str) -> Answer:
    return Answer(
        question=question,
        answer=f"{reason} The closest passages are listed as related, not as support.",
        abstained=True,
        grounded=True,
        related=Citations().related(passages),
        llm=llm,
    )


def with_notes(answer: Answer, notes: list[str]) -> Answer:
    return replace(answer, notes=[*answer.notes, *notes])
