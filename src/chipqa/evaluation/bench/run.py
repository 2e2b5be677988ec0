"""What one bench run measures (`BenchConfig`), running the parts in order, and the `chipqa bench` command."""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chipqa.core.settings import Settings
from chipqa.evaluation.bench.report import BenchReport, format_markdown, write_reports

DEFAULT_SCALES = [1_000, 10_000, 50_000]
QUICK_SCALES = [1_000]
SCALE_ARTICLES = [100, 1_000, 2_000]


@dataclass
class BenchConfig:
    """What one bench run measures; `quick()` fits a CI budget of a few minutes, `scale()` is quality at scale."""

    seeds_dir: Path = Path("seeds")
    questions_file: Path = Path("eval/questions.jsonl")
    report_dir: Path | None = Path("eval/reports")
    report_name: str = "bench"
    retrieve_questions: int | None = None  # None: all of them
    ask_questions: int | None = None  # None: all of them
    baseline_llm: bool = True
    ingest: bool = True
    ingest_articles: int = 200  # generated articles ingested for the throughput ratio
    ingest_repeats: int = 3
    queries: bool = True
    cold_runs: int = 3
    scales: list[int] = field(default_factory=lambda: list(DEFAULT_SCALES))
    server_scales: list[int] = field(default_factory=lambda: list(DEFAULT_SCALES))
    cold_start: bool = True
    ui: bool = True
    baseline_cold: bool = True
    llm: str = "local"
    concurrency_backends: list[str] = field(default_factory=lambda: ["none", "local", "openai-compatible"])
    concurrency_clients: list[int] = field(default_factory=lambda: [1, 4, 8])
    concurrency_questions: int = 32
    slow_llm_delay_s: float = 1.0
    quality_articles: list[int] = field(default_factory=list)  # generated corpus sizes for quality at scale
    quality_modes: list[str] = field(default_factory=lambda: ["embedded", "server"])
    quality_questions: int = 150  # per size, at most
    quality_llm: str = "none"
    quality_baseline: bool = True
    corpus_seed: int = 2025

    @classmethod
    def quick(cls, **overrides: Any) -> BenchConfig:
        values: dict[str, Any] = {
            "retrieve_questions": 20,
            "ask_questions": 20,
            "baseline_llm": False,
            "ingest_articles": 60,
            "ingest_repeats": 2,
            "cold_runs": 1,
            "scales": list(QUICK_SCALES),
            "server_scales": list(QUICK_SCALES),
            "baseline_cold": False,
            "concurrency_backends": ["none", "openai-compatible"],
            "concurrency_questions": 16,
            "quality_articles": [60],
            "quality_modes": ["embedded"],
            "quality_questions": 40,
        }
        return cls(**{**values, **overrides})

    @classmethod
    def scale(cls, **overrides: Any) -> BenchConfig:
        """Only quality at scale, at 100, 1,000 and 2,000 generated articles, embedded and on a Chroma server."""
        values: dict[str, Any] = {
            "report_name": "bench_scale",
            "ingest": False,
            "queries": False,
            "cold_start": False,
            "ui": False,
            "scales": [],
            "server_scales": [],
            "concurrency_backends": [],
            "quality_articles": list(SCALE_ARTICLES),
        }
        return cls(**{**values, **overrides})


def run_bench_command(
    settings: Settings,
    as_json: bool = False,
    quick: bool = False,
    scale: bool = False,
    chunks: list[int] | None = None,
    articles: list[int] | None = None,
) -> int:
    """`chipqa bench`: run, print the table (or JSON), write eval/reports/<name>.*; 0 unless nothing ran."""
    config = BenchConfig.scale() if scale else BenchConfig.quick() if quick else BenchConfig()
    config.seeds_dir = settings.corpus_dir
    if chunks:
        config.scales = sorted(set(chunks))
        config.server_scales = config.scales[:1] if quick else list(config.scales)
    if articles:
        config.quality_articles = sorted(set(articles))
    folder, name = config.report_dir, config.report_name

    def checkpoint(report: BenchReport) -> None:
        if folder is not None:
            write_reports(report, folder, name)

    report = run_bench(settings, config, log=_stderr, checkpoint=checkpoint)
    checkpoint(report)
    print(json.dumps(report.to_dict(), indent=2) if as_json else format_markdown(report))
    for error in report.errors:
        _stderr(f"bench: {error}")
    return 0 if report.metrics or report.quality else 1


def run_bench(
    settings: Settings,
    config: BenchConfig,
    log: Callable[[str], None] | None = None,
    checkpoint: Callable[[BenchReport], None] | None = None,
) -> BenchReport:
    """Every measurement of one run; a part that fails is recorded in `errors` and the rest still runs.

    `checkpoint` gets the report after each part, so a long run that is stopped keeps what it measured.
    """
    from chipqa.evaluation.bench.cold import bench_cold, bench_ui
    from chipqa.evaluation.bench.measures import bench_ingest, bench_queries, bench_scaling, make_app
    from chipqa.evaluation.bench.scale import bench_quality
    from chipqa.evaluation.harness import load_questions
    from chipqa.index.embedding import load_embed_model, offline

    offline()
    log = log or (lambda _msg: None)
    started = time.perf_counter()
    report = BenchReport(machine=_machine(), config=_jsonable(asdict(config)))
    questions = [str(row["question"]) for row in load_questions(config.questions_file)]
    with tempfile.TemporaryDirectory(prefix="chipqa-bench-") as tmp_name:
        tmp = Path(tmp_name)
        base = settings.model_copy(
            update={"index_dir": tmp / "seeds-index", "chroma_url": None, "corpus_dir": config.seeds_dir}
        )
        log("loading the embedding model")
        embed = load_embed_model(base)
        report.machine["encoder"] = getattr(embed, "label", type(embed).__name__)
        report.machine["document_encoder"] = getattr(embed, "backend", "")
        report.machine["query_encoder"] = getattr(embed, "query_backend", "")
        seeds_app = make_app(base, embed)
        steps: list[tuple[str, Callable[[], None]]] = []
        if config.ingest:
            steps.append(("ingest", lambda: bench_ingest(report, base, embed, config, _corpus(config, tmp), tmp, log)))
        if config.queries:
            steps.append(("queries", lambda: bench_queries(report, base, embed, config, questions, log)))
        if config.concurrency_backends:
            steps.append(("concurrency", lambda: _concurrency(report, seeds_app, config, questions, log)))
        if config.cold_start:
            steps.append(("cold start", lambda: bench_cold(report, base, config, tmp, log)))
        if config.ui:
            steps.append(("ui", lambda: bench_ui(report, base, tmp / "cold-index", log)))
        if config.scales:
            steps.append(("scaling", lambda: bench_scaling(report, base, embed, config, questions, tmp, log)))
        if config.quality_articles:
            steps.append(("quality at scale", lambda: bench_quality(report, base, embed, config, tmp, log)))
        for name, step in steps:
            try:
                step()
            except Exception as exc:  # one broken part must not lose the others' numbers
                report.errors.append(f"{name}: {type(exc).__name__}: {_first_line(exc)}")
            report.seconds = round(time.perf_counter() - started, 1)
            if checkpoint:
                checkpoint(report)
    report.machine["load_after"] = _loadavg()
    report.seconds = round(time.perf_counter() - started, 1)
    return report


def _corpus(config: BenchConfig, tmp: Path) -> Path:
    """The generated articles the ingest throughput is measured on."""
    from chipqa.evaluation.newswire import generate

    return generate(tmp / "ingest-corpus", config.ingest_articles, seed=config.corpus_seed).folder


def _concurrency(report: BenchReport, app: Any, config: BenchConfig, questions: list[str], log: Any) -> None:
    from chipqa.evaluation.bench.concurrency import bench_concurrency

    app.ensure_index()
    bench_concurrency(report, app, config, questions, log)


def _machine() -> dict[str, Any]:
    import importlib.metadata as md

    versions: dict[str, str | None] = {}
    for name in ("chromadb", "llama-index-core", "sentence-transformers", "torch", "llama_cpp_python", "onnxruntime"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_before": _loadavg(),
        # Cold starts compile chipqa's own modules on every run when bytecode is not written.
        "bytecode_cache": not os.environ.get("PYTHONDONTWRITEBYTECODE"),
        "versions": versions,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def _loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
