"""The words around a figure: its clause, a window of words, what it counts, whether it is guidance.

Pure functions of a sentence's text, shared by the features (features.py) and the attribution checks
(attribution.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from chipqa.answering import language as lang
from chipqa.core.figures import Figure
from chipqa.core.text import PERIOD_CODE

HARDWARE = lang.HARDWARE_SINGULAR
_WORD = re.compile(r"[^\W_][\w'’-]*")
_CLAUSE_BREAK = re.compile(
    r"[;:()—–]|,\s*(?:while|whereas|but|and|with|including|compared|up from|down from|versus|against|of which)\b"
    r"|\s(?:while|whereas|but|versus)\s",
    re.IGNORECASE,
)
# A model code ("B300", "MI355X", "NVL72"); a period ("Q4", "H2", "FY26") is none.
CODE = re.compile(
    rf"(?<![\w-])(?!(?:{PERIOD_CODE})(?![\w-]))"
    r"(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z][\w-]*[A-Za-z0-9](?![\w-])"
)


def products(text: str, start: int, end: int) -> list[list[re.Match[str]]]:
    """The model codes in text[start:end], grouped by product: codes written side by side name one product
    ("GB300 NVL72 rack-scale systems")."""
    groups: list[list[re.Match[str]]] = []
    for m in CODE.finditer(text, start, end):
        if groups and not text[groups[-1][-1].end() : m.start()].strip():
            groups[-1].append(m)
        else:
            groups.append([m])
    return groups


SUBPART = re.compile(
    r"\b(of which|including|of that|of this|of them|among them|of these)\s*(?:about |around |some )?$", re.I
)


def guided_before(text: str, fig: Figure) -> bool:
    """Whether the sentence frames the figure as guidance before it ("Guidance for Q3 is revenue of $88 million",
    "X guided to revenue of $170 million, with AI revenue of about $120 million") and no result verb comes
    between; a semicolon ends the framing."""
    before = text[: fig.start].rsplit(";", 1)[-1]
    ends = [m.end() for m in lang.GUIDANCE.finditer(before)]
    return bool(ends) and not _RESULT_VERB.search(before, ends[-1])


_RESULT_VERB = re.compile(r"\b(was|were|reported|posted|came in|rose|fell|grew|totall?ed|reached)\b", re.I)


def unit_fit(unit: str | None, fig: Figure) -> float:
    """1 when a count counts what the question asks (chips for chips, racks for racks), 0 when it counts
    something else, 0.5 when either is unknown."""
    if unit is None or fig.kind not in ("count", "number") or not fig.unit:
        return 0.5
    noun = fig.unit.lower().rstrip("s")
    hardware = noun in HARDWARE or bool(re.search(r"\d", noun))
    if unit == "hardware":
        return 1.0 if hardware else 0.0
    return 1.0 if noun == unit else 0.0


def kind_fit(asks: str, fig: Figure) -> float:
    """1 for the kind asked, 0.5 for a plain number asked as a count, 0 otherwise."""
    if fig.kind == "year":
        return 1.0 if asks == "year" else 0.0
    if asks == "figure":
        return 1.0
    if asks == "count":
        return 1.0 if fig.kind == "count" else 0.5 if fig.kind == "number" else 0.0
    return 1.0 if fig.kind == asks else 0.0


def clause_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause holding text[start:end]: between the nearest breaks (";", "—", ", while", ...) around it."""
    left, right = 0, len(text)
    for m in _CLAUSE_BREAK.finditer(text):
        if m.end() <= start:
            left = m.end()
        elif m.start() >= end:
            right = m.start()
            break
    return left, right


def window(text: str, start: int, end: int, words: int) -> str:
    """Up to `words` words on each side of text[start:end], within the figure's clause."""
    clause_start, clause_end = clause_around(text, start, end)
    before = [m for m in _WORD.finditer(text, clause_start, start)][-words:]
    after = [m for m in _WORD.finditer(text, end, clause_end)][:words]
    left = before[0].start() if before else start
    right = after[-1].end() if after else end
    return text[left:right]


def shared_count(text: str, fig: Figure, figures: Sequence[Figure]) -> Figure | None:
    """The earlier figure whose count noun a bare number shares in a list that leaves the noun out: in "Of the
    5,184 GB300 GPUs in the order, UT Austin will own 2,016, Texas A&M 1,728 and Rice 864", 864 counts GB300
    GPUs too. None when the number says what it counts, or no counted figure comes before it in its clause."""
    if fig.kind != "number" or _NOUN_AFTER.match(text, fig.end):
        return None
    clause_start, _ = clause_around(text, fig.start, fig.end)
    for other in sorted((f for f in figures if clause_start <= f.start and f.end <= fig.start), key=lambda f: -f.start):
        if other.kind == "count":
            return other
        if other.kind != "number":
            return None  # "$95 million, 1,728": another kind of figure stands between
    return None


# A word right after a number that can say what it counts (not "and", "in", "by" or punctuation).
_NOUN_AFTER = re.compile(r"\s*(?!(?:and|or|in|by|at|for|from|to|the|a|an|each|apiece|this|that|last|next)\b)[^\W\d_]")


def modifier_after(text: str, fig: Figure) -> str:
    """The words right after a figure that say what it counts, up to its count noun ("Hopper chips")."""
    rest = text[fig.end : fig.end + 60]
    m = re.match(r"\s*((?:[\w’'.-]+\s+){0,3}[\w’'.-]+)", rest)
    if not m:
        return ""
    words = m.group(1).split()
    out = []
    for i, w in enumerate(words):
        if w.lower() in lang.STOPWORDS and w.lower() not in ("of",):
            break
        out.append(w)
        if w.lower().rstrip("s") in HARDWARE and not (i + 1 < len(words) and CODE.fullmatch(words[i + 1])):
            break  # the count noun ends it, unless a model code follows ("Google TPU v5p chips")
    return " ".join(out)
