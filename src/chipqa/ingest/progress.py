"""How a running ingest reports progress (files and chunks done, rate, ETA) and stops on Ctrl-C."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

# (chunks written, chunks to write as far as known, current document id); see `IngestProgress` for more.
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class IngestProgress:
    """Where a running ingest stands; `chunks_total` is an estimate until every file has been read."""

    files_done: int
    files_total: int
    chunks_done: int
    chunks_total: int
    elapsed_s: float
    current: str = ""

    @property
    def rate(self) -> float:
        """Chunks written per second so far."""
        return self.chunks_done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        if not self.chunks_done or self.rate <= 0:
            return None
        return max(0.0, self.chunks_total - self.chunks_done) / self.rate


Watch = Callable[["IngestProgress"], None]


class Tracker:
    """Counts what a run has settled and reports it to both kinds of progress callback."""

    def __init__(
        self, files_total: int, files_done: int, started: float, progress: Progress | None, watch: Watch | None
    ) -> None:
        self.files_total = files_total
        self.files_done = files_done
        self.chunks_done = 0
        self.chunks_expected = 0  # chunks of documents read and waiting to be written, plus those written
        self.estimate_left = 0
        self.started = started
        self.progress = progress
        self.watch = watch

    def expect(self, chunks: int, estimate_left: int) -> None:
        self.chunks_expected += chunks
        self.estimate_left = estimate_left

    def settled(self, files: int = 0, chunks: int = 0, current: str = "") -> None:
        self.files_done += files
        self.chunks_done += chunks
        if chunks and self.progress:
            self.progress(self.chunks_done, self.chunks_total, current)
        if self.watch:
            self.watch(self.snapshot(current))

    @property
    def chunks_total(self) -> int:
        return max(self.chunks_done, self.chunks_expected + self.estimate_left)

    def snapshot(self, current: str = "") -> IngestProgress:
        return IngestProgress(
            self.files_done,
            self.files_total,
            self.chunks_done,
            self.chunks_total,
            time.perf_counter() - self.started,
            current,
        )


@contextmanager
def stop_on_interrupt() -> Iterator[threading.Event]:
    """An Event set by the first Ctrl-C (SIGINT) while the block runs on the main thread; a second Ctrl-C
    interrupts at once, as usual. Elsewhere (a UI worker thread) the Event is only there to be read."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.getsignal(signal.SIGINT)

    def first_interrupt(signum: int, frame: Any) -> None:
        stop.set()
        signal.signal(signal.SIGINT, previous if callable(previous) else signal.default_int_handler)

    signal.signal(signal.SIGINT, first_interrupt)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
