"""Parse and normalize the figures (counts, money, percentages, years) stated in news text.

Pure functions over strings: every `Figure` keeps its exact span, so `text == source[start:end]`.

Conventions beyond the obvious:
- A range such as "5-6%", "$5-6 billion" or "5 to 6 billion" gives two figures; the first takes
  the scale, percent sign and currency it lacks from the second (and the second takes a leading
  currency from the first), so its `text` is just "5" while its value is 5% or $5 billion.
- In a list such as "Meta 224,000, Amazon 196,000 and Google 169,000 units" the bare numbers
  inherit the count noun of the last item.
- Bracketed numbers ("[1]", "[2, 3]", "[20230701](url)") and numbers inside URLs, ISO dates,
  times, fractions and identifiers ("H20", "A100", "910C", "GPT-4", "77th") are not figures.
- A bare single-letter scale that doubles as a product suffix ("B", "T", "m") needs a currency:
  "$7B" is $7 billion, but "910B" and "7B parameters" are not figures. "k", "K" and "M" do not.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from chipqa.core.figure_patterns import (
    CITATION_RE,
    COUNT_AFTER_RE,
    CURRENCY_SYMBOL,
    DATE_DAY_RES,
    FIGURE_RE,
    LETTERS_NEEDING_CURRENCY,
    LIST_GAP_RE,
    MEASURE_AFTER_RE,
    NAME_BEFORE_RE,
    NAME_NUMBER_RE,
    OPENERS,
    OTHER_NOUN_AFTER_RE,
    PRODUCT_AFTER_RE,
    QUALIFIER_ALIASES,
    RANGE_GAP_RE,
    SCALE_LETTERS,
    SCALE_WORDS,
    SKIP_RES,
    SYMBOL_CURRENCY,
    WORD_BEFORE_HYPHEN_RE,
    WORD_CURRENCY,
    YEAR_HYPHEN_WORDS,
    YEN_CURRENCIES,
    YEN_SIGN,
)

Kind = Literal["count", "money", "percent", "year", "number", "measure"]


@dataclass(frozen=True)
class Figure:
    """One figure as written in a text: its exact span, its scaled value and how it was qualified."""

    text: str
    start: int
    end: int
    value: float
    kind: Kind
    currency: str | None
    unit: str | None
    qualifier: str | None
    magnitude_digits: int


@dataclass
class _Raw:
    """A matched figure before kinds and inheritance are settled."""

    start: int
    end: int
    qualifier: str | None
    num: str
    exponent: int | None
    currency: str | None
    percent: bool

    def year_like(self) -> bool:
        return (
            len(self.num) == 4
            and self.num.isdigit()
            and 1900 <= int(self.num) <= 2100
            and self.exponent is None
            and self.currency is None
            and not self.percent
        )


def parse_figures(text: str) -> list[Figure]:
    """All figures in `text`, in order and non-overlapping."""
    skips = [m.span() for regex in SKIP_RES for m in regex.finditer(text)]
    skips += [m.span("day") for regex in DATE_DAY_RES for m in regex.finditer(text)]
    raws = [
        raw
        for match in FIGURE_RE.finditer(text)
        if (raw := _raw_from_match(text, match)) is not None
        and not any(s < raw.end and raw.start < e for s, e in skips)
    ]
    _share_range_parts(text, raws)
    figures = [_finalize(text, raw) for raw in raws]
    taken = [(f.start, f.end) for f in figures] + skips
    from chipqa.core.spelled import fraction_figures, word_figures  # it builds on this module's patterns

    for extra in (*word_figures(text), *fraction_figures(text)):
        if not any(s < extra.end and extra.start < e for s, e in taken):
            figures.append(extra)
            taken.append((extra.start, extra.end))
    figures.sort(key=lambda f: f.start)
    return _share_list_units(text, figures)


def parse_figure(text: str) -> Figure | None:
    """The first figure in a short string such as "485,000" or "$5.5 billion"; None if none."""
    figures = parse_figures(text)
    return figures[0] if figures else None


def same_quantity(a: Figure, b: Figure, rel_tol: float = 1e-6) -> bool:
    """Whether `a` and `b` state the same amount of the same kind of thing, qualifiers aside."""
    return same_family(a, b) and math.isclose(a.value, b.value, rel_tol=rel_tol)


# Round numbers have few significant digits ("$7 billion", "100,000"); half a unit of those would accept
# a different reported figure ($6.8 billion, 60,000), so the tolerance never exceeds 1% of the value.
MAX_RELATIVE_TOLERANCE = 0.01


def matches_expected(expected: str, candidate: Figure) -> bool:
    """Whether `candidate` is within half a unit of `expected`'s last significant figure, at most 1% off."""
    want = parse_figure(expected)
    if want is None or not same_family(want, candidate, strict=False):
        return False
    tolerance = min(_half_unit(want), MAX_RELATIVE_TOLERANCE * abs(want.value)) if want.value else _half_unit(want)
    return abs(candidate.value - want.value) <= tolerance + 1e-9 * abs(want.value)


def figure_in_text(fig: Figure, text: str) -> bool:
    """Whether some figure in `text` states the same quantity as `fig`."""
    return any(same_quantity(fig, other) for other in parse_figures(text))


def strip_citation_markers(text: str) -> str:
    """Blank out "[1]" / "[2, 3]" style markers with spaces of the same length, keeping offsets."""
    return CITATION_RE.sub(lambda m: " " * len(m.group()), text)


def format_value(fig: Figure) -> str:
    """A canonical string for the figure's value: "485,000", "$7 billion", "RMB 5.5 billion", "43%"."""
    if fig.kind == "percent":
        return f"{_plain(Decimal(repr(fig.value)))}%"
    if fig.kind == "year":
        return str(round(fig.value))
    amount = _scaled(Decimal(repr(fig.value)))
    if fig.kind == "money" and fig.currency is not None:
        symbol = CURRENCY_SYMBOL.get(fig.currency)
        return f"{symbol}{amount}" if symbol else f"{fig.currency} {amount}"
    return amount


def _raw_from_match(text: str, match: re.Match[str]) -> _Raw | None:
    """Turn a regex match into a `_Raw`, or None when the digits belong to something else."""
    num_start, num_end = match.span("num")
    pre, sw, sl, post = match.group("pre"), match.group("sw"), match.group("sl"), match.group("post")
    if pre is None and not _clean_start(text, num_start):
        return None
    named = NAME_BEFORE_RE.search(text, max(0, num_start - 30), num_start) if pre is None else None
    if named and NAME_NUMBER_RE.match(match.group("num")) and named.group("word") not in OPENERS:
        return None  # "Horizon 1", "Gaudi 3", "Polaris Forge 2": the number is part of a name
    end = match.end()
    if end < len(text) and (text[end].isalnum() or text[end] == "_"):
        return None
    # After a bare number, ".5", "/7" or ":30" mean a version, a fraction or a time.
    if end == num_end and end + 1 < len(text) and text[end] in "./:" and text[end + 1].isdigit():
        return None
    currency = _currency(pre, post)
    if sl is not None and sl in LETTERS_NEEDING_CURRENCY and currency is None:
        return None
    exponent = SCALE_WORDS[sw.lower()] if sw else SCALE_LETTERS[sl.lower()] if sl else None
    qualifier = match.group("qual") or match.group("tilde")
    return _Raw(
        start=match.start(),
        end=end,
        qualifier=normalize_qualifier(qualifier) if qualifier else None,
        num=match.group("num"),
        exponent=exponent,
        currency=currency,
        percent=match.group("pct") is not None,
    )


def _clean_start(text: str, num_start: int) -> bool:
    """Whether the digits at `num_start` begin a number rather than continue a token."""
    if num_start == 0:
        return True
    prev = text[num_start - 1]
    before = text[num_start - 2] if num_start >= 2 else ""
    if prev.isalnum() or prev in "_/":
        return False
    if prev in ".:" and before.isdigit():
        return False
    if prev == "-":
        word = WORD_BEFORE_HYPHEN_RE.search(text, 0, num_start)
        return word is None or word.group(1).lower() in YEAR_HYPHEN_WORDS
    return True


def _currency(pre: str | None, post: str | None) -> str | None:
    """The ISO-ish code of a currency prefix or suffix, the prefix winning."""
    if pre is not None:
        key = re.sub(r"\s+", "", pre)
        return SYMBOL_CURRENCY.get(key, key)
    if post is not None:
        word = post.split()[-1]
        return WORD_CURRENCY.get(word.lower(), "RMB" if word == "CNY" else word)
    return None


def normalize_qualifier(qualifier: str) -> str:
    """Lower-case the qualifier, collapse its spaces and expand abbreviations."""
    words = " ".join(qualifier.lower().split())
    return QUALIFIER_ALIASES.get(words, words)


def _share_range_parts(text: str, raws: list[_Raw]) -> None:
    """Let "5-6%" and "$5-6 billion" give each end of the range the suffix and currency written once."""
    for a, b in zip(raws, raws[1:], strict=False):
        if not RANGE_GAP_RE.fullmatch(text, a.end, b.start) or a.year_like() or b.year_like():
            continue
        if a.exponent is None and b.exponent is not None and _decimal(a.num) < _decimal(b.num):
            a.exponent = b.exponent
        if b.percent and not a.percent and a.currency is None:
            a.percent = True
        if b.currency is not None and a.currency is None and not a.percent:
            a.currency = b.currency
        if a.currency is not None and b.currency is None and not b.percent:
            b.currency = a.currency


def _finalize(text: str, raw: _Raw) -> Figure:
    """Settle value, kind, unit and significant digits of a matched figure."""
    mantissa = _decimal(raw.num)
    value = float(mantissa.scaleb(raw.exponent) if raw.exponent else mantissa)
    kind: Kind
    unit: str | None = None
    if raw.currency is not None:
        kind, unit = "money", raw.currency
    elif raw.percent:
        kind, unit = "percent", "%"
    else:
        noun = COUNT_AFTER_RE.match(text, raw.end)
        immediate = noun is not None and not noun.group("between")
        product = None if noun is not None or raw.year_like() else PRODUCT_AFTER_RE.match(text, raw.end)
        measure = None if raw.year_like() else MEASURE_AFTER_RE.match(text, raw.end)
        if measure is not None:
            kind, unit = "measure", measure.group("unit")
        elif raw.year_like() and not immediate:
            kind = "year"
        elif noun is not None:
            kind, unit = "count", noun.group("noun")
            # a singular count noun as a modifier counts the plural after it ("7 biggest AI chip deals", "500 GPU
            # clusters")
            modified = OTHER_NOUN_AFTER_RE.match(text, noun.end()) if not unit.lower().endswith("s") else None
            if modified is not None and modified.group("plural"):
                unit = modified.group("plural")
        elif product is not None:
            kind, unit = "count", product.group("noun")
        elif (other := OTHER_NOUN_AFTER_RE.match(text, raw.end)) is not None:
            # "10 neoclouds", "12-high stacks": the number counts or describes that word, whatever the word
            kind = "count" if other.group("plural") else "number"
            unit = other.group("plural") or other.group("compound")
        else:
            kind = "number"
    return Figure(
        text=text[raw.start : raw.end],
        start=raw.start,
        end=raw.end,
        value=value,
        kind=kind,
        currency=raw.currency,
        unit=unit,
        qualifier=raw.qualifier,
        magnitude_digits=4 if kind == "year" else _significant_digits(raw.num),
    )


def _decimal(num: str) -> Decimal:
    """The exact value of a number as written, thousands separators dropped."""
    return Decimal(num.replace(",", ""))


def _significant_digits(num: str) -> int:
    """Significant digits as written; trailing zeros of an integer do not count ("100,000" -> 1)."""
    num = num.replace(",", "")
    digits = num.replace(".", "").lstrip("0") if "." in num else num.strip("0")
    return max(len(digits), 1)


def _share_list_units(text: str, figures: list[Figure]) -> list[Figure]:
    """Give bare numbers listed before a count ("224,000, Amazon 196,000 ... units") its noun."""
    result = list(figures)
    for i in range(len(result) - 2, -1, -1):
        a, b = result[i], result[i + 1]
        if a.kind != "number" or b.kind != "count":
            continue
        if LIST_GAP_RE.fullmatch(text, a.end, b.start) or RANGE_GAP_RE.fullmatch(text, a.end, b.start):
            result[i] = Figure(a.text, a.start, a.end, a.value, "count", None, b.unit, a.qualifier, a.magnitude_digits)
    return result


def currencies_match(a: str | None, b: str | None) -> bool:
    """Whether two currency codes can name the same money ("¥" is either the yen or the yuan)."""
    if a == b:
        return True
    return a is not None and b is not None and YEN_SIGN in (a, b) and {a, b} <= YEN_CURRENCIES


def same_family(a: Figure, b: Figure, *, strict: bool = True) -> bool:
    """Same comparison class: the same currency, both percentages, both counts; `strict=False` lets a year
    compare with a plain number."""
    fa, fb = _family(a, strict=strict), _family(b, strict=strict)
    if fa[0] == fb[0] == "money":
        return currencies_match(fa[1], fb[1])
    return fa == fb


def _family(fig: Figure, *, strict: bool) -> tuple[str, str | None]:
    """The comparison class of a figure; `strict=False` lets years compare with plain numbers."""
    if fig.kind == "money":
        return ("money", fig.currency)
    if fig.kind == "percent":
        return ("percent", None)
    if fig.kind == "year" and strict:
        return ("year", None)
    return ("plain", None)


def _half_unit(fig: Figure) -> float:
    """Half a unit in the place of the figure's last significant digit."""
    if fig.value == 0:
        return 0.5
    leading = math.floor(math.log10(abs(fig.value)) + 1e-9)
    return 0.5 * 10.0 ** (leading - fig.magnitude_digits + 1)


def _plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros."""
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _scaled(value: Decimal) -> str:
    """ "1.5 million" from 1.5e6 when that mantissa has at most five digits, else "1,234,567"."""
    for exponent, word in ((12, "trillion"), (9, "billion"), (6, "million")):
        mantissa = value.scaleb(-exponent).normalize()
        if mantissa >= 1 and len(mantissa.as_tuple().digits) <= 5:
            return f"{_grouped(mantissa)} {word}"
    return _grouped(value)


def _grouped(value: Decimal) -> str:
    """Digits with thousands separators and no trailing zeros: "485,000", "1,234.5"."""
    integral = value.to_integral_value()
    if value == integral:
        return f"{int(integral):,}"
    whole, _, fraction = _plain(value).partition(".")
    return f"{int(whole):,}.{fraction}"
