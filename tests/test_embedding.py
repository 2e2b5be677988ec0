"""The bundled embedding model behind LlamaIndex: documents through sentence-transformers in one sorted encode
per call, questions through the ONNX export, and both give sentence-transformers' own vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from chipqa.ingest.chunking import chunk_document
from chipqa.ingest.loading import load_document

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def seed_chunk_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted(SEEDS.glob("*.txt")):
        texts += [c.text for c in chunk_document(load_document(path, 10_000_000), 360)]
    return texts


def test_a_pipeline_call_is_one_encode_in_batches_of_the_setting(embed_model: Any) -> None:
    texts = seed_chunk_texts()[:40]
    model = embed_model.sentence_transformer()
    calls: list[tuple[int, int]] = []
    original = model.encode

    def spy(sentences: list[str], **kwargs: Any) -> Any:
        calls.append((len(sentences), kwargs.get("batch_size", 32)))
        return original(sentences, **kwargs)

    model.encode = spy
    try:
        vectors = embed_model.get_text_embedding_batch(texts)
    finally:
        del model.encode
    # LlamaIndex hands all the texts over at once; sentence-transformers sorts them by length and batches.
    assert calls == [(40, embed_model.encode_batch_size)]
    bare = model.encode(texts, normalize_embeddings=True)
    assert np.abs(np.array(vectors) - bare).max() < 1e-5


def test_questions_embed_to_the_same_vectors_as_documents(embed_model: Any) -> None:
    question = "How many Hopper GPUs did Microsoft buy?"
    as_query = np.array(embed_model.get_query_embedding(question))
    as_text = np.array(embed_model.get_text_embedding(question))
    assert embed_model.query_backend in ("onnxruntime", "sentence-transformers")
    assert np.abs(as_query - as_text).max() < 1e-4
    assert abs(float(np.linalg.norm(as_query)) - 1.0) < 1e-5
