"""The grounding check: every figure an answer states appears in a passage it cites (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from chipqa.core.figures import Figure, parse_figures, same_quantity, strip_citation_markers
from chipqa.core.models import FigureRecord

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def cited_numbers(answer: str) -> set[int]:
    """The citation numbers used in the answer's [n] markers."""
    return {int(n) for m in _MARKER.finditer(answer) for n in m.group(1).split(",")}


def stated_figures(answer: str) -> list[Figure]:
    """Figures stated in an answer, citation markers aside."""
    return parse_figures(strip_citation_markers(answer))


def unsupported(answer: str, cited_texts: list[str], computed: Sequence[FigureRecord] = ()) -> list[str]:
    """Texts of the figures in `answer` found in none of `cited_texts` and not a declared computed figure."""
    sources = [f for text in cited_texts for f in parse_figures(text)]
    computed_values = {round(c.value, 6) for c in computed if c.computed}
    missing = []
    for fig in stated_figures(answer):
        if any(same_quantity(fig, src) for src in sources):
            continue
        if round(fig.value, 6) in computed_values:
            continue
        missing.append(fig.text)
    return missing


def is_grounded(answer: str, cited_texts: list[str], computed: Sequence[FigureRecord] = ()) -> bool:
    return not unsupported(answer, cited_texts, computed)
