"""Figures written in words: counts ("fifteen thousand", "half a million") and fractions ("a third of",
"two-thirds"), each a Figure with its exact span like the digits that `chipqa.core.figures` reads."""

from __future__ import annotations

import re

from chipqa.core.figure_patterns import COUNT_AFTER_RE, PRODUCT_AFTER_RE, QUALIFIERS
from chipqa.core.figures import Figure, Kind, normalize_qualifier

# Counts written in words ("fifteen thousand", "eleven thousand five hundred and twenty", "half a million").
# Only numbers with a scale word are read: "two companies" or "one of" are not figures worth checking.
_UNIT_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
)


_UNITS = {w: i for i, w in enumerate(_UNIT_WORDS.split())}


_TENS_WORDS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety"


_TENS = {w: 10 * i for i, w in enumerate(_TENS_WORDS.split()) if i > 1}


_WORD_SCALES = {"thousand": 3, "million": 6, "billion": 9, "trillion": 12}


_NUMBER_WORD = (
    "(?:" + "|".join(sorted([*_TENS, *_UNITS], key=len, reverse=True)) + ")"
    "(?:-(?:" + "|".join(w for w in _UNITS if _UNITS[w] in range(1, 10)) + "))?"
)


_SCALE_WORD = "(?:hundred|thousand|million|billion|trillion)"


_WORD_FIGURE_RE = re.compile(
    rf"""
    (?:(?<![\w-])(?P<qual>(?i:{QUALIFIERS}))[^\S\n]+)?
    (?<![\w-])
    (?P<words>
        (?i:(?:half[^\S\n]+a|a|{_NUMBER_WORD}))
        (?:(?:[^\S\n]+and[^\S\n]+|[^\S\n]+|-)(?i:{_NUMBER_WORD}|{_SCALE_WORD}))*
    )
    (?![\w-])
    (?:[^\S\n]+(?P<post>(?i:(?:US[^\S\n]+)?dollars|euros|pounds|yen|yuan|won|rupees)(?!\w)))?
    """,
    re.VERBOSE,
)


_POST_WORDS = {
    "dollars": "USD",
    "euros": "EUR",
    "pounds": "GBP",
    "yen": "JPY",
    "yuan": "RMB",
    "won": "KRW",
    "rupees": "INR",
}


def _word_value(words: str) -> tuple[int, int] | None:
    """(value, significant digits) of a number in words, or None unless it holds a scale word."""
    tokens = [t for t in re.split(r"[\s-]+", words.lower()) if t and t != "and"]
    if not any(t in _WORD_SCALES or t == "hundred" for t in tokens):
        return None
    total, current, digits = 0, 0, 0
    for i, token in enumerate(tokens):
        if token == "half" and i + 1 < len(tokens) and tokens[i + 1] == "a":
            current = 0.5  # type: ignore[assignment]  # "half a million"
        elif token == "a":
            if i + 1 >= len(tokens) or tokens[i + 1] not in (*_WORD_SCALES, "hundred"):
                return None
            current = current or 1
        elif token in _UNITS:
            current += _UNITS[token]
            digits += 1
        elif token in _TENS:
            current += _TENS[token]
            digits += 1
        elif token == "hundred":
            current = (current or 1) * 100
        else:
            total += int(current * 10 ** _WORD_SCALES[token])
            current = 0
    value = int(total + current)
    return (value, max(1, len(str(value).rstrip("0")))) if value else None


def word_figures(text: str) -> list[Figure]:
    out = []
    for m in _WORD_FIGURE_RE.finditer(text):
        parsed = _word_value(m.group("words"))
        if parsed is None:
            continue
        value, digits = parsed
        post = m.group("post")
        currency = _POST_WORDS.get(post.lower().split()[-1]) if post else None
        kind: Kind
        unit: str | None = None
        if currency is not None:
            kind, unit = "money", currency
        else:
            noun = COUNT_AFTER_RE.match(text, m.end()) or PRODUCT_AFTER_RE.match(text, m.end())
            kind, unit = ("count", noun.group("noun")) if noun is not None else ("number", None)
        qualifier = m.group("qual")
        out.append(
            Figure(
                text=text[m.start() : m.end()],
                start=m.start(),
                end=m.end(),
                value=float(value),
                kind=kind,
                currency=currency,
                unit=unit,
                qualifier=normalize_qualifier(qualifier) if qualifier else None,
                magnitude_digits=digits,
            )
        )
    return out


# Fractions of a whole ("a third of", "two-thirds of", "roughly half of"): read as percentages.
_FRACTIONS = {
    "half": 50.0,
    "third": 100 / 3,
    "thirds": 100 / 3,
    "quarter": 25.0,
    "quarters": 25.0,
    "fifth": 20.0,
    "fifths": 20.0,
    "tenth": 10.0,
    "tenths": 10.0,
}


_FRACTION_COUNT = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "nine": 9}


_FRACTION_RE = re.compile(
    rf"""
    (?:(?<![\w-])(?P<qual>(?i:{QUALIFIERS}))[^\S\n]+)?
    (?<![\w-])
    (?P<frac>
        (?i:(?P<count>a|one|two|three|four|nine)[^\S\n-]+?|(?P<count2>one|two|three|four|nine)-)
        (?P<part>(?i:thirds?|quarters?|fifths?|tenths?))
      | (?P<half>(?i:half))
    )
    (?=[^\S\n]+(?:of\b|(?:the|its|their|all)\b)|[^\S\n]*[,.;)]|[^\S\n]*$|[^\S\n]+(?:went|goes|is|was|are|were|will|came)\b)
    """,
    re.VERBOSE,
)


# "the second half of 2025", "the first quarter": periods, not fractions.
_PERIOD_BEFORE = re.compile(r"(?i:\b(?:first|second|third|fourth|last|final|1st|2nd|3rd|4th|the|this|next|that|a)\s+)$")


def fraction_figures(text: str) -> list[Figure]:
    out = []
    for m in _FRACTION_RE.finditer(text):
        qualifier = m.group("qual")
        if m.group("half"):
            # A bare "half" is a fraction only when qualified ("roughly half") or followed by "of".
            if not qualifier and not re.match(r"[^\S\n]+of\b", text[m.end() :]):
                continue
            if not qualifier and _PERIOD_BEFORE.search(text, 0, m.start("frac")):
                continue
            value = 50.0
        else:
            count = (m.group("count") or m.group("count2") or "a").lower()
            part = m.group("part").lower()
            if (
                part.startswith("quarter")
                and count == "a"
                and not re.match(r"[^\S\n]+of\b", text[m.end() :])
                and text.strip() != m.group(0).strip()
            ):
                continue  # "a quarter" alone is a period of time
            value = _FRACTION_COUNT[count] * _FRACTIONS[part]
        out.append(
            Figure(
                text=text[m.start() : m.end()],
                start=m.start(),
                end=m.end(),
                value=value,
                kind="percent",
                currency=None,
                unit="%",
                qualifier=normalize_qualifier(qualifier) if qualifier else None,
                magnitude_digits=2,
            )
        )
    return out
