"""Reads of whole collections are paged: Chroma's SQLite reader fails on one get() of more than 32,766 records."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import chipqa.index.store
from chipqa.app.service import ChipQA
from chipqa.core.settings import Settings
from chipqa.index.store import ChunkStore


def test_whole_collection_reads_are_the_same_in_small_pages(
    make_app: Callable[..., ChipQA], corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app()
    app.ingest([corpus])
    store = app.store
    one_read = (store.all_chunks(), store.chunk_counts(), store.documents())
    monkeypatch.setattr(chipqa.index.store, "READ_PAGE", 7)  # many pages, the last one partial
    assert (store.all_chunks(), store.chunk_counts(), store.documents()) == one_read
    monkeypatch.setattr(chipqa.index.store, "READ_PAGE", len(one_read[0][0]))  # an exact multiple: one empty page
    assert store.all_chunks() == one_read[0]


@pytest.mark.slow
def test_more_chunks_than_sqlite_has_variables(tmp_path: Path) -> None:
    store = ChunkStore(Settings(index_dir=tmp_path / "index", llm="none"))
    n = 33_000
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n, 8)).astype(np.float32)
    for start in range(0, n, 5_000):
        end = min(start + 5_000, n)
        store.chunks.add(
            ids=[f"c{i}" for i in range(start, end)],
            embeddings=vectors[start:end],
            documents=[f"chunk {i}" for i in range(start, end)],
            metadatas=[{"doc_id": f"d{i % 300}", "start": i, "end": i + 1} for i in range(start, end)],
        )
    ids, texts, metas = store.all_chunks()
    assert len(ids) == len(set(ids)) == n and len(texts) == len(metas) == n
    assert sum(store.chunk_counts().values()) == n
