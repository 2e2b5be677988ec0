"""Figure forms beyond digits: counts in words, fractions, Indian scales, the yen sign, product-code units."""

from __future__ import annotations

import pytest

from chipqa.core.figures import matches_expected, parse_figure, parse_figures, same_quantity


@pytest.mark.parametrize(
    ("text", "figure", "value", "kind", "unit"),
    [
        ("Orvik ordered fifteen thousand accelerators.", "fifteen thousand", 15_000, "count", "accelerators"),
        (
            "a batch of eleven thousand five hundred and twenty GB300 GPUs",
            "eleven thousand five hundred and twenty",
            11_520,
            "count",
            "GPUs",
        ),
        ("it holds more than four thousand H200s", "more than four thousand", 4_000, "count", "H200s"),
        ("twenty-four thousand MI355X", "twenty-four thousand", 24_000, "count", "MI355X"),
        ("half a million GPUs by 2027", "half a million", 500_000, "count", "GPUs"),
        ("one hundred and twenty racks", "one hundred and twenty", 120, "count", "racks"),
        ("two billion dollars in chips", "two billion dollars", 2e9, "money", "USD"),
        ("24k GB200 and 350k Trainium2", "24k", 24_000, "count", "GB200"),
        ("₹5,300 crore for GPUs", "₹5,300 crore", 5.3e10, "money", "INR"),
        ("a 2 lakh unit order", "2 lakh", 2e5, "count", "unit"),
    ],
)
def test_counts_and_amounts_in_words_and_local_scales(
    text: str, figure: str, value: float, kind: str, unit: str | None
) -> None:
    fig = parse_figures(text)[0]
    assert (fig.text, fig.value, fig.kind, fig.unit) == (figure, value, kind, unit)
    assert text[fig.start : fig.end] == fig.text


@pytest.mark.parametrize(
    ("text", "figure", "value"),
    [
        ("a third of its capacity", "a third", 100 / 3),
        ("two-thirds of revenue came from", "two-thirds", 200 / 3),
        ("three-quarters of the chips", "three-quarters", 75.0),
        ("a fifth of the budget", "a fifth", 20.0),
        ("a quarter of its sales", "a quarter", 25.0),
        ("roughly half went to inference", "roughly half", 50.0),
    ],
)
def test_fractions_read_as_percentages(text: str, figure: str, value: float) -> None:
    fig = parse_figures(text)[0]
    assert (fig.text, fig.kind) == (figure, "percent") and fig.value == pytest.approx(value)


@pytest.mark.parametrize(
    "text",
    [
        "revenue in the second half of 2025",
        "results for the quarter",
        "in a quarter",
        "one of the two labs",
        "Q3 FY26 guidance",
        "the H100 and MI300X",
    ],
)
def test_periods_ordinals_and_product_names_are_not_figures(text: str) -> None:
    assert [f for f in parse_figures(text) if f.kind != "year"] == []


def test_the_yen_sign_matches_yen_and_yuan_but_not_dollars() -> None:
    sign = parse_figure("¥150 billion")
    assert sign is not None and sign.currency == "¥"
    assert same_quantity(sign, parse_figure("150 billion yen"))  # type: ignore[arg-type]
    assert same_quantity(sign, parse_figure("RMB 150 billion"))  # type: ignore[arg-type]
    assert not same_quantity(sign, parse_figure("$150 billion"))  # type: ignore[arg-type]
    assert matches_expected("¥150 billion", parse_figure("150 billion yen"))  # type: ignore[arg-type]


def test_a_year_before_a_product_code_stays_a_year() -> None:
    assert [f.kind for f in parse_figures("In 2025 H100 prices fell; 500 H20 shipped")] == ["year", "count"]


def test_a_count_noun_wins_over_a_product_code_in_between() -> None:
    assert parse_figures("140 GB200 NVL72 racks")[0].unit == "racks"
    assert parse_figures("15,000 MI300X accelerators")[0].unit == "accelerators"


def test_a_singular_count_noun_as_a_modifier_counts_the_plural_after_it() -> None:
    assert parse_figures("# 7 biggest AI chip deals of the year")[0].unit == "deals"
    assert parse_figures("It runs 500 GPU clusters")[0].unit == "clusters"
    assert parse_figures("It bought 4,000 Halo H4 GPU servers")[0].unit == "servers"
    assert parse_figures("It bought 4,000 Halo chips")[0].unit == "chips"
