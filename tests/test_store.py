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


def test_the_index_records_its_encoder_and_refuses_to_mix_vectors(
    make_app: Callable[..., ChipQA], corpus: Path
) -> None:
    from chipqa.core.errors import IndexError_
    from chipqa.index.embedding import load_embed_model

    app = make_app()  # the default encoder: int8 weights
    app.ingest([corpus / "000_be9f344685327539.txt"])
    assert app.store.encoder() == app.embed_model.label == "all-MiniLM-L6-v2 (bundled) int8"
    before = app.store.chunk_counts()
    fp32_settings = app.settings.model_copy(update={"embed_backend": "onnx"})
    fp32 = ChipQA(fp32_settings, store=app.store, embed_model=load_embed_model(fp32_settings))
    for attempt in (lambda: fp32.ingest([corpus]), lambda: fp32.ask("How many Hopper GPUs did Microsoft buy?")):
        with pytest.raises(IndexError_) as refused:
            attempt()
        message = str(refused.value)
        assert "\n" not in message and "was embedded with all-MiniLM-L6-v2 (bundled) int8" in message
        assert "chipqa ingest --reset" in message
    assert app.store.chunk_counts() == before  # nothing was written
    fp32.ingest([corpus], reset=True)  # a rebuild takes the new encoder
    assert app.store.encoder() == "all-MiniLM-L6-v2 (bundled) fp32"
    passages = fp32.ask("How many Hopper GPUs did Microsoft buy?").passages  # questions work again
    assert passages and any("485,000" in p.text for p in passages)
    # With the default setting, a new process embeds like the index it opens.
    follows = ChipQA(app.settings.model_copy(update={"embed_backend": "auto"}), store=app.store)
    assert follows.embed_model.label == "all-MiniLM-L6-v2 (bundled) fp32"


def test_an_index_from_before_encoders_were_recorded_takes_float32_vectors_only(
    make_app: Callable[..., ChipQA], corpus: Path
) -> None:
    from chipqa.core.errors import IndexError_
    from chipqa.index.embedding import load_embed_model

    fp32_settings = Settings(index_dir=make_app().settings.index_dir, llm="none", embed_backend="onnx")
    app = ChipQA(fp32_settings, embed_model=load_embed_model(fp32_settings))
    app.ingest([corpus / "000_be9f344685327539.txt"])
    app.store.chunks.modify(metadata={"written_by": "chipqa 0.1"})  # no encoder, as earlier versions left it
    assert app.store.encoder() is None and app.store.vector_precision() == "fp32"
    with pytest.raises(IndexError_, match="an earlier chipqa"):
        app.store.check_encoder("all-MiniLM-L6-v2 (bundled) int8", "int8", claim=True)
    app.ingest([corpus])  # float32, like sentence-transformers: the same vectors, recorded from now on
    assert app.store.encoder() == "all-MiniLM-L6-v2 (bundled) fp32"


def test_the_vector_search_is_wide_enough_to_rank_alike_in_every_process(tmp_path: Path) -> None:
    """At Chroma's default breadth the dense top 20 of a small index differed between processes (the graph is
    built in parallel); new indexes search wider, and an older index is widened when opened."""
    index = tmp_path / "index"
    settings = Settings(index_dir=index, llm="none")
    assert ChunkStore(settings).chunks.configuration["hnsw"]["ef_search"] >= chipqa.index.store.SEARCH_EF

    older = ChunkStore(Settings(index_dir=tmp_path / "older", llm="none"))
    made = older.client.get_or_create_collection("chipqa", metadata={"hnsw:space": "cosine"})  # as before SEARCH_EF
    assert made.configuration["hnsw"]["ef_search"] < chipqa.index.store.SEARCH_EF
    assert older.chunks.configuration["hnsw"]["ef_search"] >= chipqa.index.store.SEARCH_EF
    assert older.client.get_collection("chipqa").configuration["hnsw"]["ef_search"] >= chipqa.index.store.SEARCH_EF
