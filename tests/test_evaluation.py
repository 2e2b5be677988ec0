"""The eval harness: question-file validation, the gate, reports, and real runs on the seed index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chipqa.app.service import ChipQA
from chipqa.core.errors import ConfigError, InputError
from chipqa.core.models import Passage
from chipqa.evaluation.baseline import MOCK_LABEL, LlamaIndexBaseline, answer_from_response
from chipqa.evaluation.harness import (
    format_markdown,
    gate_lines,
    git_commit,
    load_gate,
    load_questions,
    run_eval_command,
    summarize_run,
)
from design import ANSWER_KEYS

ROOT = Path(__file__).resolve().parents[1]
MSFT_DOC = "000_be9f344685327539"


def _eval_rows(*ids: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (ROOT / "eval" / "questions.jsonl").read_text().splitlines()]
    by_id = {r["id"]: r for r in rows}
    return [by_id[i] for i in ids]


def _write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def _row(qid: str = "a", **kw: Any) -> dict[str, Any]:
    return {
        "id": qid,
        "question": "How many Hopper chips did Microsoft buy?",
        "expected": "485,000",
        "answerable": True,
        **kw,
    }


# --- the questions file ---------------------------------------------------------------------------


def test_load_questions_skips_blank_lines_and_keeps_rows(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "q.jsonl", [_row("a"), "", _row("b", tags=["lookup"])])
    assert [r["id"] for r in load_questions(path)] == ["a", "b"]


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "q.jsonl", [_row("a"), "", '{"id": "c", "question": '])
    with pytest.raises(InputError, match=r"q\.jsonl line 3: invalid JSON"):
        load_questions(path)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"id": "a", "question": "How many?"}, "line 2: missing required field 'answerable'"),
        ({"question": "How many?", "answerable": False}, "line 2: missing required field 'id'"),
        (_row("a", answerable="yes"), "line 2: field 'answerable' must be true or false"),
        (_row(7), "line 2: field 'id' must be a string"),
        (_row("a", tags="lookup"), "line 2: field 'tags' must be a list"),
        (_row("a", aliases=[485000]), "line 2: field 'aliases' must be a list of strings"),
        (_row("a", question="  "), "line 2: field 'question' is empty"),
        (_row("a", expected=None), "line 2: an answerable question needs 'expected'"),
        (["not", "an", "object"], "line 2: expected a JSON object"),
    ],
)
def test_malformed_rows_name_the_line(tmp_path: Path, row: Any, message: str) -> None:
    path = _write_jsonl(tmp_path / "q.jsonl", [_row("first"), json.dumps(row)])
    with pytest.raises(InputError, match=message):
        load_questions(path)


def test_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "q.jsonl", [_row("a"), _row("b"), _row("a")])
    with pytest.raises(InputError, match=r"line 3: duplicate id 'a' \(first on line 1\)"):
        load_questions(path)


def test_missing_and_empty_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such questions file"):
        load_questions(tmp_path / "absent.jsonl")
    with pytest.raises(InputError, match="holds no questions"):
        load_questions(_write_jsonl(tmp_path / "empty.jsonl", [""]))


def test_the_public_eval_set_loads() -> None:
    rows = load_questions(ROOT / "eval" / "questions.jsonl")
    assert len(rows) >= 50


# --- the gate -------------------------------------------------------------------------------------


def _gate(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gate.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_repo_gate_holds_grounding_at_one_for_every_question() -> None:
    gate = load_gate(ROOT / "eval" / "gate.toml")
    assert "all" in gate
    assert gate["all"]["grounding_rate"] == 1.0
    assert all(scope["grounding_rate"] == 1.0 for scope in gate.values() if "grounding_rate" in scope)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[gate.core]\nfigure_acuracy = 0.9\n", "figure_acuracy is not a metric"),
        ("[gate.core]\nfigure_accuracy = 'high'\n", "must be a number"),
        ("[gate]\nfigure_accuracy = 0.9\n", "must be a table of metric thresholds"),
        ("[gate.core\n", "cannot read gate file"),
        ("[other]\n", "needs \\[gate.core\\]"),
    ],
)
def test_bad_gate_files_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_gate(_gate(tmp_path, text))


def _scored(qid: str, correct: bool, answerable: bool = True, tags: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "id": qid,
        "tags": list(tags),
        "answerable": answerable,
        "correct": correct,
        "abstained": not answerable,
        "false_abstention": False,
        "grounded": True,
        "failure": None if correct else "wrong_figure",
        "timings_ms": {"retrieve": 5.0, "generate": 0.0, "total": 6.0},
    }


def test_core_excludes_stretch_and_each_scope_is_gated_on_its_own() -> None:
    summary = summarize_run([_scored("a", True), _scored("b", True), _scored("s", False, tags=("stretch",))], k=10)
    assert (summary["n"], summary["n_core"], summary["n_stretch"]) == (3, 2, 1)
    assert summary["core"]["figure_accuracy"] == 1.0
    assert summary["figure_accuracy"] == pytest.approx(2 / 3)

    lines, passed = gate_lines(summary, {"core": {"figure_accuracy": 0.95}, "all": {"figure_accuracy": 0.6}})
    assert passed and len(lines) == 2
    lines, passed = gate_lines(summary, {"all": {"figure_accuracy": 0.95, "total_p50_ms": 5.0}})
    assert not passed
    assert [line for line in lines if "FAIL" in line] == [
        "gate [all] FAIL figure_accuracy 0.667 < 0.95",
        "gate [all] FAIL total_p50_ms 6 > 5",
    ]


def test_a_metric_the_questions_cannot_measure_is_skipped_not_failed() -> None:
    summary = summarize_run([_scored("a", True)], k=10)  # no unanswerable question
    lines, passed = gate_lines(summary, {"all": {"abstention_accuracy": 0.9}})
    assert passed
    assert lines == ["gate [all] abstention_accuracy: not measured on these questions (skipped)"]


# --- the plain-LlamaIndex answer record (pure part) -------------------------------------------------


def _passage(text: str, doc_id: str = MSFT_DOC) -> Passage:
    return Passage(doc_id=doc_id, title="t", start=0, end=len(text), text=text, score=0.5)


def test_baseline_record_lists_non_year_figures_citing_every_source() -> None:
    passages = [
        _passage("Microsoft bought 485,000 Hopper chips in 2024."),
        _passage("Meta acquired 224,000."),
    ]
    answer = answer_from_response("q?", " Microsoft bought 485,000 chips in 2024.\n", passages, "x", {"total": 1.0})
    assert answer.answer == "Microsoft bought 485,000 chips in 2024."
    assert [(f.text, f.citations) for f in answer.figures] == [("485,000", [1, 2])]
    assert [c.n for c in answer.citations] == [1, 2] and answer.citations[1].text == "Meta acquired 224,000."
    assert answer.grounded and not answer.abstained


def test_baseline_record_flags_an_unsupported_figure_and_detects_refusals() -> None:
    passages = [_passage("Microsoft bought 485,000 Hopper chips in 2024.")]
    made_up = answer_from_response("q?", "Microsoft bought 500,000 chips.", passages, "x", {})
    assert not made_up.grounded and not made_up.abstained
    for text in ("The context does not mention Apple's purchases in 2024.", "Empty Response", ""):
        refusal = answer_from_response("q?", text, passages, "x", {})
        assert refusal.abstained and refusal.grounded and not refusal.figures, text
    rambling = answer_from_response("q?", "Apple bought chips.", passages, "x", {})
    assert not rambling.abstained


# --- real runs on the seed index (no LLM) -----------------------------------------------------------


@pytest.fixture
def eval_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory outside any git checkout, so reports land in tmp_path/eval/reports."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _questions(eval_dir: Path) -> Path:
    rows = _eval_rows("q01", "q06", "q56")
    stretch = dict(_eval_rows("q05")[0], id="s1", tags=["paraphrase", "stretch"])
    return _write_jsonl(eval_dir / "questions.jsonl", [*rows, stretch])


def test_eval_run_writes_output_reports_and_history(
    seed_app: ChipQA, eval_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = _questions(eval_dir)
    gate = _gate(eval_dir, "[gate.core]\ngrounding_rate = 1.0\n[gate.all]\ngrounding_rate = 1.0\n")
    out = eval_dir / "out" / "result.json"

    code = run_eval_command(seed_app, questions, out, llm="none", gate_path=gate)

    printed = capsys.readouterr().out
    assert code == 0
    assert "| figure_accuracy |" in printed and 'core 3 (without tag "stretch") + stretch 1' in printed
    assert "gate: PASS" in printed
    payload = json.loads(out.read_text())
    assert set(payload) >= {"summary", "results", "meta", "gate"} and "baseline" not in payload
    summary, results = payload["summary"], payload["results"]
    assert summary["n"] == 4 and summary["core"]["n"] == 3
    assert [r["id"] for r in results] == ["q01", "q06", "q56", "s1"]
    for r in results:
        assert ANSWER_KEYS - {"conflicts"} <= set(r)
        assert {"correct", "failure", "hit_at_k", "citation_recall"} <= set(r)
        assert r["retrieved"] and "text" not in r["retrieved"][0]
    first = results[0]
    assert first["correct"] is True and first["figures"][0]["text"] == "485,000"
    doc = seed_app.store.document(first["citations"][0]["doc_id"])
    assert doc is not None
    assert all(doc.text[c["start"] : c["end"]] == c["text"] for c in first["citations"] if c["doc_id"] == doc.doc_id)
    unanswerable = results[2]
    assert unanswerable["answerable"] is False and (unanswerable["failure"] is None) == unanswerable["correct"]

    reports = eval_dir / "eval" / "reports"
    assert json.loads((reports / "latest.json").read_text())["summary"] == summary
    markdown = (reports / "latest.md").read_text()
    assert "## Gate: PASS" in markdown and "## Accuracy by tag" in markdown and "| stretch | 1 |" in markdown
    history = (reports / "history.jsonl").read_text().splitlines()
    assert len(history) == 1
    line = json.loads(history[0])
    assert line["commit"] == "unknown"  # tmp_path is not a git checkout
    assert line["llm"] == "none (extractive)" and line["gate"] == "pass"
    assert line["metrics"]["figure_accuracy"] == pytest.approx(summary["figure_accuracy"], abs=1e-4)
    assert line["core"]["figure_accuracy"] == pytest.approx(summary["core"]["figure_accuracy"], abs=1e-4)

    # A second run appends one line; --no-report (write_reports=False) leaves the reports alone.
    run_eval_command(seed_app, questions, None, llm="none", gate_path=gate)
    run_eval_command(seed_app, questions, None, llm="none", gate_path=gate, write_reports=False)
    assert len((reports / "history.jsonl").read_text().splitlines()) == 2


def test_eval_below_the_gate_exits_1_and_prints_each_failure(
    seed_app: ChipQA, eval_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = _write_jsonl(eval_dir / "questions.jsonl", _eval_rows("q01", "q56"))
    gate = _gate(eval_dir, "[gate.all]\nfigure_accuracy = 0.5\ntotal_p50_ms = 0.001\nretrieve_p95_ms = 0.001\n")

    code = run_eval_command(seed_app, questions, None, llm="none", write_reports=False, gate_path=gate)

    printed = capsys.readouterr().out
    assert code == 1
    assert "gate [all] ok   figure_accuracy 1 (limit 0.5)" in printed
    fails = [line for line in printed.splitlines() if line.startswith("gate [all] FAIL ")]
    assert len(fails) == 2 and fails[0].startswith("gate [all] FAIL total_p50_ms ")
    assert "gate: FAIL" in printed
    assert not (eval_dir / "eval").exists()


def test_a_bad_gate_file_fails_before_any_question_runs(seed_app: ChipQA, eval_dir: Path) -> None:
    questions = _write_jsonl(eval_dir / "questions.jsonl", _eval_rows("q01"))
    with pytest.raises(ConfigError, match="not a metric"):
        run_eval_command(seed_app, questions, None, llm="none", gate_path=_gate(eval_dir, "[gate.all]\nspeed = 1\n"))


def test_without_a_gate_file_the_run_warns_and_passes(
    seed_app: ChipQA, eval_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = _write_jsonl(eval_dir / "questions.jsonl", _eval_rows("q01"))
    assert run_eval_command(seed_app, questions, None, llm="none", write_reports=False) == 0
    assert "the gate is not checked" in capsys.readouterr().err


def test_baseline_runs_side_by_side(seed_app: ChipQA, eval_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    questions = _write_jsonl(eval_dir / "questions.jsonl", _eval_rows("q01", "q06"))
    out = eval_dir / "result.json"

    run_eval_command(seed_app, questions, out, baseline=True, llm="none", gate_path=_gate(eval_dir, "[gate.all]\n"))

    printed = capsys.readouterr().out
    assert "| metric | chipqa | baseline | ratio chipqa/baseline |" in printed
    assert "baseline note: no LLM" in printed
    base = json.loads(out.read_text())["baseline"]
    assert base["llm"] == MOCK_LABEL and base["summary"]["n"] == 2
    for r in base["results"]:
        assert r["llm"] == MOCK_LABEL and not r["abstained"]
        assert len(r["citations"]) == seed_app.settings.top_k
        for c in r["citations"]:
            doc = seed_app.store.document(c["doc_id"])
            assert doc is not None and doc.text[c["start"] : c["end"]] == c["text"]
        assert r["hit_at_k"] is True and r["timings_ms"]["total"] > 0
    markdown = (eval_dir / "eval" / "reports" / "latest.md").read_text()
    assert "| metric | chipqa | baseline | ratio chipqa/baseline |" in markdown
    assert json.loads((eval_dir / "eval" / "reports" / "history.jsonl").read_text())["baseline"]["llm"] == MOCK_LABEL


def test_markdown_lists_failures_with_snippets() -> None:
    result = {
        **_scored("q9", False),
        "expected": "485,000",
        "answer": "Microsoft bought | 500,000 chips " * 10,
    }
    summary = summarize_run([result], k=10)
    meta = {"timestamp": "t", "commit": "abc", "llm": "x", "questions": "q.jsonl", "seconds": 1.0}
    text = format_markdown({"meta": meta, "summary": summary, "results": [result]})
    row = next(line for line in text.splitlines() if line.startswith("| q9 |"))
    assert "| wrong_figure |" in row and "| 485,000 |" in row and "\\|" in row and row.endswith("… |")


def test_git_commit_outside_a_checkout_is_unknown(tmp_path: Path) -> None:
    assert git_commit(tmp_path) == "unknown"


# --- with the bundled LLM ---------------------------------------------------------------------------


@pytest.mark.slow
def test_baseline_with_the_local_llm(llm_app: ChipQA) -> None:
    result = LlamaIndexBaseline(llm_app, "local").ask("How many Hopper chips did Microsoft buy in 2024?")
    answer = result.answer
    assert answer.llm == "local:gemma-3-270m-q4_k_m"
    assert answer.timings_ms["generate"] > 0 and answer.answer
    assert any(p.doc_id == MSFT_DOC for p in result.passages)
    assert all(c.text == p.text for c, p in zip(answer.citations, result.passages, strict=False))
