"""Questions from several clients at once: q/s and latency at 1, 4 and 8 clients for each LLM backend, through
the API's `Guarded` (what each API and UI request calls, on a worker thread of its own), and whether every
answer record equals the one a single client got."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from chipqa.core.settings import Settings
from chipqa.evaluation.bench.processes import slow_llm
from chipqa.evaluation.bench.report import BenchReport
from chipqa.evaluation.bench.timing import percentile

if TYPE_CHECKING:
    from chipqa.app.service import ChipQA
    from chipqa.evaluation.bench.run import BenchConfig

Log = Callable[[str], None]


def bench_concurrency(report: BenchReport, app: ChipQA, config: BenchConfig, questions: list[str], log: Log) -> None:
    """For each backend: the same questions from 1, 4 and 8 clients (threads), answered by one shared app."""
    asked = [questions[i % len(questions)] for i in range(config.concurrency_questions)]
    for backend in config.concurrency_backends:
        with _backend(app.settings, backend, config.slow_llm_delay_s) as settings:
            from chipqa.app.api import Guarded
            from chipqa.app.service import ChipQA

            shared = ChipQA(settings, store=app.store, embed_model=app.embed_model, retriever=app.retriever)
            guarded = Guarded(shared)
            guarded.warm_up()
            guarded.ask(asked[0])  # one-off costs (prompt cache, lazy imports) before the clock starts
            label = (
                backend if backend != "openai-compatible" else f"{backend} (loopback, {config.slow_llm_delay_s:g} s)"
            )
            log(f"concurrency: {len(asked)} questions, llm {label}, at {config.concurrency_clients} clients")
            reference: dict[str, Any] = {}
            base_qps = 0.0
            for clients in config.concurrency_clients:
                row, records = _run(guarded, asked, clients)
                reference = reference or dict(records)  # the first run (1 client) is the reference
                base_qps = base_qps or row["qps"]
                row["backend"] = label
                row["identical"] = all(reference.get(q) == r for q, r in records)
                row["speedup"] = round(row["qps"] / base_qps, 2)
                report.concurrency.append(row)
                report.add(
                    f"concurrency_qps@{clients}:{backend}",
                    f"questions/s, {clients} concurrent clients, llm {label}",
                    row["qps"],
                    "q/s",
                    note=f"p50 {row['p50_ms']:,.0f} ms, p95 {row['p95_ms']:,.0f} ms; identical answers: "
                    f"{row['identical']}",
                )
                if clients > 1:
                    report.add(
                        f"concurrency_speedup@{clients}:{backend}",
                        f"throughput at {clients} clients / 1 client, llm {label}",
                        row["speedup"],
                        "ratio",
                    )


def _run(guarded: Any, asked: list[str], clients: int) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """Ask every question once, spread over `clients` threads: the run's numbers and each answer record."""
    latencies: list[float] = []
    records: list[tuple[str, dict[str, Any]]] = []

    def client(share: list[str]) -> None:
        for question in share:
            t0 = time.perf_counter()
            record = guarded.ask(question).answer.to_dict()
            latencies.append((time.perf_counter() - t0) * 1000)
            records.append((question, {k: v for k, v in record.items() if k != "timings_ms"}))

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, [asked[i::clients] for i in range(clients)]))
    wall = time.perf_counter() - started
    row = {
        "clients": clients,
        "questions": len(asked),
        "wall_s": round(wall, 2),
        "qps": round(len(asked) / wall, 3),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
    }
    return row, records


@contextmanager
def _backend(settings: Settings, backend: str, delay_s: float) -> Iterator[Settings]:
    """Settings answering with `backend`; openai-compatible is the slow loopback server, started here."""
    if backend != "openai-compatible":
        yield settings.model_copy(update={"llm": backend})
        return
    with slow_llm(delay_s) as url:
        from chipqa.evaluation.bench.slow_llm import MODEL

        yield settings.model_copy(update={"llm": backend, "llm_base_url": url, "llm_model": MODEL})
