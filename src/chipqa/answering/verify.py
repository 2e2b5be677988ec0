"""Verify before showing: a draft's claims against its citation, and every figure of the final answer.

The last check of every answer is `unsupported`: each figure the text states must be, after normalization, in
a passage the answer cites, or be a computed figure whose inputs are. A draft of the LLM is shown only when it
states the chosen figure, every figure and name in it is in the cited text (or the question), and it ties the
figure to the question's subject, not to someone else named beside it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from chipqa.answering import language as lang
from chipqa.answering.gather import TermMatcher
from chipqa.core.figures import Figure, parse_figures, same_quantity, strip_citation_markers
from chipqa.core.models import FigureRecord
from chipqa.core.text import UPPER

# Share of a draft's content words that must come from the cited text or the question.
WORDING_SUPPORT = 0.75
_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_REFUSAL = re.compile(
    r"\b(not (mentioned|stated|provided|given|specified)|no information|cannot|can't|unknown|unclear)\b", re.I
)
_NAME = re.compile(rf"(?<![\w-]){UPPER}[\w&'’-]*[^\W_]|(?<![\w-])[A-Za-z]*\d[A-Za-z0-9-]*[A-Za-z][A-Za-z0-9]*")


def cited_numbers(answer: str) -> set[int]:
    """The citation numbers used in the answer's [n] markers."""
    return {int(n) for m in _MARKER.finditer(answer) for n in m.group(1).split(",")}


def stated_figures(answer: str) -> list[Figure]:
    """Figures stated in an answer, citation markers aside."""
    return parse_figures(strip_citation_markers(answer))


def unsupported(
    answer: str, cited_texts: Sequence[str], computed: Sequence[FigureRecord] = (), years_only: int = 0
) -> list[str]:
    """Texts of the figures in `answer` found in none of `cited_texts` and not a declared computed figure.

    The last `years_only` texts (the question) may supply years only: an answer can name the period it was
    asked about, never a figure the question states."""
    support = list(cited_texts[: len(cited_texts) - years_only] if years_only else cited_texts)
    years = list(cited_texts)
    cited_texts = support
    sources = [f for text in cited_texts for f in parse_figures(text)]
    computed_values = {round(c.value, 6) for c in computed if c.computed}
    missing = []
    for fig in stated_figures(answer):
        if fig.kind == "year" and any(fig.text in t for t in years):
            continue
        if any(same_quantity(fig, src) for src in sources) or round(fig.value, 6) in computed_values:
            continue
        missing.append(fig.text)
    return missing


def is_grounded(answer: str, cited_texts: Sequence[str], computed: Sequence[FigureRecord] = ()) -> bool:
    return not unsupported(answer, cited_texts, computed)


def accept_draft(
    draft: str, chosen: Figure | None, cited: str, question: str, matcher: TermMatcher, required: Sequence[int]
) -> str | None:
    """The draft's sentence (citation markers removed) when it may be shown, else None."""
    body = re.sub(r"\s*\[\d+(?:,\s*\d+)*\]", "", draft).strip().strip('"“”')
    if not body or len(body) > 300 or _REFUSAL.search(body) or "?" in body:
        return None
    figures = [f for f in parse_figures(body) if f.kind != "year"]
    if chosen is None:
        if figures:
            return None
    else:
        if not any(same_quantity(f, chosen) for f in figures):
            return None
        if len(figures) != 1:
            return None  # one figure, the verified one: no second figure to misattribute
    if unsupported(body, [cited]):
        return None
    source = f"{cited} {question}"
    for m in _NAME.finditer(body):
        name = m.group(0).rstrip("’'s")
        if m.start() == 0 and name.lower() in lang.STOPWORDS:
            continue
        if name.lower() not in source.lower():
            return None  # a name the citation does not give
    if any(matcher.strength(i, body) == 0 for i in required):
        return None  # the draft must say whose figure it is
    if chosen is not None and not _tied(body, figures[0], matcher, required):
        return None
    if not wording_supported(body, source):
        return None
    return body.rstrip(".") + "."


def _tied(body: str, fig: Figure, matcher: TermMatcher, required: Sequence[int]) -> bool:
    """The figure follows a name of the question with no other name in between ("Orvane Systems is buying
    6,400"), or the draft names no one before it."""
    before = body[: fig.start]
    spans = [sp for i in range(len(matcher.terms)) for sp in matcher.spans(i, before)]
    if not spans:
        return not any(_NAME.finditer(before)) or not required
    last = max(end for _, end, _ in spans)
    between = [m.group(0) for m in _NAME.finditer(before, last)]
    return not between


def wording_supported(draft: str, source: str, threshold: float = WORDING_SUPPORT) -> bool:
    """Most of the draft's content words come from the cited text or the question (no invented claims)."""
    words = lang.content_stems(draft)
    if not words:
        return True
    allowed = set(lang.content_stems(source))
    return sum(w in allowed for w in words) / len(words) >= threshold
