"""Tests for chipqa.core.figures: parsing, normalization, comparison and formatting of figures."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chipqa.core.figures import (
    Figure,
    figure_in_text,
    format_value,
    matches_expected,
    parse_figure,
    parse_figures,
    same_quantity,
    strip_citation_markers,
)

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def only(text: str) -> Figure:
    """The single figure of `text`, failing if there is not exactly one."""
    figures = parse_figures(text)
    assert len(figures) == 1, figures
    return figures[0]


def assert_well_formed(text: str, figures: list[Figure]) -> None:
    """Offsets are exact, figures are ordered and disjoint, and fields are consistent."""
    previous_end = 0
    for fig in figures:
        assert text[fig.start : fig.end] == fig.text
        assert previous_end <= fig.start < fig.end
        previous_end = fig.end
        assert math.isfinite(fig.value) and fig.value >= 0
        assert fig.magnitude_digits >= 1
        assert (fig.kind == "money") == (fig.currency is not None)


# --- parsing: what must be found --------------------------------------------------------------

# text, figure text, value, kind, currency, unit, qualifier, significant digits
PARSE_CASES = [
    ("485,000", "485,000", 485_000, "number", None, None, None, 3),
    ("230,000 Hopper GPUs", "230,000", 230_000, "count", None, "GPUs", None, 2),
    ("1.5 million Tensor Processing Units", "1.5 million", 1.5e6, "count", None, "Units", None, 2),
    ("485k", "485k", 485_000, "number", None, None, None, 3),
    ("485K", "485K", 485_000, "number", None, None, None, 3),
    ("485 thousand", "485 thousand", 485_000, "number", None, None, None, 3),
    ("100,000 units", "100,000", 100_000, "count", None, "units", None, 1),
    ("10 years", "10", 10, "number", None, None, None, 1),
    ("224,000", "224,000", 224_000, "number", None, None, None, 3),
    ("485,000 Hopper chips", "485,000", 485_000, "count", None, "chips", None, 3),
    ("$7 billion", "$7 billion", 7e9, "money", "USD", "USD", None, 1),
    ("$7bn", "$7bn", 7e9, "money", "USD", "USD", None, 1),
    ("$7B", "$7B", 7e9, "money", "USD", "USD", None, 1),
    ("US$7 billion", "US$7 billion", 7e9, "money", "USD", "USD", None, 1),
    ("USD 7 billion", "USD 7 billion", 7e9, "money", "USD", "USD", None, 1),
    ("7 billion dollars", "7 billion dollars", 7e9, "money", "USD", "USD", None, 1),
    ("$16 billion", "$16 billion", 16e9, "money", "USD", "USD", None, 2),
    ("$5.5 billion", "$5.5 billion", 5.5e9, "money", "USD", "USD", None, 2),
    ("$4.4 trillion", "$4.4 trillion", 4.4e12, "money", "USD", "USD", None, 2),
    ("RMB 40 billion", "RMB 40 billion", 40e9, "money", "RMB", "RMB", None, 1),
    ("40 billion yuan", "40 billion yuan", 40e9, "money", "RMB", "RMB", None, 1),
    ("¥40bn", "¥40bn", 40e9, "money", "¥", "¥", None, 1),
    ("€3 million", "€3 million", 3e6, "money", "EUR", "EUR", None, 1),
    ("£2 million", "£2 million", 2e6, "money", "GBP", "GBP", None, 1),
    ("$1 billion", "$1 billion", 1e9, "money", "USD", "USD", None, 1),
    ("$500m", "$500m", 500e6, "money", "USD", "USD", None, 1),
    ("$500 million", "$500 million", 500e6, "money", "USD", "USD", None, 1),
    ("$1.2bn", "$1.2bn", 1.2e9, "money", "USD", "USD", None, 2),
    ("43%", "43%", 43, "percent", None, "%", None, 2),
    ("43 percent", "43 percent", 43, "percent", None, "%", None, 2),
    ("43 per cent", "43 per cent", 43, "percent", None, "%", None, 2),
    ("60%", "60%", 60, "percent", None, "%", None, 1),
    ("0.5%", "0.5%", 0.5, "percent", None, "%", None, 1),
    ("around 230,000", "around 230,000", 230_000, "number", None, None, "around", 2),
    (
        "approximately RMB 40 billion",
        "approximately RMB 40 billion",
        40e9,
        "money",
        "RMB",
        "RMB",
        "approximately",
        1,
    ),
    ("more than $12 billion", "more than $12 billion", 12e9, "money", "USD", "USD", "more than", 2),
    ("about 60%", "about 60%", 60, "percent", None, "%", "about", 1),
    ("nearly 1.5 million", "nearly 1.5 million", 1.5e6, "number", None, None, "nearly", 2),
    ("over 100,000", "over 100,000", 100_000, "number", None, None, "over", 1),
    ("up to $2 billion", "up to $2 billion", 2e9, "money", "USD", "USD", "up to", 1),
    ("Almost 5,000 servers", "Almost 5,000", 5_000, "count", None, "servers", "almost", 1),
    ("~230,000", "~230,000", 230_000, "number", None, None, "around", 2),
    ("2024", "2024", 2024, "year", None, None, None, 4),
    ("in 2025", "2025", 2025, "year", None, None, None, 4),
    ("2023", "2023", 2023, "year", None, None, None, 4),
    ("mid-2024", "2024", 2024, "year", None, None, None, 4),
    ("in 2024 Nvidia chips", "2024", 2024, "year", None, None, None, 4),
    ("2000 GPUs", "2000", 2000, "count", None, "GPUs", None, 1),
    ("2,024", "2,024", 2024, "number", None, None, None, 4),
    ("$7-billion deal", "$7-billion", 7e9, "money", "USD", "USD", None, 1),
    ("HK$7 billion", "HK$7 billion", 7e9, "money", "HKD", "HKD", None, 1),
    ("1.50 million", "1.50 million", 1.5e6, "number", None, None, None, 3),
]


@pytest.mark.parametrize(("text", "fig_text", "value", "kind", "currency", "unit", "qualifier", "digits"), PARSE_CASES)
def test_parses_figure(
    text: str,
    fig_text: str,
    value: float,
    kind: str,
    currency: str | None,
    unit: str | None,
    qualifier: str | None,
    digits: int,
) -> None:
    fig = only(text)
    assert (fig.text, fig.kind, fig.currency, fig.unit, fig.qualifier, fig.magnitude_digits) == (
        fig_text,
        kind,
        currency,
        unit,
        qualifier,
        digits,
    )
    assert fig.value == pytest.approx(value, rel=1e-12)
    assert text[fig.start : fig.end] == fig.text


@pytest.mark.parametrize(("text", "fig_text"), [(case[0], case[1]) for case in PARSE_CASES])
def test_offsets_hold_inside_a_sentence(text: str, fig_text: str) -> None:
    sentence = f"Reports said that {text}. Then more."
    fig = parse_figures(sentence)[0]
    assert fig.text == fig_text
    assert sentence[fig.start : fig.end] == fig_text
    assert fig.start == sentence.index(fig_text)


def test_trailing_period_is_not_part_of_the_figure() -> None:
    fig = only("Microsoft bought 485,000.")
    assert fig.text == "485,000"
    assert fig.value == 485_000


def test_list_commas_split_figures_and_share_the_count_noun() -> None:
    text = "Meta acquired 224,000, Amazon 196,000, and Google 169,000 units."
    figures = parse_figures(text)
    assert [f.value for f in figures] == [224_000, 196_000, 169_000]
    assert [f.text for f in figures] == ["224,000", "196,000", "169,000"]
    assert [f.kind for f in figures] == ["count", "count", "count"]
    assert [f.unit for f in figures] == ["units", "units", "units"]
    assert_well_formed(text, figures)


def test_a_word_right_after_a_number_says_what_it_counts_or_describes() -> None:
    figures = {
        f.text: f for f in parse_figures('The list "12 newcomers that bought the most" has 7-bay racks and 40 GPUs.')
    }
    assert (figures["12"].kind, figures["12"].unit) == ("count", "newcomers")
    assert (figures["7"].kind, figures["7"].unit) == ("number", "bay")
    assert (figures["40"].kind, figures["40"].unit) == ("count", "GPUs")
    assert [(f.kind, f.unit) for f in parse_figures("It rose 3 times, to 2 more.")] == [("number", None)] * 2


def test_a_count_noun_may_follow_a_three_word_product_name() -> None:
    figures = {f.text: f for f in parse_figures("It points to 48 Kestrel K9 NVL8 racks, or 384 GPUs.")}
    assert (figures["48"].kind, figures["48"].unit) == ("count", "racks")


def test_a_product_name_with_a_small_number_still_leads_to_the_count_noun() -> None:
    figures = {f.text: f for f in parse_figures("Vantor Labs installed 768 Orrin Fleet 2 boards and 12 racks.")}
    assert (figures["768"].kind, figures["768"].unit) == ("count", "boards")
    assert "2" not in figures  # the product's number is not a figure of its own


def test_percent_range_gives_two_percent_figures() -> None:
    first, second = parse_figures("margins of 5-6% this year")
    assert (first.text, first.kind, first.value) == ("5", "percent", 5.0)
    assert (second.text, second.kind, second.value) == ("6%", "percent", 6.0)


def test_money_range_shares_currency_and_scale() -> None:
    first, second = parse_figures("a budget of $5-6 billion")
    assert (first.text, first.value, first.currency) == ("$5", 5e9, "USD")
    assert (second.text, second.value, second.currency) == ("6 billion", 6e9, "USD")


def test_year_before_to_does_not_borrow_currency() -> None:
    year, money = parse_figures("spending rose in 2024 to $7 billion")
    assert (year.kind, year.value) == ("year", 2024)
    assert (money.kind, money.value) == ("money", 7e9)


def test_count_range_shares_the_noun() -> None:
    low, high = parse_figures("between 200,000-230,000 GPUs")
    assert (low.kind, low.unit, high.unit) == ("count", "GPUs", "GPUs")


# --- parsing: what must not be found ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "H20",
        "A100",
        "H800",
        "910C",
        "910B",
        "MTIA",
        "GPT-4",
        "GPT-4o",
        "MI300X",
        "77th",
        "1st",
        "the 1990s",
        "7nm",
        "7B parameters",
        "the first quarter",
        "https://kghosh.substack.com/p/20230701",
        "[20230701](https://kghosh.substack.com/p/20230701)",
        "chinas-bytedance-has-gobbled-up-dollar1-billion-of-nvidia-gpus",
        "2023-07-01",
        "10:30",
        "version 1.2.3",
        "24/7",
        "[1]",
        "[2, 3]",
    ],
)
def test_identifiers_and_markers_are_not_figures(text: str) -> None:
    assert parse_figures(text) == []
    assert parse_figure(text) is None


def test_identifiers_next_to_figures_leave_them_intact() -> None:
    text = "approximately 100,000 units of Nvidia's A100 and H800 cards, plus the H20"
    assert [f.text for f in parse_figures(text)] == ["approximately 100,000"]


# --- comparison -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("485k", "485,000"),
        ("485 thousand", "485,000"),
        ("$7bn", "$7 billion"),
        ("US$7 billion", "$7 billion"),
        ("7 billion dollars", "$7B"),
        ("43 percent", "43%"),
        ("43 per cent", "43%"),
        ("more than $12 billion", "$12 billion"),
        ("RMB 40 billion", "40 billion yuan"),
        ("¥40bn", "RMB 40 billion"),
        ("230,000 Hopper GPUs", "230,000"),
        ("1.5 million", "1,500,000"),
    ],
)
def test_same_quantity(a: str, b: str) -> None:
    fa, fb = only(a), only(b)
    assert same_quantity(fa, fb)
    assert same_quantity(fb, fa)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("RMB 40 billion", "$40 billion"),
        ("€3 million", "$3 million"),
        ("43%", "43"),
        ("$7 billion", "7 billion"),
        ("2024", "2,024"),
        ("485,000", "486,000"),
    ],
)
def test_different_quantity(a: str, b: str) -> None:
    assert not same_quantity(only(a), only(b))


def test_qualifier_is_kept_but_ignored_by_same_quantity() -> None:
    qualified, bare = only("more than $12 billion"), only("$12 billion")
    assert qualified.qualifier == "more than"
    assert bare.qualifier is None
    assert same_quantity(qualified, bare)


@pytest.mark.parametrize(
    ("expected", "candidate", "ok"),
    [
        ("485,000", "484,500", True),
        ("485,000", "485,500", True),
        ("485,000", "484,499", False),
        ("485,000", "485,501", False),
        ("485,000", "485k", True),
        ("485,000", "$485,000", False),
        ("1.5 million", "1.485 million", True),
        ("1.5 million", "1.515 million", True),
        ("1.5 million", "1.45 million", False),  # capped at 1%
        ("1.5 million", "1.52 million", False),
        ("$7 billion", "$6.93 billion", True),
        ("$7 billion", "$7.07 billion", True),
        ("$7 billion", "$6.8 billion", False),  # a different reported figure
        ("100,000", "60,000", False),
        ("$7 billion", "7 billion", False),
        ("RMB 40 billion", "$40 billion", False),
        ("RMB 40 billion", "approximately RMB 40 billion", True),
        ("$12 billion", "more than $12 billion", True),
        ("more than $12 billion", "$12 billion", True),
        ("43%", "43 percent", True),
        ("43%", "43", False),
        ("43", "43%", False),
        ("0.5%", "0.504%", True),
        ("0.5%", "0.54%", False),
        ("2024", "in 2024", True),
        ("2024", "2025", False),
        ("2,024", "2024", True),
    ],
)
def test_matches_expected(expected: str, candidate: str, ok: bool) -> None:
    assert matches_expected(expected, only(candidate)) is ok


def test_matches_expected_without_a_figure_is_false() -> None:
    assert not matches_expected("unknown", only("485,000"))


def test_figure_in_text() -> None:
    passage = "Microsoft bought 485,000 Hopper chips and ByteDance spent $7bn [1]."
    assert figure_in_text(only("485k"), passage)
    assert figure_in_text(only("$7 billion"), passage)
    assert not figure_in_text(only("RMB 7 billion"), passage)
    assert not figure_in_text(only("1"), passage)


# --- citation markers and formatting ----------------------------------------------------------


def test_strip_citation_markers_keeps_offsets() -> None:
    text = "Microsoft bought 485,000 GPUs [1] for $7bn [2, 3][12]."
    stripped = strip_citation_markers(text)
    assert len(stripped) == len(text)
    assert "[" not in stripped and "]" not in stripped
    assert [f.text for f in parse_figures(stripped)] == ["485,000", "$7bn"]
    assert [(f.start, f.end) for f in parse_figures(stripped)] == [(f.start, f.end) for f in parse_figures(text)]


def test_strip_citation_markers_leaves_other_brackets() -> None:
    text = "see [the report] and [Table 2]"
    assert strip_citation_markers(text) == text


@pytest.mark.parametrize(
    ("text", "formatted"),
    [
        ("485,000 GPUs", "485,000"),
        ("485k", "485,000"),
        ("$7bn", "$7 billion"),
        ("US$7 billion", "$7 billion"),
        ("approximately RMB 5.5 billion", "RMB 5.5 billion"),
        ("43 percent", "43%"),
        ("0.5%", "0.5%"),
        ("1.5 million", "1.5 million"),
        ("2024", "2024"),
        ("$500,000", "$500,000"),
        ("1,234,567", "1,234,567"),
        ("€3 million", "€3 million"),
        ("$4.4 trillion", "$4.4 trillion"),
    ],
)
def test_format_value(text: str, formatted: str) -> None:
    assert format_value(only(text)) == formatted


# --- the seed articles ------------------------------------------------------------------------


def seed_text(prefix: str) -> str:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("prefix", "figure"),
    [
        ("000", "485,000"),
        ("000", "43%"),
        ("000", "1.5 million"),
        ("000", "around 230,000"),
        ("000", "224,000"),
        ("001", "$7 billion"),
        ("002", "$16 billion"),
        ("002", "$5.5 billion"),
        ("003", "around $1 billion"),
        ("003", "approximately 100,000"),
        ("003", "$4.4 trillion"),
        ("004", "more than $12 billion"),
        ("004", "approximately RMB 40 billion"),
        ("004", "$5.5 billion"),
        ("004", "around $6.8 billion"),
        ("004", "about 60%"),
    ],
)
def test_seed_figures_are_found(prefix: str, figure: str) -> None:
    wanted = only(figure)
    found = [f for f in parse_figures(seed_text(prefix)) if f.text == figure]
    assert found, figure
    assert all(same_quantity(f, wanted) and f.qualifier == wanted.qualifier for f in found)


def test_seed_figure_kinds() -> None:
    by_text = {f.text: f for f in parse_figures(seed_text("000"))}
    assert (by_text["485,000"].kind, by_text["485,000"].unit) == ("count", "chips")
    assert (by_text["around 230,000"].kind, by_text["around 230,000"].unit) == ("count", "GPUs")
    assert by_text["1.5 million"].kind == "count"
    assert by_text["43%"].kind == "percent"
    assert by_text["2024"].kind == "year"


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_seed_identifiers_urls_and_ordinals_are_not_figures(prefix: str) -> None:
    text = seed_text(prefix)
    figures = parse_figures(text)
    assert_well_formed(text, figures)
    blocked = re.compile(r"\bH20\b|\bA100\b|\bH800\b|\b910C\b|\b77th\b|\[20230701\]|https?://\S+")
    for match in blocked.finditer(text):
        assert not [f for f in figures if f.start < match.end() and match.start() < f.end], match.group()


def test_seed_passage_grounds_an_answer() -> None:
    passage = seed_text("004")
    for answer in ["more than $12 billion", "RMB 40 billion", "$6.8 billion", "60 percent", "230,000"]:
        assert figure_in_text(only(answer), passage), answer
    assert not figure_in_text(only("$40 billion"), passage)


# --- properties -------------------------------------------------------------------------------

SCALES = [
    (0, ""),
    (3, "k"),
    (3, "K"),
    (3, " thousand"),
    (6, " million"),
    (6, "mn"),
    (6, "M"),
    (9, " billion"),
    (9, "bn"),
    (12, " trillion"),
    (12, "tn"),
]
CURRENCY_SCALES = [(6, "m"), (9, "B")]
PREFIXES = {"$": "USD", "US$": "USD", "RMB ": "RMB", "USD ": "USD", "€": "EUR", "¥": "¥"}
SUFFIXES = {" dollars": "USD", " yuan": "RMB", " euros": "EUR"}
PERCENTS = ["%", " percent", " per cent"]


@st.composite
def rendered_amounts(draw: st.DrawFn) -> tuple[str, Decimal, str | None, bool]:
    """A figure written in one of many news styles, with its exact value, currency and percent flag."""
    whole = draw(st.integers(min_value=0, max_value=999_999))
    mantissa = f"{whole:,}" if draw(st.booleans()) else str(whole)
    fraction = draw(st.one_of(st.just(""), st.integers(min_value=0, max_value=999).map(str)))
    if fraction:
        mantissa += "." + fraction
    value = Decimal(mantissa.replace(",", ""))
    style = draw(st.sampled_from(["plain", "prefix", "suffix", "percent"]))
    if style == "percent":
        return mantissa + draw(st.sampled_from(PERCENTS)), value, None, True
    if style == "prefix":
        prefix = draw(st.sampled_from(sorted(PREFIXES)))
        exponent, scale = draw(st.sampled_from(SCALES + CURRENCY_SCALES))
        return prefix + mantissa + scale, value.scaleb(exponent), PREFIXES[prefix], False
    exponent, scale = draw(st.sampled_from(SCALES))
    if style == "suffix":
        suffix = draw(st.sampled_from(sorted(SUFFIXES)))
        return mantissa + scale + suffix, value.scaleb(exponent), SUFFIXES[suffix], False
    return mantissa + scale, value.scaleb(exponent), None, False


@given(rendered_amounts())
def test_rendered_amounts_parse_to_their_value(amount: tuple[str, Decimal, str | None, bool]) -> None:
    written, value, currency, percent = amount
    sentence = f"The company said {written} on Monday."
    fig = only(sentence)
    assert fig.text == written
    assert fig.value == pytest.approx(float(value), rel=1e-12, abs=0)
    assert fig.currency == currency
    assert (fig.kind == "percent") == percent
    assert (fig.kind == "money") == (currency is not None)


WORDS = [
    "Nvidia", "GPUs", "chips", "units", "H20", "A100", "910C", "GPT-4", "77th", "about", "more", "than",
    "around", "in", "and", "to", "per", "cent", "percent", "%", "$", "US$", "RMB", "yuan", "million",
    "bn", "billion", "k", "B", "-", "~", ",", ".", "(", ")", "[1]", "[2, 3]", "https://x.com/p/2023",
    "485,000", "485k", "1.5", "7", "2024", "12,3456", "0.5", "1.2.3", "24/7", "2023-07-01",
]  # fmt: skip


@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.sampled_from(WORDS),
                st.integers(0, 10**7).map(str),
                st.integers(0, 10**7).map("{:,}".format),
            ),
            st.sampled_from([" ", "", ", ", "-", "\n", "  "]),
        ),
        max_size=30,
    )
)
def test_random_text_gives_exact_disjoint_spans(parts: list[tuple[str, str]]) -> None:
    text = "".join(word + sep for word, sep in parts)
    assert_well_formed(text, parse_figures(text))


@given(st.text(max_size=200))
def test_arbitrary_text_never_breaks_the_parser(text: str) -> None:
    assert_well_formed(text, parse_figures(text))
    assert len(strip_citation_markers(text)) == len(text)


@given(rendered_amounts())
def test_format_value_round_trips_parsed_figures(amount: tuple[str, Decimal, str | None, bool]) -> None:
    fig = only(amount[0])
    again = only(format_value(fig))
    assert same_quantity(fig, again)


@given(
    st.floats(min_value=0, max_value=1e15, allow_nan=False, allow_infinity=False),
    st.sampled_from(["count", "number", "money", "percent"]),
    st.sampled_from(["USD", "RMB", "EUR", "GBP", "JPY", "HKD", "INR"]),
)
def test_format_value_round_trips_any_value(value: float, kind: str, currency: str) -> None:
    money = kind == "money"
    fig = Figure(
        text="",
        start=0,
        end=0,
        value=value,
        kind=kind,  # type: ignore[arg-type]
        currency=currency if money else None,
        unit=currency if money else None,
        qualifier=None,
        magnitude_digits=1,
    )
    again = only(format_value(fig))
    assert same_quantity(fig, again), (fig, format_value(fig), again)


@given(st.integers(min_value=1900, max_value=2100))
def test_format_value_round_trips_years(year: int) -> None:
    fig = only(f"in {year}")
    assert fig.kind == "year"
    assert same_quantity(fig, only(format_value(fig)))
