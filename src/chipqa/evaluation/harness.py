"""The eval harness: run a questions file through chipqa (and the plain LlamaIndex baseline), score, gate,
report.

Metrics are defined in `chipqa.evaluation.metrics`; this module loads and validates inputs, runs the pipeline, prints,
and writes files. Questions tagged "stretch" need knowledge the corpus does not state or multi-step
reasoning; the summary carries a `core` sub-summary without them, and eval/gate.toml gates `[gate.core]`
on that and `[gate.all]` on every question.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomllib

from chipqa.core.errors import ConfigError, InputError
from chipqa.evaluation.metrics import check_gate, format_table, score_question, summarize

if TYPE_CHECKING:
    from chipqa.answering.pipeline import AskResult
    from chipqa.app.service import ChipQA

DEFAULT_GATE = Path("eval/gate.toml")
REPORTS_DIR = Path("eval/reports")
STRETCH_TAG = "stretch"
GATE_SCOPES = ("core", "all")
# The metrics a history line keeps, for trends across commits.
HEADLINE = (
    "answer_accuracy",
    "figure_accuracy",
    "open_accuracy",
    "wrong_verified_rate",
    "abstention_accuracy",
    "false_abstention_rate",
    "grounding_rate",
    "citation_precision",
    "citation_recall",
    "hit_at_k",
    "mrr",
    "evidence_presence",
    "conflict_recall",
    "false_conflict_rate",
    "total_p50_ms",
    "total_p95_ms",
)
_SNIPPET = 120
# Metric names a gate may name: the scalar entries of a summary.
_GATEABLE = frozenset(name for name, value in summarize([]).items() if name != "n" and not isinstance(value, dict))

# field: (allowed types, required)
_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "id": ((str,), True),
    "question": ((str,), True),
    "answerable": ((bool,), True),
    "expected": ((str, type(None)), False),
    "aliases": ((list,), False),
    "sources": ((list,), False),
    "tags": ((list,), False),
    "inputs": ((list,), False),
}
_TYPE_NAMES = {str: "a string", bool: "true or false", list: "a list", type(None): "null"}

Ask = Callable[[str], "AskResult"]


def load_questions(path: Path) -> list[dict[str, Any]]:
    """Rows of a questions JSONL file; a malformed line is an InputError naming the file and line number."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"no such questions file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read questions file {path}: {exc}") from None
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: invalid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(row, dict):
            raise InputError(f"{where}: expected a JSON object, got {type(row).__name__}")
        _check_row(row, where)
        if row["id"] in seen:
            raise InputError(f"{where}: duplicate id '{row['id']}' (first on line {seen[row['id']]})")
        seen[row["id"]] = number
        rows.append(row)
    if not rows:
        raise InputError(f"{path} holds no questions")
    return rows


def _check_row(row: Mapping[str, Any], where: str) -> None:
    for name, (types, required) in _FIELDS.items():
        if name not in row:
            if required:
                raise InputError(f"{where}: missing required field '{name}'")
            continue
        value = row[name]
        if not isinstance(value, types):
            wanted = " or ".join(_TYPE_NAMES[t] for t in types)
            raise InputError(f"{where}: field '{name}' must be {wanted}, got {json.dumps(value)[:40]}")
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise InputError(f"{where}: field '{name}' must be a list of strings")
    for name in ("id", "question"):
        if not row[name].strip():
            raise InputError(f"{where}: field '{name}' is empty")
    if row["answerable"] and not row.get("expected"):
        raise InputError(f"{where}: an answerable question needs 'expected'")


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


def scope_line(summary: Mapping[str, Any]) -> str:
    return (
        f'questions: {summary["n"]} = core {summary["n_core"]} (without tag "{STRETCH_TAG}") '
        f"+ stretch {summary['n_stretch']}; passages scored: top {summary['k']}"
    )


def format_failures(results: Sequence[Mapping[str, Any]], label: str = "chipqa") -> str:
    """Failure categories with their question ids, one line each."""
    by_category: dict[str, list[str]] = {}
    for r in results:
        if r.get("failure"):
            by_category.setdefault(str(r["failure"]), []).append(str(r["id"]))
    if not by_category:
        return f"{label} failures: none"
    ordered = sorted(by_category.items(), key=lambda item: (-len(item[1]), item[0]))
    return "\n".join([f"{label} failures:"] + [f"  {cat} ({len(ids)}): {', '.join(ids)}" for cat, ids in ordered])


def format_console(payload: Mapping[str, Any]) -> str:
    """What `chipqa eval` prints: the table, the core/stretch split, failures, and the gate."""
    summary = payload["summary"]
    base = payload.get("baseline")
    parts = [format_table(summary, base["summary"] if base else None).rstrip(), scope_line(summary)]
    if base:
        parts.append(f"baseline: plain LlamaIndex query engine, llm {base['llm']}")
        if base.get("note"):
            parts.append(f"baseline note: {base['note']}")
    parts.append(format_failures(payload["results"]))
    if base:
        parts.append(format_failures(base["results"], "baseline"))
    gate = payload.get("gate")
    if gate:
        parts.extend(gate["lines"])
        parts.append(f"gate: {'PASS' if gate['passed'] else 'FAIL'} ({gate['file']})")
    return "\n".join(parts) + "\n"


def _without_tags(summary: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k != "by_tag"}


def _md_cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def format_markdown(payload: Mapping[str, Any]) -> str:
    """The Markdown report: headline table chipqa vs baseline, core table, by-tag, gate, failures."""
    meta, summary = payload["meta"], payload["summary"]
    base = payload.get("baseline")
    base_summary = base["summary"] if base else None
    out = [
        "# chipqa eval report",
        "",
        f"- run: {meta['timestamp']} · commit `{meta['commit']}` · llm `{meta['llm']}` · "
        f"questions `{meta['questions']}` · {meta['seconds']:.0f} s",
        f"- {scope_line(summary)}",
    ]
    if base:
        out.append(
            f"- baseline: plain LlamaIndex `as_query_engine` (same index, embedding, LLM, top-k), llm `{base['llm']}`"
        )
        if base.get("note"):
            out.append(f"- baseline note: {base['note']}")
    gate = payload.get("gate")
    if gate:
        out += [
            "",
            f"## Gate: {'PASS' if gate['passed'] else 'FAIL'}",
            "",
            f"Thresholds: `{gate['file']}`",
            "",
        ]
        out += [f"- {line.removeprefix('gate ')}" for line in gate["lines"]]
    out += [
        "",
        "## All questions",
        "",
        format_table(_without_tags(summary), _without_tags(base_summary) if base_summary else None),
    ]
    if summary["n_stretch"]:
        out += [
            f'## Core questions (n={summary["n_core"]}, without tag "{STRETCH_TAG}")',
            "",
            format_table(_without_tags(summary["core"]), _without_tags(base_summary["core"]) if base_summary else None),
        ]
    out += [
        "## Accuracy by tag",
        "",
        _by_tag_table(summary, base_summary),
        "## Failure categories",
        "",
        _failure_count_table(summary, base_summary),
        "## Failures (chipqa)",
        "",
    ]
    failed = [r for r in payload["results"] if r.get("failure")]
    if failed:
        out += ["| id | category | tags | expected | answer |", "|---|---|---|---|---|"]
        for r in failed:
            answer = _md_cell(r.get("answer", ""))
            answer = answer if len(answer) <= _SNIPPET else answer[: _SNIPPET - 1] + "…"
            out.append(
                f"| {r['id']} | {r['failure']} | {', '.join(r.get('tags') or [])} | "
                f"{_md_cell(r.get('expected') or '—')} | {answer} |"
            )
    else:
        out.append("None.")
    return "\n".join(out) + "\n"


def _by_tag_table(summary: Mapping[str, Any], base: Mapping[str, Any] | None) -> str:
    theirs = (base or {}).get("by_tag") or {}
    lines = ["| tag | n | chipqa | baseline |", "|---|---:|---:|---:|"]
    for tag, stats in (summary.get("by_tag") or {}).items():
        other = theirs.get(tag, {}).get("accuracy")
        lines.append(f"| {tag} | {stats['n']} | {stats['accuracy']:.3f} | {'–' if other is None else f'{other:.3f}'} |")
    return "\n".join(lines) + "\n"


def _failure_count_table(summary: Mapping[str, Any], base: Mapping[str, Any] | None) -> str:
    ours, theirs = summary.get("failures") or {}, (base or {}).get("failures") or {}
    lines = ["| category | chipqa | baseline |", "|---|---:|---:|"]
    for cat in sorted(set(ours) | set(theirs)):
        lines.append(f"| {cat} | {ours.get(cat, 0)} | {theirs.get(cat, 0) if base else '–'} |")
    return "\n".join(lines) + "\n"


def git_commit(cwd: Path | None = None) -> str:
    """The short commit hash of the checkout at cwd, or "unknown"."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def history_line(payload: Mapping[str, Any]) -> dict[str, Any]:
    """One run, condensed for eval/reports/history.jsonl."""
    meta, summary = payload["meta"], payload["summary"]
    base = payload.get("baseline")
    gate = payload.get("gate")
    return {
        "timestamp": meta["timestamp"],
        "commit": meta["commit"],
        "llm": meta["llm"],
        "questions": meta["questions"],
        "n": summary["n"],
        "n_core": summary["n_core"],
        "seconds": meta["seconds"],
        "gate": None if gate is None else ("pass" if gate["passed"] else "fail"),
        "metrics": _headline(summary),
        "core": _headline(summary["core"]),
        "baseline": None if base is None else {"llm": base["llm"], **_headline(base["summary"])},
    }


def _headline(summary: Mapping[str, Any]) -> dict[str, float | None]:
    return {name: None if summary.get(name) is None else round(float(summary[name]), 4) for name in HEADLINE}


def save_reports(payload: Mapping[str, Any], directory: Path = REPORTS_DIR) -> None:
    """latest.json, latest.md, and one appended line of history.jsonl."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "latest.json").write_text(_dump(payload), encoding="utf-8")
    (directory / "latest.md").write_text(format_markdown(payload), encoding="utf-8")
    with open(directory / "history.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(history_line(payload), ensure_ascii=False) + "\n")


def _dump(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


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
            output.write_text(_dump(payload), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {output}: {exc}") from None
    if write_reports:
        save_reports(payload)
    return 0 if passed else 1
