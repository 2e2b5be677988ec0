"""Eval suites: the suites file, per-suite indexes, the side-by-side table, and open-question scoring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chipqa.core.errors import ConfigError
from chipqa.evaluation.metrics import normalize_phrase, score_question, summarize
from chipqa.evaluation.suites import Suite, load_suites, side_by_side

ROOT = Path(__file__).resolve().parents[1]


def test_the_repo_suites_name_existing_files() -> None:
    suites = {s.name: s for s in load_suites(ROOT / "eval" / "suites.toml")}
    assert list(suites) == ["seeds", "dev-tune", "dev-tune2", "dev-tune3", "dev-test", "dev-test2", "grown"]
    for suite in suites.values():
        assert all((ROOT / p).exists() for p in (*suite.corpus, *suite.questions)), suite.name
    assert set(suites["grown"].questions) >= set(suites["seeds"].questions) | set(suites["dev-test"].questions)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "needs [suite.<name>] tables"),
        ("[suite.x]\ncorpus = []\nquestions = ['q.jsonl']\n", "corpus must be a non-empty list"),
        ("[suite.x]\ncorpus = ['c']\n", "questions must be a non-empty list"),
        ("[suite\n", "cannot read suites file"),
    ],
)
def test_bad_suites_files_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "suites.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_suites(path)


def test_a_suite_key_changes_with_its_corpus() -> None:
    a = Suite("s", "", (Path("seeds"),), (Path("q.jsonl"),))
    b = Suite("s", "", (Path("seeds"), Path("more")), (Path("q.jsonl"),))
    assert a.key != b.key and a.key.startswith("s-")


def _record(answer: str, abstained: bool = False, figures: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"answer": answer, "abstained": abstained, "grounded": True, "figures": figures or [], "citations": []}


def test_open_questions_score_the_phrase_not_a_figure() -> None:
    q = {
        "id": "o1",
        "question": "Where is the Kelso cluster?",
        "expected": "Port Ardent",
        "aliases": ["Ardent"],
        "answerable": True,
        "tags": ["open"],
    }
    assert score_question(q, _record("Port  ardent — “The Kelso cluster sits in Port Ardent.” [1]"))["correct"]
    assert not score_question(q, _record("Port Lorne [1]"))["correct"]
    assert not score_question(q, _record("Port Ardent", abstained=True))["correct"]
    assert normalize_phrase("“Q3 FY26”[2] – late\nOctober") == "q3 fy26 - late october"


def test_a_wrong_figure_shown_as_checked_is_counted() -> None:
    figure = {"text": "9,000", "value": 9000, "unit": None, "citations": [1]}
    lookup = {"id": "f1", "question": "How many?", "expected": "12,000", "answerable": True, "tags": []}
    trap = {"id": "u1", "question": "How many?", "expected": None, "answerable": False, "tags": ["unanswerable"]}
    wrong = score_question(lookup, _record("9,000 [1]", figures=[figure]))
    answered_trap = score_question(trap, _record("9,000 [1]", figures=[figure]))
    right = score_question(lookup, _record("12,000 [1]", figures=[{**figure, "text": "12,000", "value": 12000}]))
    assert wrong["wrong_verified"] and answered_trap["wrong_verified"] and not right["wrong_verified"]
    summary = summarize([wrong, answered_trap, right])
    assert summary["wrong_verified_rate"] == pytest.approx(2 / 3)
    assert summary["figure_accuracy"] == 0.5 and summary["open_accuracy"] is None


def test_side_by_side_has_a_column_per_suite_and_baseline() -> None:
    summary = summarize([])
    payload = {
        "suites": {
            "seeds": {"summary": summary, "baseline": {"summary": summary}},
            "grown": {"summary": summary, "by_file": {"eval/questions.jsonl": summary}},
        }
    }
    head = side_by_side(payload).splitlines()[0]
    assert head == "| metric | seeds | seeds baseline | grown | grown: questions |"
