"""`chipqa bench`: ingest, retrieval and answer latency, concurrency, cold start, memory, and quality at scale.

Every figure is measured in one run next to its target and, where one applies, bare sentence-transformers or
the plain LlamaIndex recipe on the same chunks and questions. Results go to eval/reports/bench.{json,md} (and
bench_scale.* for `--scale`) with a latency-vs-size plot. Timings are wall clock on a machine that may be
shared, so the report also records the load average around the run.

Modules: `run` (configuration and the command), `measures` (in-process), `cold` (fresh processes),
`concurrency`, `scale` (quality at scale), `processes` (children and servers), `timing`, `report`, `plot`;
`measure_child`, `plain_llamaindex` and `slow_llm` are run with `python -m`.
"""

from chipqa.evaluation.bench.report import BenchReport, Metric, format_markdown, write_reports
from chipqa.evaluation.bench.run import BenchConfig, run_bench, run_bench_command

__all__ = ["BenchConfig", "BenchReport", "Metric", "format_markdown", "run_bench", "run_bench_command", "write_reports"]
