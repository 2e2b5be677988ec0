"""Quality at scale: one generated news corpus (`chipqa.evaluation.newswire`) ingested in growing prefixes of
100, 1,000 and 2,000 articles, embedded and into a Chroma server; at each size, the questions that hold there
are answered by chipqa and by the plain LlamaIndex recipe and scored with `chipqa.evaluation.metrics`."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chipqa.core.settings import Settings
from chipqa.evaluation.bench.measures import make_app
from chipqa.evaluation.bench.processes import chroma
from chipqa.evaluation.bench.report import BenchReport

if TYPE_CHECKING:
    from chipqa.evaluation.bench.run import BenchConfig

Log = Callable[[str], None]
# The summary figures each row keeps (chipqa and baseline alike).
KEPT = (
    "figure_accuracy",
    "abstention_accuracy",
    "false_abstention_rate",
    "evidence_presence",
    "hit_at_k",
    "mrr",
    "grounding_rate",
    "false_conflict_rate",
    "retrieve_p50_ms",
    "retrieve_p95_ms",
    "total_p50_ms",
    "total_p95_ms",
)


def bench_quality(
    report: BenchReport, settings: Settings, embed: Any, config: BenchConfig, tmp: Path, log: Log
) -> None:
    """Every size in `config.quality_articles`, for every Chroma mode; a row and headline metrics per size."""
    from chipqa.evaluation.harness import evaluate, load_questions
    from chipqa.evaluation.newswire import generate

    sizes = sorted(set(config.quality_articles))
    log(f"quality at scale: generating {sizes[-1]} articles (seed {config.corpus_seed})")
    corpus = generate(tmp / "newswire", sizes[-1], seed=config.corpus_seed)
    files = sorted(corpus.folder.iterdir())
    # The same questions at every size (drawn from the smallest corpus): what more articles do to them.
    fixed_file = tmp / "newswire-questions-fixed.jsonl"
    corpus.write_questions(fixed_file, sizes[0], config.quality_questions, seed=config.corpus_seed)
    fixed_ids = {row["id"] for row in load_questions(fixed_file)}
    for mode in config.quality_modes:
        with chroma(mode, tmp / f"quality-chroma-{mode}") as url:
            app = make_app(
                settings.model_copy(
                    update={"index_dir": tmp / f"quality-{mode}", "chroma_url": url, "llm": config.quality_llm}
                ),
                embed,
            )
            done, ingest_s = 0, 0.0
            for size in sizes:
                log(f"quality at scale: {mode} Chroma, ingest of articles {done}-{size}")
                t0 = time.perf_counter()
                app.ingest(files[done:size])
                ingest_s += time.perf_counter() - t0
                done = size
                questions_file = tmp / f"newswire-questions-{size}.jsonl"
                corpus.write_questions(questions_file, size, config.quality_questions, seed=config.corpus_seed)
                questions = load_questions(questions_file)
                same = [row for row in corpus.questions_for(size) if row["id"] in fixed_ids]
                with_baseline = config.quality_baseline and mode == "embedded"
                log(f"quality at scale: {mode} Chroma, {len(questions)} questions at {size} articles")
                run = evaluate(app, questions, llm=config.quality_llm, baseline=with_baseline)
                row = _row(size, mode, app.store.count_chunks(), ingest_s, run)
                if size != sizes[0]:
                    log(f"quality at scale: {mode} Chroma, the {len(same)} questions of {sizes[0]} articles")
                    run = evaluate(app, same, llm=config.quality_llm, baseline=with_baseline)
                row["same_questions"] = _row(size, mode, row["chunks"], ingest_s, run)
                report.quality.append(row)
                _headline(report, row)


def _row(size: int, mode: str, chunks: int, ingest_s: float, run: dict[str, Any]) -> dict[str, Any]:
    summary = run["summary"]
    row: dict[str, Any] = {
        "articles": size,
        "chunks": chunks,
        "mode": mode,
        "questions": summary["n"],
        "llm": run["llm"],
        "ingest_s": round(ingest_s, 1),
        **{k: summary.get(k) for k in KEPT},
        "failures": summary.get("failures") or {},
        "by_tag": {tag: stats["accuracy"] for tag, stats in (summary.get("by_tag") or {}).items()},
    }
    if "baseline" in run:
        base = run["baseline"]
        row["baseline"] = {"llm": base["llm"], **{k: base["summary"].get(k) for k in KEPT}}
    return row


def _headline(report: BenchReport, row: dict[str, Any]) -> None:
    suffix = f"@{row['articles']}" + ("" if row["mode"] == "embedded" else "-server")
    base = row.get("baseline") or {}
    for key, name in (
        ("figure_accuracy", "figure accuracy"),
        ("abstention_accuracy", "abstention accuracy"),
        ("evidence_presence", "evidence presence"),
    ):
        if row.get(key) is not None:
            report.add(
                f"scale_{key}{suffix}",
                f"{name}, {row['articles']:,} generated articles, {row['mode']}",
                row[key],
                "ratio",
                baseline=base.get(key) or None,
            )
    same = row.get("same_questions") or {}
    for key in ("figure_accuracy", "evidence_presence"):
        if same.get(key) is not None:
            report.add(
                f"scale_same_{key}{suffix}",
                f"{key.replace('_', ' ')}, the first size's {same['questions']} questions, {row['articles']:,} "
                f"articles, {row['mode']}",
                same[key],
                "ratio",
                baseline=(same.get("baseline") or {}).get(key) or None,
            )
    report.add(
        f"scale_quality_retrieve_p95_ms{suffix}",
        f"retrieval p95, {row['articles']:,} generated articles ({row['chunks']:,} chunks), {row['mode']}",
        row["retrieve_p95_ms"] or 0.0,
        "ms",
    )
