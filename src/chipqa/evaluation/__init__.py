"""Measuring chipqa: eval metrics and harness, the LlamaIndex baseline, benchmarks."""
