"""Eval metrics on hand-built answer records, plus properties over random ones."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chipqa.evaluation.metrics import LOWER_IS_BETTER, check_gate, format_table, percentile, score_question, summarize

MSFT_DOC, META_DOC, BD_DOC = "000_be9f344685327539", "004_78862d07f81b5b90", "001_de7159287c5ef9b5"
MSFT_TEXT = "Microsoft remained the leader in AI hardware, purchasing an impressive 485,000 Hopper chips."
META_TEXT = "Meta acquired 224,000, Amazon 196,000, and Google 169,000 units."
RMB_TEXT = "approximately RMB 40 billion, equivalent to $5.5 billion, specifically for the acquisition of AI chips"
BD_TEXT = "ByteDance is reportedly planning to invest $7 billion in Nvidia AI chips in 2025."
FILLER = "Tencent and ByteDance made significant strides in the AI race."


def question(expected: str | None = "485,000", **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": "q01",
        "question": "How many Hopper GPUs did Microsoft buy?",
        "expected": expected,
        "aliases": [],
        "sources": [MSFT_DOC] if expected is not None else [],
        "answerable": expected is not None,
        "tags": ["lookup"] if expected is not None else ["unanswerable"],
    }
    row.update(kw)
    return row


def cite(n: int, doc_id: str, text: str) -> dict[str, Any]:
    return {"n": n, "doc_id": doc_id, "title": doc_id, "start": 0, "end": len(text), "text": text}


def record(
    answer: str,
    *,
    figures: list[dict[str, Any]] | None = None,
    citations: list[dict[str, Any]] | None = None,
    retrieved: list[tuple[str, str]] | None = None,
    abstained: bool = False,
    grounded: bool = True,
    conflicts: list[dict[str, Any]] | None = None,
    total_ms: float = 100.0,
) -> dict[str, Any]:
    return {
        "question": "q",
        "answer": answer,
        "abstained": abstained,
        "grounded": grounded,
        "figures": figures or [],
        "citations": citations or [],
        "conflicts": conflicts or [],
        "related": [],
        "llm": "fake",
        "timings_ms": {"retrieve": total_ms / 10, "generate": total_ms * 0.8, "total": total_ms},
        "retrieved": [{"doc_id": d, "text": t} for d, t in (retrieved or [])],
    }


def msft_right() -> dict[str, Any]:
    return record(
        "Microsoft bought 485,000 Hopper GPUs in 2024 [1].",
        figures=[{"text": "485,000", "value": 485000, "unit": "GPUs", "citations": [1]}],
        citations=[cite(1, MSFT_DOC, MSFT_TEXT)],
        retrieved=[(MSFT_DOC, MSFT_TEXT), (META_DOC, META_TEXT)],
    )


def test_correct_answer_scores_every_metric() -> None:
    s = score_question(question(), msft_right())
    assert s["correct"] is True and s["failure"] is None
    assert s["hit_at_k"] is True and s["recall_at_k"] == 1.0 and s["rr"] == 1.0
    assert s["evidence_present"] is True
    # The year 2024 is not in the cited passage, yet it is not a figure the answer must ground.
    assert s["citation_precision"] == 1.0 and s["citation_recall"] == 1.0
    assert s["grounded"] is True and s["false_abstention"] is False and s["conflict_found"] is None


def test_wrong_figure_is_incorrect() -> None:
    rec = record(
        "Microsoft bought 224,000 GPUs [1].",
        citations=[cite(1, META_DOC, META_TEXT)],
        retrieved=[(MSFT_DOC, MSFT_TEXT)],
    )
    s = score_question(question(), rec)
    assert s["correct"] is False and s["failure"] == "wrong_figure"
    assert s["citation_recall"] == 1.0  # grounded in what it cites, just the wrong figure


def test_false_abstention() -> None:
    rec = record("The documents do not say.", abstained=True, retrieved=[(MSFT_DOC, MSFT_TEXT)])
    s = score_question(question(), rec)
    assert s["correct"] is False and s["false_abstention"] is True and s["failure"] == "abstained"
    assert s["citation_precision"] is None and s["citation_recall"] is None


def test_retrieval_miss_is_blamed_on_retrieval() -> None:
    rec = record("Microsoft bought 500,000 GPUs.", retrieved=[(BD_DOC, BD_TEXT), (META_DOC, FILLER)])
    s = score_question(question(), rec)
    assert s["hit_at_k"] is False and s["rr"] == 0.0 and s["recall_at_k"] == 0.0
    assert s["evidence_present"] is False and s["failure"] == "retrieval"


def test_answer_text_is_used_when_figures_list_is_empty() -> None:
    rec = record("Microsoft purchased 485k Hopper chips [1].", retrieved=[(MSFT_DOC, MSFT_TEXT)])
    assert score_question(question(), rec)["correct"] is True


def test_listed_figures_take_precedence_over_answer_text() -> None:
    rec = record(
        "Microsoft bought 485,000 GPUs [1].",
        figures=[{"text": "224,000", "value": 224000, "unit": "GPUs", "citations": [1]}],
        retrieved=[(MSFT_DOC, MSFT_TEXT)],
    )
    assert score_question(question(), rec)["correct"] is False


def test_alias_matches() -> None:
    q = question("RMB 40 billion", aliases=["$5.5 billion"], sources=[META_DOC])
    rec = record("ByteDance earmarked $5.5 billion for chips in China [1].", citations=[cite(1, META_DOC, RMB_TEXT)])
    s = score_question(q, rec)
    assert s["correct"] is True and s["citation_recall"] == 1.0


def test_currency_mismatch_is_incorrect() -> None:
    q = question("$7 billion", sources=[BD_DOC])
    rec = record("ByteDance plans to spend RMB 7 billion on Nvidia chips.", retrieved=[(BD_DOC, BD_TEXT)])
    s = score_question(q, rec)
    assert s["correct"] is False and s["failure"] == "wrong_figure"


def test_percent_is_not_a_count() -> None:
    q = question("43%")
    rec = record("Nvidia captured 43 of the market.", retrieved=[(MSFT_DOC, "capturing 43% of total AI hardware")])
    assert score_question(q, rec)["correct"] is False


def test_computed_figure_is_supported_through_its_inputs() -> None:
    q = question("28,000", tags=["arithmetic"], inputs=["224,000", "196,000"])
    computed = {
        "text": "28,000",
        "value": 28000,
        "unit": "GPUs",
        "citations": [1],
        "computed": True,
        "inputs": ["224,000", "196,000"],
    }
    rec = record(
        "Meta bought 28,000 more GPUs than Amazon (224,000 vs 196,000) [1].",
        figures=[computed],
        citations=[cite(1, MSFT_DOC, META_TEXT)],
        retrieved=[(MSFT_DOC, META_TEXT)],
    )
    s = score_question(q, rec)
    assert s["correct"] is True and s["evidence_present"] is True
    assert s["citation_recall"] == 1.0 and s["citation_precision"] == 1.0

    unsupported = dict(rec, citations=[cite(1, MSFT_DOC, MSFT_TEXT)])
    assert score_question(q, unsupported)["citation_recall"] == 0.0
    no_inputs = dict(rec, figures=[dict(computed, inputs=[])], answer="Meta bought 28,000 more [1].")
    assert score_question(q, no_inputs)["citation_recall"] == 0.0


def test_arithmetic_evidence_needs_every_input() -> None:
    q = question("28,000", tags=["arithmetic"], inputs=["224,000", "196,000"])
    rec = record("28,000", retrieved=[(MSFT_DOC, "Meta acquired 224,000 units.")])
    assert score_question(q, rec)["evidence_present"] is False


def test_uncited_figure_fails_citation_recall() -> None:
    s = score_question(question(), record("Microsoft bought 485,000 Hopper GPUs."))
    assert s["correct"] is True
    assert s["citation_precision"] is None and s["citation_recall"] == 0.0


def test_citation_precision_counts_passages_without_a_stated_figure() -> None:
    rec = dict(msft_right(), citations=[cite(1, MSFT_DOC, MSFT_TEXT), cite(2, BD_DOC, FILLER)])
    assert score_question(question(), rec)["citation_precision"] == 0.5


def test_ranks_are_cut_at_k() -> None:
    q = question(sources=[MSFT_DOC, META_DOC])
    rec = record("x", retrieved=[(BD_DOC, FILLER), (MSFT_DOC, MSFT_TEXT)] + [(BD_DOC, FILLER)] * 4 + [(META_DOC, "")])
    s = score_question(q, rec, k=5)
    assert s["rr"] == 0.5 and s["recall_at_k"] == 0.5 and s["hit_at_k"] is True
    assert score_question(q, rec, k=1)["hit_at_k"] is False


@pytest.mark.parametrize(
    ("answer", "abstained", "correct"),
    [
        ("The documents do not say how many GPUs Apple bought.", True, True),
        ("The documents do not say how many GPUs Apple bought in 2024.", True, True),
        ("The sources give only the combined $16 billion order.", True, True),
        ("Not stated, though Microsoft bought 485,000.", True, False),
        ("Apple bought 1 million GPUs.", False, False),
        ("I cannot tell.", False, False),
    ],
)
def test_unanswerable(answer: str, abstained: bool, correct: bool) -> None:
    q = question(None, question="How much of the $16 billion H20 order came from Apple in 2024?")
    s = score_question(q, record(answer, abstained=abstained, retrieved=[(MSFT_DOC, MSFT_TEXT)]))
    assert s["correct"] is correct
    assert s["failure"] == (None if correct else "answered_unanswerable")
    assert s["hit_at_k"] is None and s["evidence_present"] is None and s["false_abstention"] is False


def test_conflict_found_only_for_conflict_questions() -> None:
    q = question("$7 billion", aliases=["$12 billion"], tags=["conflict"], sources=[BD_DOC])
    conflict = {"quantity": "ByteDance 2025 AI spending", "figures": []}
    rec = record("$7 billion [1] or more than $12 billion [2].", conflicts=[conflict])
    assert score_question(q, rec)["conflict_found"] is True
    assert score_question(q, dict(rec, conflicts=[]))["conflict_found"] is False
    assert score_question(q, rec)["false_conflict"] is None


def test_false_conflict_on_questions_that_ask_for_one_figure() -> None:
    conflict = {"quantity": "ByteDance 2025 AI spending", "figures": []}
    q, other = question("$7 billion", sources=[BD_DOC]), question("$7 billion", tags=["conflict"])
    rec = record("$7 billion [1] or more than $12 billion [2].", conflicts=[conflict])
    assert score_question(q, rec)["false_conflict"] is True
    assert score_question(q, dict(rec, conflicts=[]))["false_conflict"] is False
    scored = [score_question(q, rec), score_question(q, dict(rec, conflicts=[])), score_question(other, rec)]
    assert summarize(scored)["false_conflict_rate"] == 0.5
    assert check_gate(summarize(scored), {"false_conflict_rate": 0.25}) == ["false_conflict_rate 0.5 > 0.25"]


def test_year_answer() -> None:
    q = question("2023", sources=[MSFT_DOC])
    assert score_question(q, record("H800 production began in March 2023 [1]."))["correct"] is True
    assert score_question(q, record("It began in 2022."))["failure"] == "retrieval"
    wrong = score_question(q, record("It began in 2022.", retrieved=[(MSFT_DOC, "began in March 2023")]))
    assert wrong["failure"] == "wrong_figure"


def small_run() -> list[dict[str, Any]]:
    unanswerable = question(None, question="How many GPUs did Apple buy?")
    return [
        score_question(question(tags=["lookup", "terse"]), dict(msft_right(), timings_ms={"total": 100.0})),
        score_question(
            question(),
            record("Microsoft bought 1 GPU.", retrieved=[(MSFT_DOC, MSFT_TEXT)], grounded=False, total_ms=200.0),
        ),
        score_question(
            question(),
            record("Not stated.", abstained=True, retrieved=[(MSFT_DOC, MSFT_TEXT)], total_ms=300.0),
        ),
        score_question(unanswerable, record("Not stated.", abstained=True, total_ms=400.0)),
    ]


def test_summarize() -> None:
    s = summarize(small_run())
    assert s["n"] == 4 and s["n_answerable"] == 3 and s["n_unanswerable"] == 1
    assert s["figure_accuracy"] == pytest.approx(1 / 3)
    assert s["abstention_accuracy"] == 1.0
    assert s["false_abstention_rate"] == pytest.approx(1 / 3)
    assert s["hit_at_k"] == 1.0 and s["mrr"] == 1.0 and s["evidence_presence"] == 1.0
    assert s["citation_precision"] == 1.0  # defined for the first answer only
    assert s["citation_recall"] == 0.5  # "1 GPU" cites nothing
    assert s["grounding_rate"] == 0.5  # over the two answers that did not abstain
    assert s["conflict_recall"] is None and s["false_conflict_rate"] == 0.0
    assert s["total_p50_ms"] == 250.0 and s["total_p95_ms"] == pytest.approx(385.0)
    assert s["retrieve_p50_ms"] == 30.0  # of 20, 30, 40: the first record has no retrieve timing
    assert s["by_tag"]["terse"] == {"n": 1, "accuracy": 1.0}
    assert s["by_tag"]["lookup"] == {"n": 3, "accuracy": pytest.approx(1 / 3)}
    assert s["failures"] == {"abstained": 1, "wrong_figure": 1}


def test_summarize_empty() -> None:
    s = summarize([])
    assert s["n"] == 0 and s["figure_accuracy"] is None and s["total_p95_ms"] is None


def test_check_gate() -> None:
    s = summarize(small_run())
    assert check_gate(s, {"abstention_accuracy": 1.0, "hit_at_k": 0.9, "total_p95_ms": 500}) == []
    failures = check_gate(
        s,
        {"figure_accuracy": 0.95, "false_abstention_rate": 0.1, "total_p95_ms": 300, "conflict_recall": 0.5},
    )
    assert failures == [
        "figure_accuracy 0.333 < 0.95",
        "false_abstention_rate 0.333 > 0.1",
        "total_p95_ms 385 > 300",
        "conflict_recall missing (needs >= 0.5)",
    ]


def test_format_table() -> None:
    s = summarize(small_run())
    alone = format_table(s)
    assert alone.splitlines()[0] == "| metric | chipqa |"
    assert "| figure_accuracy | 0.333 |" in alone and "accuracy[terse] (n=1)" in alone
    base = dict(s, figure_accuracy=1 / 6, mrr=0.0)
    table = format_table(s, base)
    assert table.splitlines()[0] == "| metric | chipqa | baseline | ratio chipqa/baseline |"
    assert "| figure_accuracy | 0.333 | 0.167 | 2.00× |" in table
    assert "| mrr | 1.000 | 0.000 | – |" in table
    assert all(line.count("|") == 5 for line in table.splitlines())


def test_percentile() -> None:
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([1, 2, 3, 4], 0) == 1 and percentile([1, 2, 3, 4], 100) == 4
    assert percentile([7], 95) == 7
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1], 101)


# --- properties -----------------------------------------------------------------------------

FIGURE_TEXTS = [
    "485,000",
    "485k",
    "224,000",
    "$7 billion",
    "$5.5 billion",
    "RMB 40 billion",
    "43%",
    "60 percent",
    "1.5 million",
    "2024",
    "100,000",
]
DOCS = [MSFT_DOC, META_DOC, BD_DOC, "003_bad02566dfda79dc"]
texts = st.lists(st.sampled_from(FIGURE_TEXTS + ["GPUs", "Microsoft", "bought", "[1]", "and"]), max_size=8).map(
    " ".join
)


@st.composite
def question_and_record(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    answerable = draw(st.booleans())
    tags = draw(st.lists(st.sampled_from(["lookup", "arithmetic", "conflict", "terse"]), max_size=3, unique=True))
    q = question(
        draw(st.sampled_from(FIGURE_TEXTS)) if answerable else None,
        aliases=draw(st.lists(st.sampled_from(FIGURE_TEXTS), max_size=2)) if answerable else [],
        sources=draw(st.lists(st.sampled_from(DOCS), min_size=1, max_size=3)) if answerable else [],
        tags=tags,
        inputs=draw(st.lists(st.sampled_from(FIGURE_TEXTS), max_size=2)),
    )
    figures = [
        {
            "text": t,
            "value": 0,
            "unit": None,
            "citations": [1],
            "computed": c,
            "inputs": draw(st.lists(st.sampled_from(FIGURE_TEXTS), max_size=2)),
        }
        for t, c in draw(st.lists(st.tuples(st.sampled_from(FIGURE_TEXTS), st.booleans()), max_size=3))
    ]
    rec = record(
        draw(texts),
        figures=figures,
        citations=[
            cite(i + 1, d, t)
            for i, (d, t) in enumerate(draw(st.lists(st.tuples(st.sampled_from(DOCS), texts), max_size=3)))
        ],
        retrieved=draw(st.lists(st.tuples(st.sampled_from(DOCS), texts), max_size=8)),
        abstained=draw(st.booleans()),
        grounded=draw(st.booleans()),
        conflicts=[{"quantity": "x", "figures": []}] if draw(st.booleans()) else [],
        total_ms=draw(st.floats(0, 1e5)),
    )
    return q, rec


UNIT_METRICS = ("recall_at_k", "rr", "citation_precision", "citation_recall")
UNIT_SUMMARY = (
    "figure_accuracy",
    "abstention_accuracy",
    "false_abstention_rate",
    "hit_at_k",
    "recall_at_k",
    "mrr",
    "evidence_presence",
    "citation_precision",
    "citation_recall",
    "grounding_rate",
    "conflict_recall",
    "false_conflict_rate",
)


@settings(max_examples=150, deadline=None)
@given(st.lists(question_and_record(), min_size=1, max_size=6), st.integers(1, 8))
def test_metrics_stay_in_unit_interval(pairs: list[tuple[dict[str, Any], dict[str, Any]]], k: int) -> None:
    scored = [score_question(q, r, k=k) for q, r in pairs]
    for s in scored:
        assert all(s[m] is None or 0.0 <= s[m] <= 1.0 for m in UNIT_METRICS)
        assert (s["failure"] is None) == s["correct"]
        assert not (s["correct"] and s["false_abstention"])
    summary = summarize(scored)
    assert all(summary[m] is None or 0.0 <= summary[m] <= 1.0 for m in UNIT_SUMMARY)
    assert all(0.0 <= t["accuracy"] <= 1.0 for t in summary["by_tag"].values())
    assert sum(summary["failures"].values()) == sum(not s["correct"] for s in scored)
    loosest = {m: float(m in LOWER_IS_BETTER) for m in UNIT_SUMMARY if summary[m] is not None}
    assert check_gate(summary, loosest) == []


@given(
    st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=1, max_size=30),
    st.floats(0, 100),
    st.floats(0, 100),
)
def test_percentile_is_monotonic_and_bounded(values: list[float], p: float, q: float) -> None:
    lo, hi = sorted((p, q))
    assert min(values) <= percentile(values, lo) <= percentile(values, hi) <= max(values)
