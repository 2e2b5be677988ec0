"""Measurements in the bench's own process: ingest and embedding throughput, warm retrieval and answers on the
seeds, and retrieval at synthetic corpus sizes; each beside bare sentence-transformers or plain LlamaIndex."""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chipqa.core.settings import Settings
from chipqa.evaluation.bench.processes import chroma
from chipqa.evaluation.bench.report import BenchReport
from chipqa.evaluation.bench.timing import embedding_timer, percentile, time_calls

if TYPE_CHECKING:
    from chipqa.app.service import ChipQA
    from chipqa.evaluation.bench.run import BenchConfig

Log = Callable[[str], None]


def make_app(settings: Settings, embed: Any) -> ChipQA:
    """A ChipQA over `settings` sharing the run's one loaded embedding model."""
    from chipqa.app.service import ChipQA

    return ChipQA(settings, embed_model=embed)


def bench_ingest(
    report: BenchReport, settings: Settings, embed: Any, config: BenchConfig, corpus: Path, tmp: Path, log: Log
) -> None:
    """Ingest of `corpus` into empty indexes, end to end and its embedding stage, against bare
    `SentenceTransformer.encode` over exactly the same chunk texts, right after each run."""
    from chipqa.index.embedding import model_path
    from chipqa.index.encoders import load_sentence_transformer

    walls, pipeline_rates, bare_rates, same_batch_rates, chunks = [], [], [], [], 0
    bare_model = load_sentence_transformer(model_path(settings))
    bare_model.encode(["warm-up"])
    embed.get_text_embedding("warm-up")
    batch = int(getattr(embed, "encode_batch_size", 32))
    for i in range(max(1, config.ingest_repeats)):
        log(f"ingest of {corpus} into an empty index ({i + 1}/{config.ingest_repeats})")
        app = make_app(settings.model_copy(update={"index_dir": tmp / f"ingest-{i}"}), embed)
        with embedding_timer() as timer:
            t0 = time.perf_counter()
            result = app.ingest([corpus])
            walls.append(time.perf_counter() - t0)
        chunks = result.chunks_written
        pipeline_rates.append(len(timer.texts) / timer.seconds)
        # Bare sentence-transformers over exactly the texts the pipeline embedded: with its defaults (what a
        # plain script does), and with the pipeline's batch size.
        t0 = time.perf_counter()
        bare_model.encode(timer.texts)
        bare_rates.append(len(timer.texts) / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        bare_model.encode(timer.texts, batch_size=batch)
        same_batch_rates.append(len(timer.texts) / (time.perf_counter() - t0))
        shutil.rmtree(tmp / f"ingest-{i}", ignore_errors=True)
    wall = statistics.median(walls)
    pipeline, bare = statistics.median(pipeline_rates), statistics.median(bare_rates)
    same_batch = statistics.median(same_batch_rates)
    runs = f"median of {len(walls)} runs, each followed by bare encode"
    report.add("ingest_s", f"ingest {corpus.name}/ ({chunks} chunks), empty index, models loaded", wall, "s")
    report.add("ingest_chunks_per_s", "ingest throughput, end to end", chunks / wall, "chunks/s", baseline=bare)
    report.add(
        "ingest_vs_bare_encode",
        "ingest throughput, end to end / bare SentenceTransformer.encode",
        chunks / wall / bare,
        "ratio",
        note=f"{runs}; bare encode: {bare:.1f} chunks/s at its default batch size 32",
    )
    report.add(
        "embed_pipeline_chunks_per_s",
        "embedding throughput inside the ingest pipeline",
        pipeline,
        "chunks/s",
        baseline=bare,
        note="baseline: bare SentenceTransformer.encode over the same texts, default batch size 32",
    )
    report.add("embed_pipeline_vs_bare", "pipeline embedding throughput / bare encode", pipeline / bare, "ratio")
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
    log: Log,
) -> None:
    """Warm retrieval and end-to-end answers on the seed index, chipqa and the LlamaIndex baseline."""
    app = make_app(settings.model_copy(update={"llm": config.llm}), embed)
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


def bench_scaling(
    report: BenchReport,
    settings: Settings,
    embed: Any,
    config: BenchConfig,
    questions: list[str],
    tmp: Path,
    log: Log,
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
            with chroma(mode, tmp / f"chroma-{mode}-{size}") as chroma_url:
                app = make_app(
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


def baseline_retriever(app: ChipQA) -> Callable[[str], Any]:
    """Plain LlamaIndex retrieval over the same chunks: from_vector_store(...).as_retriever(top_k)."""
    from llama_index.core import VectorStoreIndex

    index = VectorStoreIndex.from_vector_store(app.store.vector_store(), embed_model=app.embed_model)
    retriever = index.as_retriever(similarity_top_k=app.settings.top_k)
    return retriever.retrieve


def baseline_query_engine(app: ChipQA, llm: str) -> Callable[[str], Any]:
    """Plain LlamaIndex answers with the same LLM (the eval's baseline recipe)."""
    from chipqa.evaluation.baseline import LlamaIndexBaseline

    return LlamaIndexBaseline(app, llm).ask
