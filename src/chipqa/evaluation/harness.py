"""The eval harness: run a questions file through chipqa (and the plain LlamaIndex baseline), score, gate,
report.

Metrics are defined in `chipqa.evaluation.metrics`; this module loads and validates inputs, runs the pipeline, prints,
and writes files. Questions tagged "stretch" need knowledge the corpus does not state or multi-step
reasoning; the summary carries a `core` sub-summary without them, and eval/gate.toml gates `[gate.core]`
on that and `[gate.all]` on every question.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomllib

from chipqa.core.errors import ConfigError, InputError
from chipqa.evaluation.metrics import check_gate, score_question, summarize
from chipqa.evaluation.questions import load_questions
from chipqa.evaluation.report import STRETCH_TAG, dump_json, format_console, git_commit, save_reports

if TYPE_CHECKING:
    from chipqa.answering.pipeline import AskResult
    from chipqa.app.service import ChipQA

DEFAULT_GATE = Path("eval/gate.toml")
GATE_SCOPES = ("core", "all")
# Metric names a gate may name: the scalar entries of a summary.
_GATEABLE = frozenset(name for name, value in summarize([]).items() if name != "n" and not isinstance(value, dict))


Ask = Callable[[str], "AskResult"]


def answer_record(result: AskResult) -> dict[str, Any]:
    """The answer record plus the retrieved passages that `metrics.score_question` reads."""
    record = result.answer.to_dict()
    record["retrieved"] = [
        {"doc_id": p.doc_id, "start": p.start, "end": p.end, "score": round(p.score, 4), "text": p.text}
        for p in result.passages
    ]
    return record


def score(question: Mapping[str, Any], record: Mapping[str, Any], k: int) -> dict[str, Any]:
    """One eval result: the answer record plus id, expected, correct and the per-question metrics."""
    metrics = score_question(question, record, k=k)
    result: dict[str, Any] = {"id": question["id"], "expected": question.get("expected"), **record}
    # Passage texts are only needed for scoring; offsets locate them in the documents.
    result["retrieved"] = [{k_: v for k_, v in p.items() if k_ != "text"} for p in record.get("retrieved", [])]
    result.update({name: value for name, value in metrics.items() if name not in result})
    return result


def run_questions(ask: Ask, questions: Sequence[Mapping[str, Any]], k: int, desc: str = "eval") -> list[dict[str, Any]]:
    """Ask every question in turn, with a progress bar on stderr; returns the scored results."""
    from tqdm import tqdm

    results = []
    # Not on a terminal (CI logs), the bar still reports, but only every 15 s.
    interval = 0.1 if sys.stderr.isatty() else 15.0
    with tqdm(total=len(questions), desc=desc, unit="q", file=sys.stderr, mininterval=interval) as bar:
        for q in questions:
            bar.set_postfix_str(str(q["id"]))
            results.append(score(q, answer_record(ask(str(q["question"]))), k))
            bar.update()
    return results


def is_stretch(row: Mapping[str, Any]) -> bool:
    return STRETCH_TAG in (row.get("tags") or [])


def summarize_run(results: Sequence[Mapping[str, Any]], k: int) -> dict[str, Any]:
    """`metrics.summarize` over all results, with `core` (results without the stretch tag) nested in it."""
    core = [r for r in results if not is_stretch(r)]
    summary = summarize(results)
    summary["k"] = k
    summary["n_core"] = len(core)
    summary["n_stretch"] = len(results) - len(core)
    summary["core"] = summarize(core)
    return summary


def load_gate(path: Path, allow_scopes: Sequence[str] | None = GATE_SCOPES) -> dict[str, dict[str, float]]:
    """Thresholds by scope from a gate file's [gate.<scope>] tables: "core" and "all" gate a single questions
    file; a suite's name gates that suite (`allow_scopes=None` accepts every table)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no such gate file: {path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read gate file {path}: {exc}") from None
    table = data.get("gate")
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: needs [gate.core] and/or [gate.all] tables")
    gate: dict[str, dict[str, float]] = {}
    for scope, limits in table.items():
        if not isinstance(limits, dict):
            raise ConfigError(f"{path}: [gate.{scope}] must be a table of metric thresholds")
        if allow_scopes is not None and scope not in allow_scopes:
            continue  # a suite's gate, for `chipqa eval` without --questions
        for name, limit in limits.items():
            if name not in _GATEABLE:
                known = ", ".join(sorted(_GATEABLE))
                raise ConfigError(f"{path}: [gate.{scope}] {name} is not a metric (known: {known})")
            if isinstance(limit, bool) or not isinstance(limit, int | float):
                raise ConfigError(f"{path}: [gate.{scope}] {name} must be a number")
        gate[scope] = {name: float(limit) for name, limit in limits.items()}
    return gate


def gate_lines(summary: Mapping[str, Any], gate: Mapping[str, Mapping[str, float]]) -> tuple[list[str], bool]:
    """One line per threshold and whether all pass; an undefined metric (e.g. no unanswerable questions
    in the file) is skipped rather than failed."""
    lines, passed = [], True
    for scope in GATE_SCOPES:
        scoped = summary["core"] if scope == "core" else summary
        for name, limit in gate.get(scope, {}).items():
            if scoped.get(name) is None:
                lines.append(f"gate [{scope}] {name}: not measured on these questions (skipped)")
                continue
            failures = check_gate(scoped, {name: limit})
            passed = passed and not failures
            if failures:
                lines.append(f"gate [{scope}] FAIL {failures[0]}")
            else:
                value = round(float(scoped[name]), 3)
                lines.append(f"gate [{scope}] ok   {name} {value:g} (limit {limit:g})")
    return lines, passed


def evaluate(
    app: ChipQA, questions: Sequence[Mapping[str, Any]], llm: str | None = None, baseline: bool = False
) -> dict[str, Any]:
    """Run and score chipqa (and optionally the baseline) on the questions: {"summary", "results", ...}."""
    k = app.settings.top_k
    app.ensure_index()
    generator = app.generator(llm)  # loaded before the clock starts on the first question
    results = run_questions(lambda text: app.ask(text, llm=llm), questions, k, "chipqa")
    payload: dict[str, Any] = {
        "llm": generator.label if generator else "none (extractive)",
        "summary": summarize_run(results, k),
        "results": results,
    }
    if baseline:
        from chipqa.evaluation.baseline import MOCK_LABEL, MOCK_NOTE, LlamaIndexBaseline

        plain = LlamaIndexBaseline(app, llm)
        base_results = run_questions(plain.ask, questions, k, "baseline")
        payload["baseline"] = {
            "llm": plain.label,
            "note": MOCK_NOTE if plain.label == MOCK_LABEL else None,
            "summary": summarize_run(base_results, k),
            "results": base_results,
        }
    return payload


def run_eval_command(
    app: ChipQA,
    questions_path: Path,
    output: Path | None = None,
    *,
    baseline: bool = False,
    llm: str | None = None,
    write_reports: bool = True,
    gate_path: Path | None = None,
) -> int:
    """`chipqa eval`: print the table, write --output and eval/reports/; exit code 1 below the gate.

    Without gate_path, eval/gate.toml is used when it exists (a warning says so when it does not).
    """
    questions = load_questions(questions_path)
    gate = None
    if gate_path is not None or DEFAULT_GATE.exists():
        gate_path = gate_path or DEFAULT_GATE
        gate = load_gate(gate_path)  # a bad gate file fails before the long run
    else:
        print(f"chipqa: warning: no {DEFAULT_GATE} here; the gate is not checked", file=sys.stderr)
    started = time.perf_counter()
    run = evaluate(app, questions, llm=llm, baseline=baseline)
    payload: dict[str, Any] = {
        "meta": {
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "commit": git_commit(),
            "llm": run.pop("llm"),
            "questions": str(questions_path),
            "seconds": round(time.perf_counter() - started, 1),
        },
        **run,
    }
    passed = True
    if gate is not None:
        lines, passed = gate_lines(payload["summary"], gate)
        payload["gate"] = {"file": str(gate_path), "passed": passed, "thresholds": gate, "lines": lines}
    print(format_console(payload), end="")
    if output is not None:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(dump_json(payload), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {output}: {exc}") from None
    if write_reports:
        save_reports(payload)
    return 0 if passed else 1
