"""Measurements in fresh processes: cold `chipqa ingest`, `chipqa ask` and `chipqa --help` (with where a cold
ask spends its time), the plain LlamaIndex script, and the UI server's start-up and memory."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chipqa.core.settings import Settings
from chipqa.evaluation.bench.processes import (
    chipqa_command,
    chipqa_env,
    free_port,
    run_process,
    stop_process,
    vm_hwm_mb,
    wait_http,
)
from chipqa.evaluation.bench.report import BenchReport

if TYPE_CHECKING:
    from chipqa.evaluation.bench.run import BenchConfig

COLD_QUESTION = "How many Hopper GPUs did Microsoft buy?"
Log = Callable[[str], None]


def bench_cold(report: BenchReport, settings: Settings, config: BenchConfig, tmp: Path, log: Log) -> None:
    """Fresh processes: `chipqa ingest` into an empty index, `chipqa ask` on it, and `chipqa --help`."""
    index = tmp / "cold-index"
    env = chipqa_env(settings, index_dir=index, llm=config.llm)
    log("cold start: chipqa ingest (fresh process, empty index)")
    ingest = run_process([chipqa_command(), "ingest", str(config.seeds_dir)], env)
    report.add("cold_ingest_s", "`chipqa ingest` seeds/, fresh process, empty index", ingest.seconds, "s")
    asks = []
    for i in range(max(1, config.cold_runs)):
        log(f"cold start: chipqa ask ({i + 1}/{config.cold_runs})")
        asks.append(run_process([chipqa_command(), "ask", COLD_QUESTION], env))
    helps = [run_process([chipqa_command(), "--help"], env) for _ in range(max(3, config.cold_runs))]
    plain = None
    if config.baseline_cold:
        log("cold start: plain LlamaIndex script (HuggingFaceEmbedding + LlamaCPP, as_query_engine)")
        plain = run_process(
            [sys.executable, "-m", "chipqa.evaluation.bench.plain_llamaindex", str(index), settings.collection]
            + [str(settings.top_k), COLD_QUESTION],
            env,
        )
    median = statistics.median(r.seconds for r in asks)
    report.add(
        "cold_ask_s",
        f'`chipqa ask "{COLD_QUESTION}"`, fresh process, built index',
        median,
        "s",
        baseline=plain.seconds if plain else None,
        note=f"median of {len(asks)}; first {asks[0].seconds:.2f} s"
        + ("; baseline: plain LlamaIndex script" if plain else ""),
    )
    report.add(
        "cold_ask_rss_mb",
        "peak RSS of that `chipqa ask`",
        max(r.peak_rss_mb for r in asks),
        "MB",
        baseline=plain.peak_rss_mb if plain else None,
    )
    report.add(
        "cold_help_s",
        "`chipqa --help`, fresh process",
        statistics.median(r.seconds for r in helps),
        "s",
        note=f"median of {len(helps)}",
    )
    log("cold start: where a chipqa ask spends its time (python -X importtime)")
    report.cold_breakdown = cold_breakdown(env)


def cold_breakdown(env: dict[str, str]) -> dict[str, Any]:
    """Where a cold `chipqa ask` spends its wall time: imports by top-level package (`python -X importtime`,
    which adds some overhead of its own), the answer's stages (its `timings_ms`), and the rest (interpreter
    start, opening the index, loading models that did not overlap, exit)."""
    started = time.perf_counter()
    run = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "from chipqa.app.cli import main; main()",
            "ask",
            COLD_QUESTION,
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    wall = time.perf_counter() - started
    if run.returncode != 0:
        raise RuntimeError(f"chipqa ask under -X importtime exited {run.returncode}")
    imports = import_times(run.stderr)
    stages = json.loads(run.stdout).get("timings_ms") or {}
    answer_s = float(stages.get("total", 0.0)) / 1000
    imported = sum(imports.values())
    return {
        "wall_s": round(wall, 2),
        "imports_s": round(imported, 2),
        "imports_by_package_s": {k: round(v, 3) for k, v in sorted(imports.items(), key=lambda kv: -kv[1])[:8]},
        "answer_stages_ms": {k: round(float(v), 1) for k, v in stages.items()},
        "other_s": round(wall - imported - answer_s, 2),
    }


def import_times(stderr: str) -> dict[str, float]:
    """Seconds spent importing each package's own modules (the "self" column of `python -X importtime`,
    grouped by top-level package name). Self times add up to the whole import time even when two threads
    import at once, which would garble the cumulative column's nesting."""
    totals: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line.split("|")
        own = parts[0].removeprefix("import time:").strip()
        if len(parts) != 3 or not own.isdigit():
            continue  # the header line
        root = parts[2].strip().split(".")[0]
        totals[root] = totals.get(root, 0.0) + int(own) / 1e6
    return totals


def bench_ui(report: BenchReport, settings: Settings, index: Path, log: Log) -> None:
    """`chipqa ui` as a subprocess on `index` (built by it if empty): time until healthy, one /api/ask,
    then its peak RSS (VmHWM)."""
    port = free_port()
    env = chipqa_env(settings, index_dir=index, llm="local")
    log(f"ui: starting chipqa ui on port {port}")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [chipqa_command(), "ui", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        health = wait_http([f"{url}/api/health", f"{url}/"], proc, timeout=300)
        ready = time.perf_counter() - started
        t0 = time.perf_counter()
        body = json.dumps({"question": COLD_QUESTION}).encode()
        request = urllib.request.Request(
            f"{url}/api/ask", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310 - loopback only
            json.loads(response.read())
        ask_ms = (time.perf_counter() - t0) * 1000
        rss = vm_hwm_mb(proc.pid)
    finally:
        stop_process(proc)
    report.add("ui_ready_s", f"`chipqa ui` start until {health} answers", ready, "s")
    report.add("ui_first_ask_ms", "first POST /api/ask on the UI server", ask_ms, "ms")
    report.add("ui_rss_mb", "peak RSS of the UI server after one /api/ask (VmHWM)", rss, "MB")
