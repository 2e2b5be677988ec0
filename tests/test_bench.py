"""The bench on a tiny configuration: its report's structure and that every number is positive (no timings)."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest

from chipqa.core.figures import parse_figures
from chipqa.core.settings import Settings
from chipqa.evaluation.bench import BenchConfig, BenchReport, format_markdown, run_bench, write_reports
from chipqa.evaluation.bench.cold import import_times
from chipqa.evaluation.bench.timing import percentile
from chipqa.evaluation.synthetic import build_corpus, rescale_figures
from chipqa.ingest.chunking import chunk_document
from chipqa.ingest.loading import load_document

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"


def test_synthetic_corpus_has_the_requested_chunks_and_is_deterministic(tmp_path: Path) -> None:
    first = build_corpus(SEEDS, tmp_path / "a", 200)
    second = build_corpus(SEEDS, tmp_path / "b", 200)
    assert first.chunks == 200
    files = sorted(p.name for p in first.folder.iterdir())
    assert files == sorted(p.name for p in second.folder.iterdir())
    assert all((first.folder / f).read_text() == (second.folder / f).read_text() for f in files)
    chunks = sum(len(chunk_document(load_document(first.folder / f, 10**7))) for f in files)
    assert chunks == 200
    text = " ".join((first.folder / f).read_text() for f in files)
    assert "Microsoft" not in text  # buyers are swapped for invented names


def test_rescaled_figures_stay_parseable() -> None:
    rng = random.Random(1)
    sentence = "Microsoft bought 485,000 Hopper chips for $7 billion, 43% of the market, in 2024."
    out = rescale_figures(sentence, rng)
    before = [f for f in parse_figures(sentence) if f.kind != "year"]
    after = [f for f in parse_figures(out) if f.kind != "year"]
    assert [f.kind for f in after] == [f.kind for f in before]
    assert "2024" in out
    assert out != sentence


def test_percentile_interpolates_like_numpy() -> None:
    import numpy as np

    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 95) == 5.0
    values = [3.0, 1.0, 7.0, 2.0, 9.0, 4.0, 4.5]
    for q in (5, 50, 95, 99):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory: pytest.TempPathFactory) -> BenchReport:
    """One bench run on 3 questions, a 200-chunk synthetic corpus, no LLM, no subprocesses."""
    tmp = tmp_path_factory.mktemp("bench")
    questions = tmp / "questions.jsonl"
    lines = (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    questions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = BenchConfig.quick(
        seeds_dir=SEEDS,
        questions_file=questions,
        report_dir=tmp / "reports",
        retrieve_questions=3,
        ask_questions=2,
        ingest_articles=12,
        scales=[200],
        server_scales=[],
        cold_start=False,
        ui=False,
        llm="none",
        concurrency_backends=["none"],
        concurrency_clients=[1, 2],
        concurrency_questions=4,
        quality_articles=[15, 30],
        quality_questions=12,
        quality_baseline=True,
    )
    settings = Settings(index_dir=tmp / "unused", corpus_dir=SEEDS, llm="none")
    report = run_bench(settings, config)
    write_reports(report, tmp / "reports")
    return report


@pytest.mark.slow
def test_bench_report_structure_and_positive_numbers(tiny_report: BenchReport) -> None:
    assert tiny_report.errors == []
    keys = {m.key for m in tiny_report.metrics}
    expected = {
        "ingest_s",
        "ingest_chunks_per_s",
        "ingest_vs_bare_encode",
        "embed_pipeline_chunks_per_s",
        "embed_pipeline_vs_bare",
        "concurrency_qps@1:none",
        "concurrency_speedup@2:none",
        "scale_figure_accuracy@15",
        "scale_evidence_presence@30",
        "scale_quality_retrieve_p95_ms@30",
        "retrieve_p50_ms",
        "retrieve_p95_ms",
        "ask_p50_ms",
        "ask_p95_ms",
        "scale_ingest_chunks_per_s@200",
        "scale_retrieve_p50_ms@200",
        "scale_retrieve_p95_ms@200",
    }
    assert expected <= keys
    rates = {"ratio"}
    for m in tiny_report.metrics:
        assert math.isfinite(m.value) and (m.value > 0 or (m.unit in rates and m.key.startswith("scale_"))), m
        if m.baseline is not None:
            assert m.baseline > 0 and m.ratio is not None and m.ratio > 0, m
    targeted = {m.key: m for m in tiny_report.metrics if m.target}
    assert set(targeted) >= {"retrieve_p50_ms", "ask_p50_ms", "embed_pipeline_vs_bare", "ingest_vs_bare_encode"}
    assert all(isinstance(m.met, bool) for m in targeted.values())
    [row] = tiny_report.scaling
    assert row["chunks"] == 200 and row["mode"] == "embedded"
    assert all(v > 0 for k, v in row.items() if isinstance(v, (int, float)))
    assert [(r["clients"], r["identical"]) for r in tiny_report.concurrency] == [(1, True), (2, True)]
    assert [(r["articles"], r["mode"]) for r in tiny_report.quality] == [(15, "embedded"), (30, "embedded")]
    small, large = tiny_report.quality
    assert 0 < small["chunks"] < large["chunks"] and large["questions"] >= small["questions"] > 0
    assert large["baseline"]["hit_at_k"] is not None and 0 <= large["evidence_presence"] <= 1


@pytest.mark.slow
def test_bench_writes_json_markdown_and_plot(tiny_report: BenchReport, tmp_path: Path) -> None:
    write_reports(tiny_report, tmp_path)
    data = json.loads((tmp_path / "bench.json").read_text())
    assert {"machine", "config", "metrics", "scaling", "errors"} <= set(data)
    markdown = (tmp_path / "bench.md").read_text()
    assert "| metric | value | target | met? | baseline | ratio |" in markdown
    assert "## Quality at scale" in markdown and "## Concurrent questions" in markdown
    assert markdown == format_markdown(tiny_report)
    assert (tmp_path / "bench_latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_import_times_sum_top_level_packages_of_a_real_importtime_run() -> None:
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import json, email.message, chipqa.core.settings"],
        capture_output=True,
        text=True,
        check=True,
    )
    times = import_times(run.stderr)
    # Each package's own modules, dependencies included under their own names (pydantic via chipqa.core.settings).
    assert {"json", "email", "chipqa", "pydantic"} <= set(times)
    assert all(v >= 0 for v in times.values())
    own = [int(line.split("|")[0].split(":")[1]) for line in run.stderr.splitlines()[1:]]
    assert sum(times.values()) == pytest.approx(sum(own) / 1e6)


@pytest.mark.slow
def test_markdown_explains_the_cold_start(tiny_report: BenchReport) -> None:
    tiny_report.cold_breakdown = {
        "wall_s": 5.1,
        "imports_s": 2.4,
        "imports_by_package_s": {"llama_index": 1.3, "chromadb": 0.7},
        "answer_stages_ms": {"retrieve": 25.0, "generate": 950.0, "total": 1100.0},
        "other_s": 1.6,
    }
    try:
        markdown = format_markdown(tiny_report)
    finally:
        tiny_report.cold_breakdown = {}
    assert "## Where a cold `chipqa ask` spends its time" in markdown
    assert "| imports, by package (own modules) | 2.40 | llama_index 1.30 s, chromadb 0.70 s |" in markdown
    assert "generate 950 ms" in markdown
