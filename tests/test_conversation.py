"""Follow-up resolution on invented conversations about invented companies (and two about the seeds)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chipqa.answering.conversation import Turn, resolve

# Words an invented corpus writes capitalised (what the index's vocabulary would report).
NAMES = {"quintara", "velomar", "orbisoft", "kestrel", "zorblax", "brightwave", "halcyon"}


def ask(history: list[tuple[str, str]], question: str, names: set[str] = NAMES) -> str:
    return resolve(question, [Turn(q, a) for q, a in history], names)


Q1 = ("How many Zorblax accelerators did Quintara Systems buy in 2031?", "Quintara Systems bought 12,000 [1].")


@pytest.mark.parametrize(
    ("follow_up", "resolved"),
    [
        ("And Velomar?", "How many Zorblax accelerators did Velomar buy in 2031?"),
        ("and velomar?", "How many Zorblax accelerators did velomar buy in 2031?"),
        ("Velomar?", "How many Zorblax accelerators did Velomar buy in 2031?"),
        ("What about Velomar and Orbisoft?", "How many Zorblax accelerators did Velomar and Orbisoft buy in 2031?"),
        ("What about 2032?", "How many Zorblax accelerators did Quintara Systems buy in 2032?"),
        ("And in 2029, then?", "How many Zorblax accelerators did Quintara Systems buy in 2029?"),
        ("How about the ZX-900?", "How many ZX-900 accelerators did Quintara Systems buy in 2031?"),
        ("And Velomar in 2032?", "How many Zorblax accelerators did Velomar buy in 2032?"),
        ("How many did it buy?", "How many Zorblax accelerators did Quintara Systems buy?"),
        ("How many did they order in 2030?", "How many Zorblax accelerators did Quintara Systems order in 2030?"),
        ("What did they pay?", "What did Quintara Systems pay?"),
        ("What is its market share?", "What is Quintara Systems' market share?"),
        (
            "How does that compare with Velomar?",
            "How many more Zorblax accelerators did Quintara Systems buy in 2031 than Velomar?",
        ),
        ("Compared to Kestrel?", "How many more Zorblax accelerators did Quintara Systems buy in 2031 than Kestrel?"),
        ("How many did Halcyon buy?", "How many Zorblax accelerators did Halcyon buy?"),
    ],
)
def test_follow_ups_are_resolved_against_the_previous_question(follow_up: str, resolved: str) -> None:
    assert ask([Q1], follow_up) == resolved


def test_currency_and_figure_references() -> None:
    money = ("How much did Orbisoft set aside for Zorblax chips in Brazil?", "BRL 3 billion [1].")
    assert ask([money], "And in dollars?") == "How much did Orbisoft set aside for Zorblax chips in Brazil in dollars?"
    in_usd = "How much did Orbisoft set aside for Zorblax chips in Brazil in USD?"
    assert ask([money], "What was that in USD?") == in_usd
    # "in Brazil" is where, not who: the company slot is Orbisoft's.
    assert ask([money], "And Kestrel?") == "How much did Kestrel set aside for Zorblax chips in Brazil?"
    priced = ("How much did Orbisoft pay in euros?", "")
    assert ask([priced], "And in RMB?") == "How much did Orbisoft pay in RMB?"


def test_a_share_question_compares_by_naming_both() -> None:
    share = ("What share of the accelerator market did Brightwave hold in 2030?", "31% [1].")
    assert ask([share], "And Halcyon?") == "What share of the accelerator market did Halcyon hold in 2030?"
    assert (
        ask([share], "How does that compare with Halcyon?")
        == "What share of the accelerator market did Brightwave hold in 2030, compared with Halcyon?"
    )


def test_a_chain_of_follow_ups_builds_on_the_resolved_ones() -> None:
    history = [Q1, ("And Velomar?", "Velomar bought 9,000 [1].")]
    assert ask(history, "What about 2032?") == "How many Zorblax accelerators did Velomar buy in 2032?"
    # A turn that carries its resolved question is taken as resolved.
    turns = [Turn("And Velomar?", "", "How many Zorblax chips did Velomar buy?")]
    assert resolve("And Kestrel?", turns, NAMES) == "How many Zorblax chips did Kestrel buy?"


def test_it_can_stand_for_the_name_the_previous_answer_gave() -> None:
    history = [("Which company bought the most Zorblax accelerators?", "Halcyon bought 40,000 [1].")]
    assert ask(history, "How many did it buy in 2030?") == "How many did Halcyon buy in 2030?"
    assert ask(history, "What did they pay?") == "What did Halcyon pay?"


@pytest.mark.parametrize(
    "question",
    [
        "How many GPUs did Kestrel buy?",  # a question of its own
        "What share of the market did Brightwave hold in 2030?",
        "Is it true that Halcyon bought 40,000 accelerators?",  # "it" here points at nothing
        "Which company said it would buy the ZX-900?",  # "it" is the company asked about
        "Who sold them?",
        "What is this about?",  # "this" with nothing to carry over
        "And the weather in Lisbon tomorrow morning, will it rain?",
        "What about their plans?",
    ],
)
def test_questions_that_need_no_resolution_come_back_unchanged(question: str) -> None:
    history = [("Which company bought the most accelerators?", "")]
    assert ask(history, question) == question


@pytest.mark.parametrize(
    ("history", "question"),
    [
        # Two companies compared: "And Kestrel?" could replace either.
        ([("How many more accelerators did Velomar buy than Orbisoft?", "")], "And Kestrel?"),
        # The previous question has no subject to swap.
        ([("Which company bought the most accelerators?", "Halcyon.")], "And Kestrel?"),
        # Words the rules do not understand.
        ([Q1], "What about the ones that shipped late?"),
        ([Q1], "And the rest of the market?"),
        # Two years and one given.
        ([("How many units did Velomar ship from 2029 to 2031?", "")], "And 2032?"),
        # No pronoun antecedent anywhere.
        ([("Which firm leads?", "Nobody knows.")], "How many did it buy?"),
    ],
)
def test_unresolvable_follow_ups_are_answered_as_asked(history: list[tuple[str, str]], question: str) -> None:
    assert ask(history, question) == question


def test_no_history_and_empty_questions_are_left_alone() -> None:
    assert resolve("And Velomar?", [], NAMES) == "And Velomar?"
    assert resolve("", [Turn("How many?")], NAMES) == ""


def test_names_are_not_required_but_tell_a_sentence_start_from_a_name() -> None:
    assert ask([Q1], "And Velomar?", names=set()) == "How many Zorblax accelerators did Velomar buy in 2031?"
    roughly = ("Roughly how many ZX-900 chips did Kestrel order?", "")
    assert ask([roughly], "And Velomar?") == "Roughly how many ZX-900 chips did Velomar order?"


def test_the_seed_conversation_of_the_issue() -> None:
    seeds = {"microsoft", "meta", "amazon", "hopper", "bytedance", "tencent", "nvidia", "china"}
    first = ("How many Hopper GPUs did Microsoft buy?", "Microsoft bought 485,000 Hopper GPUs [1].")
    assert ask([first], "And Meta?", seeds) == "How many Hopper GPUs did Meta buy?"
    assert ask([first], "How about the B300?", seeds) == "How many B300 GPUs did Microsoft buy?"
    rmb = ("How much will ByteDance spend on AI chips in China in 2025?", "")
    assert ask([rmb], "And in RMB?", seeds) == "How much will ByteDance spend on AI chips in China in 2025 in RMB?"


_SELF_CONTAINED = st.sampled_from(
    [
        "How many accelerators did {a} buy in {y}?",
        "What share of the market did {a} hold in {y}?",
        "How much did {a} spend on chips in {y}?",
        "Did {a} buy more chips than {b} in {y}?",
    ]
)


@given(
    template=_SELF_CONTAINED,
    a=st.sampled_from(["Velomar", "Orbisoft", "Kestrel Labs", "Halcyon"]),
    b=st.sampled_from(["Quintara", "Brightwave"]),
    y=st.integers(1990, 2060),
)
def test_a_question_that_names_its_subject_is_never_rewritten(template: str, a: str, b: str, y: int) -> None:
    question = template.format(a=a, b=b, y=y)
    assert ask([Q1, ("And Velomar?", "")], question) == question
