"""Eval suites: question files asked against an index of their own corpus, side by side (`chipqa eval`).

eval/suites.toml names each suite's corpus folders and question files. A suite's index lives under the index
directory in eval/<suite>-<hash of its corpus paths> (a collection of that name on a Chroma server) and is brought
up to date incrementally before each run, so a second run re-embeds nothing. eval/gate.toml gates a suite with a
[gate.<suite>] table.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomllib

from chipqa.core.errors import ConfigError, InputError
from chipqa.core.text import clip
from chipqa.evaluation.harness import DEFAULT_GATE, evaluate, gate_lines
from chipqa.evaluation.metrics import summarize
from chipqa.evaluation.questions import load_questions
from chipqa.evaluation.report import REPORTS_DIR, format_markdown, git_commit, history_line

if TYPE_CHECKING:
    from chipqa.app.service import ChipQA

DEFAULT_SUITES = Path("eval/suites.toml")
# Rows of the side-by-side table, in order.
TABLE_METRICS = (
    "n",
    "answer_accuracy",
    "figure_accuracy",
    "open_accuracy",
    "abstention_accuracy",
    "wrong_verified_rate",
    "false_abstention_rate",
    "grounding_rate",
    "citation_precision",
    "citation_recall",
    "conflict_recall",
    "false_conflict_rate",
    "evidence_presence",
    "mrr",
    "total_p50_ms",
    "total_p95_ms",
)


@dataclass(frozen=True)
class Suite:
    """Questions asked against an index of a corpus."""

    name: str
    description: str
    corpus: tuple[Path, ...]
    questions: tuple[Path, ...]

    @property
    def key(self) -> str:
        digest = hashlib.sha1("\n".join(str(p) for p in self.corpus).encode()).hexdigest()[:8]
        return f"{self.name}-{digest}"


def load_suites(path: Path = DEFAULT_SUITES) -> list[Suite]:
    """The suites of a suites file, in file order; a malformed file is a ConfigError naming it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no such suites file: {path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read suites file {path}: {exc}") from None
    table = data.get("suite")
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"{path}: needs [suite.<name>] tables")
    suites = []
    for name, spec in table.items():
        if not isinstance(spec, dict):
            raise ConfigError(f"{path}: [suite.{name}] must be a table")
        lists = {}
        for field in ("corpus", "questions"):
            value = spec.get(field)
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{path}: [suite.{name}] {field} must be a non-empty list of paths")
            lists[field] = tuple(Path(v) for v in value)
        suites.append(Suite(name, str(spec.get("description", "")), lists["corpus"], lists["questions"]))
    return suites


def suite_app(app: ChipQA, suite: Suite, llm: str | None = None) -> ChipQA:
    """A ChipQA over the suite's own index, sharing the app's embedding model and LLM."""
    from chipqa.app.service import ChipQA

    if app.settings.chroma_url:
        update: dict[str, Any] = {"collection": f"{app.settings.collection}-eval-{suite.key}"}
    else:
        update = {"index_dir": app.settings.index_dir / "eval" / suite.key}
    settings = app.settings.model_copy(update={**update, "corpus_dir": suite.corpus[0]})
    mode = llm or app.settings.llm
    return ChipQA(settings, embed_model=app.embed_model, llms={mode: app.generator(mode)})


def run_suite(app: ChipQA, suite: Suite, llm: str | None = None, baseline: bool = False) -> dict[str, Any]:
    """Bring the suite's index up to date, ask its questions, score; the payload of `harness.evaluate`."""
    for path in (*suite.corpus, *suite.questions):
        if not path.exists():
            raise InputError(f"suite {suite.name}: no such file or folder: {path}")
    questions: list[dict[str, Any]] = []
    origin: dict[str, str] = {}
    for path in suite.questions:
        for row in load_questions(path):
            if row["id"] in origin:
                raise InputError(f"suite {suite.name}: question id '{row['id']}' is in {origin[row['id']]} and {path}")
            origin[row["id"]] = str(path)
            questions.append(row)
    sub = suite_app(app, suite, llm)
    report = sub.ingest(list(suite.corpus))
    if report.changed:
        print(f"suite {suite.name}: index {report.summary()}", file=sys.stderr)
    started = time.perf_counter()
    payload = evaluate(sub, questions, llm=llm, baseline=baseline)
    payload["seconds"] = round(time.perf_counter() - started, 1)
    payload["by_file"] = {
        str(path): summarize([r for r in payload["results"] if origin[r["id"]] == str(path)])
        for path in suite.questions
    }
    return payload


def load_suite_gate(path: Path) -> dict[str, dict[str, float]]:
    """Thresholds by suite name from [gate.<suite>] tables (other scopes are for single-file runs)."""
    from chipqa.evaluation.harness import load_gate

    return load_gate(path, allow_scopes=None)


def run_suites_command(
    app: ChipQA,
    names: Sequence[str] = (),
    suites_path: Path = DEFAULT_SUITES,
    output: Path | None = None,
    *,
    baseline: bool = False,
    llm: str | None = None,
    write_reports: bool = True,
    gate_path: Path | None = None,
) -> int:
    """`chipqa eval` without --questions: every suite (or the named ones), side by side; 1 below a gate."""
    suites = load_suites(suites_path)
    if names:
        known = {s.name: s for s in suites}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InputError(f"no suite {', '.join(unknown)} in {suites_path} (known: {', '.join(known)})")
        suites = [known[n] for n in names]
    gate_path = gate_path or DEFAULT_GATE
    gate = load_suite_gate(gate_path) if gate_path.exists() else {}
    started = time.perf_counter()
    runs = {suite.name: run_suite(app, suite, llm, baseline) for suite in suites}
    generator = app.generator(llm)
    meta = {
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "llm": generator.label if generator else "none (extractive)",
        "suites": str(suites_path),
        "seconds": round(time.perf_counter() - started, 1),
    }
    passed = True
    for name, run in runs.items():
        limits = gate.get(name)
        if limits:
            lines, ok = gate_lines(run["summary"], {"all": limits})
            lines = [line.replace("gate [all]", f"gate [{name}]", 1) for line in lines]  # the suite's own table
            run["gate"] = {"file": str(gate_path), "passed": ok, "thresholds": limits, "lines": lines}
            passed = passed and ok
    payload = {"meta": meta, "suites": runs}
    print(format_suites_console(payload), end="")
    if output is not None:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {output}: {exc}") from None
    if write_reports:
        save_suite_reports(payload)
    return 0 if passed else 1


def _cell(name: str, value: Any) -> str:
    if value is None:
        return "–"
    if name.endswith("_ms"):
        return f"{float(value):.0f}"
    if name == "n":
        return str(int(value))
    return f"{float(value):.3f}"


def side_by_side(payload: Mapping[str, Any]) -> str:
    """One Markdown table: a column per suite (and its baseline), a row per headline metric."""
    runs: Mapping[str, Any] = payload["suites"]
    columns: list[tuple[str, Mapping[str, Any]]] = []
    for name, run in runs.items():
        columns.append((name, run["summary"]))
        if run.get("baseline"):
            columns.append((f"{name} baseline", run["baseline"]["summary"]))
        if name == "grown":
            for path, summary in run.get("by_file", {}).items():
                columns.append((f"grown: {Path(path).stem}", summary))
    head = "| metric | " + " | ".join(c for c, _ in columns) + " |"
    rule = "|---|" + "---:|" * len(columns)
    rows = [f"| {m} | " + " | ".join(_cell(m, s.get(m)) for _, s in columns) + " |" for m in TABLE_METRICS]
    return "\n".join([head, rule, *rows]) + "\n"


def format_suites_console(payload: Mapping[str, Any]) -> str:
    parts = [side_by_side(payload).rstrip()]
    for name, run in payload["suites"].items():
        failures = run["summary"].get("failures") or {}
        shown = ", ".join(f"{k} {v}" for k, v in failures.items()) or "none"
        parts.append(f"{name}: {run['summary']['n']} questions, {run['seconds']:.0f} s; failures: {shown}")
        gate = run.get("gate")
        if gate:
            parts.extend(f"  {line}" for line in gate["lines"])
            parts.append(f"  gate {name}: {'PASS' if gate['passed'] else 'FAIL'}")
    return "\n".join(parts) + "\n"


def _compact(run: Mapping[str, Any]) -> dict[str, Any]:
    """A suite's run for the committed suites.json: each answer record without the retrieved passages and with
    the baseline's cited passages clipped (--output keeps everything)."""

    def record(r: Mapping[str, Any], shorten: bool) -> dict[str, Any]:
        out = {k: v for k, v in r.items() if k != "retrieved"}
        if shorten and out.get("citations"):
            out["citations"] = [{**c, "text": clip(str(c.get("text", "")), 300)} for c in out["citations"]]
        return out

    out = dict(run)
    out["results"] = [record(r, False) for r in run.get("results", [])]
    if run.get("baseline"):
        out["baseline"] = {**run["baseline"], "results": [record(r, True) for r in run["baseline"]["results"]]}
    return out


def save_suite_reports(payload: Mapping[str, Any], directory: Path = REPORTS_DIR) -> None:
    """suites.md (side-by-side table and each suite's full report), suites.json (compact), and history lines."""
    directory.mkdir(parents=True, exist_ok=True)
    meta = payload["meta"]
    out = [
        "# chipqa eval: all suites",
        "",
        f"- run: {meta['timestamp']} · commit `{meta['commit']}` · llm `{meta['llm']}` · {meta['seconds']:.0f} s",
        "",
        side_by_side(payload),
    ]
    for name, run in payload["suites"].items():
        suite_payload = {
            "meta": {**meta, "questions": name, "seconds": run["seconds"]},
            **{k: v for k, v in run.items() if k != "by_file"},
        }
        body = format_markdown(suite_payload).replace("# chipqa eval report", f"## Suite {name}", 1)
        out += ["", body.replace("\n## ", "\n### ")]
    (directory / "suites.md").write_text("\n".join(out), encoding="utf-8")
    compact = {"meta": meta, "suites": {name: _compact(run) for name, run in payload["suites"].items()}}
    (directory / "suites.json").write_text(json.dumps(compact, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    with open(directory / "history.jsonl", "a", encoding="utf-8") as handle:
        for name, run in payload["suites"].items():
            line = history_line({"meta": {**meta, "questions": name, "seconds": run["seconds"]}, **run})
            handle.write(json.dumps({"suite": name, **line}, ensure_ascii=False) + "\n")
