"""Periods: the ones a question names (a year, a quarter, a fiscal year, a month, "next quarter") and whether
a text names the same period or another one."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chipqa.answering import language as lang
from chipqa.core.text import YEAR

_QUARTER = re.compile(
    r"\b(?:q([1-4])|([1-4])q|(first|second|third|fourth|1st|2nd|3rd|4th) (?:fiscal )?quarter)\b", re.IGNORECASE
)


_FISCAL = re.compile(r"\bfy\s*'?(\d{2}|\d{4})\b|\bfiscal(?: year)?\s+'?(\d{2}|\d{4})\b", re.IGNORECASE)


_HALF = re.compile(r"\b(?:h([12])|(first|second) half)\b", re.IGNORECASE)


_MONTH = re.compile(
    r"\b(" + "|".join(lang.MONTHS[:12]) + r")\b(?:\s+\d{1,2}(?!\d),?)?(?:\s+((?:19|20)\d\d))?", re.IGNORECASE
)


_RELATIVE = re.compile(r"\b(last|previous|prior|this|current|next|coming|following)\s+(quarter|year|month)\b", re.I)


@dataclass(frozen=True)
class Period:
    """A period the question names: a year, a quarter, a half, a fiscal year, or "last/next quarter"."""

    text: str
    years: tuple[int, ...] = ()
    quarter: int | None = None
    half: int | None = None
    month: int | None = None
    fiscal: bool = False
    relative: int | None = None  # -1 last, 0 this, +1 next


def question_periods(text: str) -> tuple[Period, ...]:
    out: list[Period] = []
    fiscal = _FISCAL.search(text)
    fiscal_year = None
    if fiscal:
        raw = fiscal.group(1) or fiscal.group(2)
        fiscal_year = int(raw) + (2000 if len(raw) == 2 else 0)
    for m in _QUARTER.finditer(text):
        number = m.group(1) or m.group(2)
        quarter = int(number) if number else lang.ORDINAL_QUARTERS[m.group(3).lower()]
        years = (fiscal_year,) if fiscal_year else tuple(int(y) for y in YEAR.findall(text))
        out.append(Period(m.group(0), years, quarter=quarter, fiscal=fiscal_year is not None))
    for m in _HALF.finditer(text):
        half = int(m.group(1)) if m.group(1) else (1 if m.group(2).lower() == "first" else 2)
        out.append(Period(m.group(0), tuple(int(y) for y in YEAR.findall(text)), half=half))
    for m in _RELATIVE.finditer(text):
        out.append(Period(m.group(0), relative=lang.RELATIVE_PERIODS[m.group(1).lower()]))
    for m in _MONTH.finditer(text):
        year = m.group(2) or next(iter(YEAR.findall(text[m.end() :])), None)
        month = lang.MONTHS.index(m.group(1).lower()) % 12 + 1
        out.append(Period(m.group(0), (int(year),) if year else (), month=month))
    if fiscal_year and not out:
        out.append(Period(fiscal.group(0), (fiscal_year,), fiscal=True))  # type: ignore[union-attr]
    covered = {y for p in out for y in p.years}
    for m in YEAR.finditer(text):
        if int(m.group(0)) not in covered:
            out.append(Period(m.group(0), (int(m.group(0)),)))
    return tuple(out)


_QUARTER_TEXT = re.compile(
    r"\b(?:q([1-4])|([1-4])q|(first|second|third|fourth) (?:fiscal |calendar )?quarter)\b", re.IGNORECASE
)


_FISCAL_TEXT = re.compile(r"\bfy\s*'?(\d{2}|\d{4})\b|\bfiscal(?: year)?\s+'?(\d{2}|\d{4})\b", re.IGNORECASE)


_RELATIVE_TEXT = re.compile(
    r"\b(last|previous|prior|this|current|next|coming|upcoming|following)\s+(quarter|year)", re.I
)


_PERIOD_MENTION = re.compile(
    r"\b(?:q[1-4]\b[^.;\n]{0,12}|fy\s*'?\d{2,4}|fiscal(?: year)? '?\d{2,4}"
    r"|(?:first|second|third|fourth) (?:fiscal )?quarter[^.;\n]{0,20}|(?:19|20)\d\d)",
    re.IGNORECASE,
)


def last_period(text: str) -> str:
    """The last period mentioned in a text, with a little around it ("" when none)."""
    found = list(_PERIOD_MENTION.finditer(text))
    if not found:
        return ""
    m = found[-1]
    return text[max(0, m.start() - 30) : m.end() + 30]


def published_in(p: Period, published: str) -> bool:
    """The question's period is the year (and month) the source was published."""
    year = int(published[:4]) if published[:4].isdigit() else None
    if year is None or not p.years or year not in p.years or p.quarter is not None:
        return False
    return p.month is None or published[5:7] == f"{p.month:02d}"


def period_in(p: Period, text: str) -> bool:
    """Whether a text names the question's period (its year, quarter, fiscal year, month or "next quarter")."""
    low = text.lower()
    years = {int(y) for y in YEAR.findall(text)}
    fiscal = {int(a or b) + (2000 if len(a or b) == 2 else 0) for a, b in _FISCAL_TEXT.findall(text)}
    if p.relative is not None and not p.years and not p.quarter:
        words = {
            -1: ("last", "previous", "prior"),
            0: ("this", "current"),
            1: ("next", "coming", "upcoming", "following"),
        }
        return any(m.group(1).lower() in words[p.relative] for m in _RELATIVE_TEXT.finditer(text))
    if p.quarter is not None:
        quarters = {_quarter_number(m) for m in _QUARTER_TEXT.finditer(text)}
        if p.quarter not in quarters:
            return False
        return not p.years or bool(set(p.years) & (years | fiscal))
    if p.month is not None:
        month = lang.MONTHS[p.month - 1]
        return month in low and (not p.years or bool(set(p.years) & years))
    if p.fiscal:
        return bool(set(p.years) & fiscal)
    return bool(set(p.years) & (years | fiscal))


def period_conflicts(p: Period, text: str) -> bool:
    """Whether a text names a period of the same sort that is not the question's (2024 for 2025, Q2 for Q3,
    March for September)."""
    if p.quarter is not None:
        quarters = {_quarter_number(m) for m in _QUARTER_TEXT.finditer(text)}
        if quarters and p.quarter not in quarters:
            return True
        if not quarters and _ANNUAL.search(text):
            return True  # a whole year's figure ("FY27E revenue", "full-year revenue") for a quarter
        if p.fiscal and p.years:
            fiscal = {int(a or b) + (2000 if len(a or b) == 2 else 0) for a, b in _FISCAL_TEXT.findall(text)}
            return bool(fiscal) and not (fiscal & set(p.years))
        return False
    if p.month is not None:  # "September 2025" against "March 4, 2025" (names written capitalised: not "may")
        months = {lang.MONTHS.index(m.group(0).lower()) + 1 for m in _MONTH_NAME.finditer(text)}
        if months and p.month not in months:
            return True
    if p.years:
        years = {int(y) for y in YEAR.findall(_MATURITY.sub("", text))}
        return bool(years) and not (years & set(p.years))
    return False


# A month named as a name is written, capitalised (not the verb "may").
_MONTH_NAME = re.compile(r"\b(?:" + "|".join(m.title() for m in lang.MONTHS[:12]) + r")\b")
# A figure for a whole year: a fiscal-year estimate or a full-year total.
_ANNUAL = re.compile(r"\bFY\s?'?\d{2,4}E\b|\b(?:full[- ]year|annual|for the (?:fiscal )?year)\b", re.IGNORECASE)
# A bond's maturity names no period of what the sentence reports ("raised $1 billion of notes due 2031 in October").
_MATURITY = re.compile(r"\b(?:due|maturing(?:\s+in)?|matur(?:es|ity)\s+in)\s+(?:19|20)\d\d\b", re.IGNORECASE)


def _quarter_number(m: re.Match[str]) -> int:
    number = m.group(1) or m.group(2)
    return int(number) if number else lang.ORDINAL_QUARTERS[m.group(3).lower()]
