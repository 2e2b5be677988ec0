"""Long ingests: files are read on a thread of their own, progress reports files and chunks done with a rate and
an ETA, and Ctrl-C stops after the batch being written; the next run completes the work."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import chipqa.ingest.indexer
from chipqa.app.service import ChipQA
from chipqa.evaluation.newswire import generate
from chipqa.ingest.indexer import IngestProgress


@pytest.fixture(scope="module")
def articles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("articles") / "corpus", 40, seed=5).folder


def test_progress_counts_files_and_chunks_with_a_rate_and_an_eta(
    make_app: Callable[..., ChipQA], articles: Path
) -> None:
    app = make_app(ingest_batch_chunks=64)
    seen: list[IngestProgress] = []
    legacy: list[tuple[int, int, str]] = []
    report = app.ingest([articles], watch=seen.append, progress=lambda *args: legacy.append(args))
    assert report.chunks_written > 64 * 3 and not report.interrupted
    assert [p.files_done for p in seen] == sorted(p.files_done for p in seen)
    assert seen[-1].files_done == seen[-1].files_total == 40
    assert seen[-1].chunks_done == seen[-1].chunks_total == report.chunks_written
    written = [p for p in seen if p.chunks_done]
    assert all(p.chunks_total >= p.chunks_done and p.rate > 0 and p.eta_s is not None for p in written)
    assert legacy[-1][:2] == (report.chunks_written, report.chunks_written)
    again: list[IngestProgress] = []
    app.ingest([articles], watch=again.append)  # nothing to write: every file settles as unchanged
    assert again[-1].files_done == 40 and again[-1].chunks_done == 0 and again[-1].eta_s is None


def test_files_are_read_on_their_own_thread(
    make_app: Callable[..., ChipQA], articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: set[str] = set()
    real = chipqa.ingest.indexer.load_document

    def spy(path: Path, max_bytes: int) -> Any:
        threads.add(threading.current_thread().name)
        return real(path, max_bytes)

    monkeypatch.setattr(chipqa.ingest.indexer, "load_document", spy)
    make_app().ingest([articles])
    assert threads == {"chipqa-read"}


def test_ctrl_c_stops_after_the_batch_being_written_and_the_next_run_completes(
    make_app: Callable[..., ChipQA], articles: Path
) -> None:
    app = make_app(ingest_batch_chunks=64)
    interrupted = []

    def press_ctrl_c(p: IngestProgress) -> None:
        if p.chunks_done and not interrupted:
            interrupted.append(p.chunks_done)
            signal.raise_signal(signal.SIGINT)  # as the terminal would; handled between two batches

    previous = signal.getsignal(signal.SIGINT)
    report = app.ingest([articles], watch=press_ctrl_c)
    assert signal.getsignal(signal.SIGINT) is previous  # the handler is gone with the run
    assert report.interrupted and "interrupted" in report.summary()
    # Ctrl-C came as the first batch was committed: the run stopped right after it.
    assert report.chunks_written == interrupted[0] <= 64
    docs = app.store.documents()
    assert len(docs) == len(report.added) < 40
    assert sum(d.chunks for d in docs.values()) == app.store.count_chunks() == report.chunks_written
    rest = app.ingest([articles])
    assert not rest.interrupted and len(rest.unchanged) == len(report.added)
    assert rest.total_documents == 40 and not (set(rest.added) & set(report.added))
