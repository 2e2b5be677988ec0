"""Eval reports: the console table, the Markdown report, history lines and the files in eval/reports/."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from chipqa.evaluation.metrics import format_table

STRETCH_TAG = "stretch"
REPORTS_DIR = Path("eval/reports")

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
    (directory / "latest.json").write_text(dump_json(payload), encoding="utf-8")
    (directory / "latest.md").write_text(format_markdown(payload), encoding="utf-8")
    with open(directory / "history.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(history_line(payload), ensure_ascii=False) + "\n")


def dump_json(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
