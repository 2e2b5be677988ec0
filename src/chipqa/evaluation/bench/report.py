"""The bench report: its rows and tables, targets, and the JSON and Markdown files it is written to."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Targets of the performance issues: metric key → (comparison, limit).
TARGETS: dict[str, tuple[str, float]] = {
    "ask_p50_ms": ("<=", 1000.0),
    "retrieve_p50_ms": ("<=", 30.0),
    "cold_ask_s": ("<=", 5.0),
    "cold_help_s": ("<=", 0.5),
    "embed_pipeline_vs_bare": (">=", 0.9),
    "ingest_vs_bare_encode": (">=", 3.0),
    "scale_retrieve_p95_ms@50000": ("<=", 100.0),
    "concurrency_speedup@8:openai-compatible": (">=", 6.0),
}


@dataclass
class Metric:
    """One row of the report."""

    key: str
    name: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None
    baseline: float | None = None
    ratio: float | None = None
    note: str = ""


@dataclass
class BenchReport:
    machine: dict[str, Any]
    config: dict[str, Any]
    metrics: list[Metric] = field(default_factory=list)
    scaling: list[dict[str, Any]] = field(default_factory=list)
    concurrency: list[dict[str, Any]] = field(default_factory=list)
    quality: list[dict[str, Any]] = field(default_factory=list)
    cold_breakdown: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(
        self, key: str, name: str, value: float, unit: str, baseline: float | None = None, note: str = ""
    ) -> Metric:
        metric = Metric(key, name, float(value), unit, baseline=baseline, note=note)
        if baseline:
            metric.ratio = round(value / baseline, 3)
        if key in TARGETS:
            op, limit = TARGETS[key]
            metric.target = f"{op} {limit:g} {unit}".replace(" ratio", "")
            metric.met = value <= limit if op == "<=" else value >= limit
        self.metrics.append(metric)
        return metric

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def format_markdown(report: BenchReport) -> str:
    """The report as Markdown: the metrics table, then the tables of each part and the run's conditions."""
    m = report.machine
    lines = [
        "# chipqa bench",
        "",
        f"{m.get('date', '')}, {m.get('cpus')} CPUs, load average {m.get('load_before')} before, "
        f"{m.get('load_after')} after; encoder: {m.get('encoder')} (documents: {m.get('document_encoder')}, "
        f"questions: {m.get('query_encoder')}); "
        f"bytecode cache {'on' if m.get('bytecode_cache', True) else 'off (PYTHONDONTWRITEBYTECODE)'}; "
        f"run took {report.seconds:.0f} s.",
        "",
        "| metric | value | target | met? | baseline | ratio |",
        "|---|---:|---|---|---:|---:|",
    ]
    for metric in report.metrics:
        met = "" if metric.met is None else ("met" if metric.met else "**missed**")
        baseline = "" if metric.baseline is None else _num(metric.baseline, metric.unit)
        ratio = "" if metric.ratio is None else f"{metric.ratio:.2f}"
        value = _num(metric.value, metric.unit)
        lines.append(f"| {metric.name} | {value} | {metric.target} | {met} | {baseline} | {ratio} |")
    notes = [f"- {metric.name}: {metric.note}" for metric in report.metrics if metric.note]
    if notes:
        lines += ["", "Notes:", *notes]
    if report.cold_breakdown:
        lines += _breakdown_lines(report.cold_breakdown)
    if report.concurrency:
        lines += _concurrency_lines(report.concurrency)
    if report.quality:
        lines += _quality_lines(report.quality)
        lines += _same_question_lines(report.quality)
    if report.scaling:
        lines += _scaling_lines(report.scaling)
    measured = {metric.key for metric in report.metrics}
    unmeasured = [key for key in TARGETS if key not in measured]
    if unmeasured:
        lines += ["", f"Targets not measured in this run: {', '.join(unmeasured)}."]
    if report.errors:
        lines += ["", "Errors:", *[f"- {e}" for e in report.errors]]
    lines += ["", "Ratios are chipqa / baseline (plain LlamaIndex on the same chunks and questions)."]
    return "\n".join(lines) + "\n"


def _breakdown_lines(b: dict[str, Any]) -> list[str]:
    packages = ", ".join(f"{k} {v:.2f} s" for k, v in b.get("imports_by_package_s", {}).items())
    stages = ", ".join(f"{k} {v:,.0f} ms" for k, v in b.get("answer_stages_ms", {}).items())
    return [
        "",
        "## Where a cold `chipqa ask` spends its time",
        "",
        f"One more cold run under `python -X importtime` (which slows imports a little): {b['wall_s']:.2f} s wall.",
        "",
        "| part | seconds | detail |",
        "|---|---:|---|",
        f"| imports, by package (own modules) | {b['imports_s']:.2f} | {packages} |",
        f"| answering (retrieve, draft, verify) | {b['answer_stages_ms'].get('total', 0) / 1000:.2f} | {stages} |",
        f"| the rest: interpreter start, opening Chroma, model loads not overlapped, exit | {b['other_s']:.2f} | |",
    ]


def _concurrency_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        "## Concurrent questions (threads calling the API's Guarded.ask, as its request handlers do)",
        "",
        "| backend | clients | questions | q/s | p50 ms | p95 ms | speed-up vs 1 client | identical answers |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['clients']} | {r['questions']} | {r['qps']:.2f} | {r['p50_ms']:,.0f} "
            f"| {r['p95_ms']:,.0f} | {r['speedup']:.2f} | {'yes' if r['identical'] else '**no**'} |"
        )
    return lines


def _quality_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        "## Quality at scale (generated corpus, `chipqa bench --scale`)",
        "",
        "Each size is the first N articles of one generated corpus (seed in the config) with the questions "
        "whose sources are all among them. chipqa answers with the LLM in the config; the baseline is the "
        "plain LlamaIndex query engine over the same index.",
        "",
        "| articles | chunks | Chroma | questions | figure acc. | abstention acc. | false abst. | evidence "
        "| hit@k | MRR | retrieve p50/p95 ms | ingest s | baseline acc. | baseline evidence | baseline hit@k |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        base = r.get("baseline") or {}
        lines.append(
            f"| {r['articles']:,} | {r['chunks']:,} | {r['mode']} | {r['questions']} | {_rate(r['figure_accuracy'])} "
            f"| {_rate(r['abstention_accuracy'])} | {_rate(r['false_abstention_rate'])} "
            f"| {_rate(r['evidence_presence'])} | {_rate(r['hit_at_k'])} | {_rate(r['mrr'])} "
            f"| {r['retrieve_p50_ms']:.0f} / {r['retrieve_p95_ms']:.0f} | {r['ingest_s']:.0f} "
            f"| {_rate(base.get('figure_accuracy'))} | {_rate(base.get('evidence_presence'))} "
            f"| {_rate(base.get('hit_at_k'))} |"
        )
    return lines


def _same_question_lines(rows: list[dict[str, Any]]) -> list[str]:
    same = [(r, r["same_questions"]) for r in rows if r.get("same_questions")]
    if not same:
        return []
    lines = [
        "",
        f"The same {same[0][1]['questions']} questions (drawn from the first {same[0][0]['articles']:,} articles) "
        "asked at every size:",
        "",
        "| articles | Chroma | figure acc. | abstention acc. | false abst. | evidence | hit@k | MRR "
        "| baseline acc. | baseline evidence | baseline hit@k |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r, s in same:
        base = s.get("baseline") or {}
        lines.append(
            f"| {r['articles']:,} | {r['mode']} | {_rate(s['figure_accuracy'])} | {_rate(s['abstention_accuracy'])} "
            f"| {_rate(s['false_abstention_rate'])} | {_rate(s['evidence_presence'])} | {_rate(s['hit_at_k'])} "
            f"| {_rate(s['mrr'])} | {_rate(base.get('figure_accuracy'))} | {_rate(base.get('evidence_presence'))} "
            f"| {_rate(base.get('hit_at_k'))} |"
        )
    return lines


def _scaling_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        "## Scaling (synthetic corpora recombined from seeds/)",
        "",
        "| chunks | docs | Chroma | ingest chunks/s | first query ms | p50 ms | p95 ms | baseline p50 ms "
        "| baseline p95 ms |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['chunks']} | {r['documents']} | {r['mode']} | {r['ingest_chunks_per_s']:.0f} "
            f"| {r['first_retrieve_ms']:.0f} | {r['retrieve_p50_ms']:.1f} | {r['retrieve_p95_ms']:.1f} "
            f"| {r['baseline_retrieve_p50_ms']:.1f} | {r['baseline_retrieve_p95_ms']:.1f} |"
        )
    return lines


def write_reports(report: BenchReport, folder: Path, name: str = "bench") -> None:
    """`<name>.json`, `<name>.md` and, when there are scaling rows, the latency plot `<name>_latency.png`."""
    from chipqa.evaluation.bench.plot import plot_latency

    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    (folder / f"{name}.md").write_text(format_markdown(report), encoding="utf-8")
    if report.scaling:
        plot_latency(report.scaling, folder / f"{name}_latency.png")


def _rate(value: Any) -> str:
    return "–" if value is None else f"{float(value):.3f}"


def _num(value: float, unit: str) -> str:
    if unit == "ratio":
        return f"{value:.2f}"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return f"{text} {unit}"
