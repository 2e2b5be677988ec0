"""Timing helpers: repeated calls with wall and CPU time, percentiles, and the time LlamaIndex spends
embedding (from its instrumentation events)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


def percentile(values: Sequence[float], q: int) -> float:
    """The q-th percentile (1-99; 50 is the median), interpolated as numpy's default does ("inclusive")."""
    if not values:
        raise ValueError("no values")
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


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
