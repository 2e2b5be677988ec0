"""The short phrase of a sentence that answers an open question: a name, a place, a date, a model, a reason.

Always a verbatim span of the sentence, so the answer can quote it and verification can find it.
"""

from __future__ import annotations

import re

from chipqa.answering import language as lang
from chipqa.answering.clauses import clause_around
from chipqa.answering.gather import TermMatcher
from chipqa.answering.parties import names_product
from chipqa.answering.understand import Question
from chipqa.core.text import PERIOD_TOKEN, UPPER

_NAME_RUN = re.compile(rf"(?<![\w-]){UPPER}[\w&'’.-]*[^\W_](?:\s+(?:(?:of|de|and|&)\s+)?{UPPER}[\w&'’.-]*[^\W_])*")
_CODE_WORD = re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9][\w-]*[A-Za-z0-9](?![\w-])")
_PLACE = re.compile(
    r"\b(?:in|at|near|outside|inside|from|to|into)\s+(?:(?:its|the|a|an|their|his|her|new|southern|northern"
    rf"|eastern|western|central)\s+)*((?:{UPPER}[\w'’.-]*)(?:[\s-]+(?:{UPPER}[\w'’.-]*|of|de))*)"
)
# Words capitalised at the start of a sentence or as generic labels, which name no party.
_GENERIC_CAPS = frozenset("ai gpu gpus cpu hpc it ceo cfo q1 q2 q3 q4 fy".split())
_NOT_PARTY = frozenset(
    """the a an in on at as for by from with and but or if when while after before its their this that these those
    meanwhile however both each other some many most such analysts sources officials executives company group
    firm yes no q a it he she they we our""".split()
)


def extract(q: Question, text: str, matcher: TermMatcher) -> str | None:
    """The phrase of `text` answering q, or None when the sentence holds no phrase of the kind asked."""
    if q.asks == "time":
        return _time(q, text)
    if q.asks == "year":
        years = [m.group(0) for m in re.finditer(r"\b(?:19|20)\d\d\b", text) if int(m.group(0)) not in _years(q)]
        return years[0] if years else None
    if q.asks == "place":
        return _place(q, text, matcher)
    if q.asks == "party":
        return _party(q, text, matcher)
    if q.asks == "product":
        return _product(text, matcher)
    if q.asks == "reason":
        if re.search(r"\sfor\W*$", q.focus.lower()):  # "What will X use its GPUs for?": a purpose
            return _purpose(text) or _reason(text)
        return _reason(text)
    return _description(text)


def _years(q: Question) -> set[int]:
    return {y for p in q.periods for y in p.years}


def _time(q: Question, text: str) -> str | None:
    asked = {p.text.lower() for p in q.periods}
    found = [m.group(0).strip() for m in lang.TIME_EXPRESSION.finditer(text)]
    # A bare year the question itself names ("in 2025") tells nothing new; prefer fuller dates.
    found = [f for f in found if f.lower() not in asked]
    if not found:
        return None
    return max(found, key=lambda f: (bool(re.search(r"[A-Za-z]", f)), len(f)))


def _is_question_name(name: str, matcher: TermMatcher) -> bool:
    return any(matcher.strength(i, name) > 0 for i in range(len(matcher.terms)))


def _asked_clause(q: Question, text: str, found: list[tuple[str, int, int]]) -> str | None:
    """Of several phrases a sentence offers, the one whose clause shares the most of the question's words
    (IDF-weighted); the first on a tie. "at its Tydal site in Norway, ..., and has an application pending for a
    smaller AI cluster in Ethiopia" answers "Where is the cluster whose application is pending?" with Ethiopia."""
    if not found:
        return None
    weights = dict(zip(q.keywords, q.weights, strict=False))

    def overlap(start: int, end: int) -> float:
        left, right = clause_around(text, start, end)
        return sum(weights.get(k, 0.0) for k in set(lang.content_stems(text[left:right])))

    return max(found, key=lambda f: overlap(f[1], f[2]))[0]  # max keeps the first of equals


def _place(q: Question, text: str, matcher: TermMatcher) -> str | None:
    found = []
    for m in _PLACE.finditer(text):
        name = m.group(1).strip(" .,-")
        words = name.split()
        if not words or words[0].lower() in lang.MONTHS or re.fullmatch(r"Q[1-4]|FY\d+", words[0]):
            continue
        if _is_question_name(name, matcher) or name.lower() in _GENERIC_CAPS:
            continue
        found.append((name, m.start(1), m.end(1)))
    return _asked_clause(q, text, found)


# A role noun between a modifier and a name: "Swedish data-centre company Kallvik Data AB", "Nvidia partner
# CoreWeave". The name after the role is the party; the word before it only describes it.
_ROLE_THEN_NAME = re.compile(
    rf"\s+(?:[a-z][\w-]*\s+){{0,3}}?(?:{'|'.join(sorted(lang.PARTY_NOUNS, key=len, reverse=True))})\s+{UPPER}"
)


def _party(q: Question, text: str, matcher: TermMatcher) -> str | None:
    found = []
    for m in _NAME_RUN.finditer(text):
        if _ROLE_THEN_NAME.match(text, m.end()):
            continue  # a modifier of the name that follows its role noun
        name = m.group(0).strip(" .,")
        first = re.sub(r"['’]s$", "", name.split()[0].lower())
        if first in _NOT_PARTY or first in lang.MONTHS or first in lang.QUESTION_OPENERS:
            rest = name.split(maxsplit=1)
            if len(rest) < 2:
                continue
            name = rest[1]
        generic = (
            name.split()[-1].lower() in lang.HARDWARE_NOUNS  # a product ("Nvidia B200 GPUs"), not a party
            or names_product(text, m.end())  # "Kestrel K9 accelerators"
            or name.lower() in _GENERIC_CAPS
            or name.endswith("-based")
        )
        if _is_question_name(name, matcher) or generic:
            continue
        found.append((re.sub(r"['’]s$", "", name), m.start(), m.end()))
    return _asked_clause(q, text, found)


def _product(text: str, matcher: TermMatcher) -> str | None:
    for m in _CODE_WORD.finditer(text):
        word = m.group(0)
        if (
            PERIOD_TOKEN.fullmatch(word)
            or re.fullmatch(r"\d+(st|nd|rd|th|s|m|bn|k)?", word)
            or _is_question_name(word, matcher)
        ):
            continue
        # "Ascend 910C", "Gaudi 3": take the family name before the code too.
        before = re.search(rf"({UPPER}[^\W\d_]+)\s+$", text[: m.start()])
        return f"{before.group(1)} {word}" if before and not _is_question_name(before.group(1), matcher) else word
    named = re.search(
        rf"\b({UPPER}[^\W\d_]+(?:\s+{UPPER}[^\W\d_]+)?)\s+(?:GPUs?|chips?|accelerators?|processors?)\b", text
    )
    if named and not _is_question_name(named.group(1), matcher):
        return named.group(1)
    return None


def _reason(text: str) -> str | None:
    m = lang.CAUSE.search(text)
    if not m:
        return None
    tail = text[m.start() :].rstrip(" .")
    words = tail.split()
    return " ".join(words[:16]) if len(words) > 16 else tail


# "for inference and fine-tuning rather than training": what something is for, up to the end of its clause
_PURPOSE = re.compile(
    r"\bfor\s+(?![$€£¥\d]|the first\b|the (?:first|second|third|fourth) quarter\b|(?:19|20)\d\d\b)"
    r"([^.;:,()]{3,90}?)(?=\s+(?:rather than|instead of|while|and (?:is|are|was|were|will)|from|at|in)\b|[.;:,()]|$)"
)


def _purpose(text: str) -> str | None:
    m = _PURPOSE.search(text)
    if not m:
        return None
    words = m.group(0).split()
    return " ".join(words[:12])


def _description(text: str) -> str | None:
    words = text.split()
    return text if len(words) <= 40 else " ".join(words[:40])
