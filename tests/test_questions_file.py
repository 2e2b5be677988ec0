"""eval/questions.jsonl is well formed, covers what it promises, and agrees with the seed articles."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from chipqa.core.figures import figure_in_text, parse_figure

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "eval" / "questions.jsonl"
SEEDS = ROOT / "seeds"
REQUIRED = {"id": str, "question": str, "aliases": list, "sources": list, "answerable": bool, "tags": list}
KNOWN_TAGS = {
    "lookup",
    "paraphrase",
    "terse",
    "misspelled",
    "table",
    "comparison",
    "arithmetic",
    "conflict",
    "unanswerable",
    "injection",
}
MINIMUMS = {
    "paraphrase": 5,
    "terse": 4,
    "misspelled": 4,
    "table": 3,
    "comparison": 3,
    "arithmetic": 3,
    "conflict": 2,
    "injection": 2,
    "unanswerable": 10,
}


def _rows() -> list[dict[str, Any]]:
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    rows = []
    for n, line in enumerate(lines, 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            pytest.fail(f"line {n} is not JSON: {exc}")
    return rows


ROWS = _rows()
ANSWERABLE = [r for r in ROWS if r.get("answerable")]


def _seed(doc_id: str) -> str:
    return (SEEDS / f"{doc_id}.txt").read_text(encoding="utf-8")


def test_rows_have_required_fields_and_unique_ids() -> None:
    for row in ROWS:
        for name, kind in REQUIRED.items():
            assert isinstance(row.get(name), kind), f"{row.get('id')}: {name} should be {kind.__name__}"
        assert "expected" in row, row["id"]
        assert set(row["tags"]) <= KNOWN_TAGS, row["id"]
    ids = [r["id"] for r in ROWS]
    assert len(ids) == len(set(ids))
    assert ids == [f"q{i:02d}" for i in range(1, len(ids) + 1)]


def test_counts_meet_minimums() -> None:
    assert len(ROWS) >= 50
    tags = Counter(t for r in ROWS for t in r["tags"])
    short = {t: (tags[t], m) for t, m in MINIMUMS.items() if tags[t] < m}
    assert not short, f"tag: (have, need) {short}"
    money_or_percent = [
        r for r in ANSWERABLE if (f := parse_figure(r["expected"])) is not None and f.kind in {"money", "percent"}
    ]
    assert len(money_or_percent) >= 8


def test_unanswerable_rows() -> None:
    for row in ROWS:
        if not row["answerable"]:
            assert row["expected"] is None and row["sources"] == [] and row["aliases"] == [], row["id"]
        assert ("unanswerable" in row["tags"]) == (not row["answerable"]), row["id"]


@pytest.mark.parametrize("row", ANSWERABLE, ids=[r["id"] for r in ANSWERABLE])
def test_answerable_row_is_backed_by_its_sources(row: dict[str, Any]) -> None:
    assert isinstance(row["expected"], str) and row["expected"], "expected must be a figure string"
    assert row["sources"], "an answerable question names its source documents"
    for value in [row["expected"], *row["aliases"]]:
        assert parse_figure(value) is not None, f"{value!r} does not parse as a figure"
    texts = [_seed(d) for d in row["sources"]]  # a missing file fails here
    if "arithmetic" in row["tags"]:
        # The result is computed, so only its inputs can be looked up.
        for value in row.get("inputs", []):
            fig = parse_figure(value)
            assert fig is not None and any(figure_in_text(fig, t) for t in texts), f"input {value!r} not in sources"
        return
    figures = [f for v in [row["expected"], *row["aliases"]] if (f := parse_figure(v)) is not None]
    found = [f.text for f in figures if any(figure_in_text(f, t) for t in texts)]
    assert found, f"neither {row['expected']!r} nor an alias occurs in {row['sources']}"
