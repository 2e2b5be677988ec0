"""The bundled embedding model behind LlamaIndex: documents and questions through one ONNX export, in one
sorted encode per call, with sentence-transformers' own vectors; int8 weights give vectors of their own kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chipqa.core.settings import Settings
from chipqa.index.embedding import encoder_label, load_embed_model
from chipqa.index.encoders import OnnxEncoder, load_sentence_transformer
from chipqa.ingest.chunking import chunk_document
from chipqa.ingest.loading import load_document

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def seed_chunk_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted(SEEDS.glob("*.txt")):
        texts += [c.text for c in chunk_document(load_document(path, 10_000_000), 360)]
    return texts


@pytest.fixture(scope="module")
def sentence_transformer(embed_model: Any) -> Any:
    return load_sentence_transformer(embed_model.model_name)


@pytest.fixture(scope="module")
def fp32_model() -> Any:
    """The float32 export (CHIPQA_EMBED_BACKEND=onnx); the session's `embed_model` is the default, int8."""
    return load_embed_model(Settings(embed_backend="onnx"))


def test_a_pipeline_call_is_one_encode_in_batches_of_the_setting(fp32_model: Any, sentence_transformer: Any) -> None:
    embed_model = fp32_model
    texts = seed_chunk_texts()[:40]
    encoder = embed_model._encoder  # the model's own encoder, spied on (the test's only private access)
    calls: list[tuple[int, int]] = []
    original = encoder.encode

    def spy(batch: list[str], batch_size: int = 16, workers: int = 1) -> Any:
        calls.append((len(batch), batch_size))
        return original(batch, batch_size=batch_size, workers=workers)

    encoder.encode = spy
    try:
        vectors = embed_model.get_text_embedding_batch(texts)
    finally:
        del encoder.encode
    # LlamaIndex hands all the texts over at once; the encoder sorts them by length and batches.
    assert calls == [(40, embed_model.encode_batch_size)]
    assert embed_model.backend == embed_model.query_backend == "onnxruntime"
    bare = sentence_transformer.encode(texts, normalize_embeddings=True)
    assert np.abs(np.array(vectors) - bare).max() < 1e-5


def test_sorted_batches_on_several_threads_keep_each_text_in_its_row(embed_model: Any, fp32_model: Any) -> None:
    texts = seed_chunk_texts()[:37]
    encoder = fp32_model._encoder
    one_by_one = np.array([encoder.encode([t])[0] for t in texts])
    assert np.abs(encoder.encode(texts, batch_size=5, workers=3) - one_by_one).max() < 1e-5
    # int8 activations are scaled per batch, so a text's vector moves a little with its batch-mates.
    int8 = embed_model._encoder
    alone = np.array([int8.encode([t])[0] for t in texts])
    assert (int8.encode(texts, batch_size=5, workers=3) * alone).sum(axis=1).min() > 0.98


def test_questions_embed_to_the_same_vectors_as_documents(embed_model: Any) -> None:
    question = "How many Hopper GPUs did Microsoft buy?"
    as_query = np.array(embed_model.get_query_embedding(question))
    as_text = np.array(embed_model.get_text_embedding(question))
    assert np.abs(as_query - as_text).max() < 1e-5
    assert abs(float(np.linalg.norm(as_query)) - 1.0) < 1e-5


def test_int8_weights_are_the_default_and_make_close_vectors_of_another_kind(
    embed_model: Any, fp32_model: Any, sentence_transformer: Any
) -> None:
    int8 = embed_model
    assert isinstance(int8._encoder, OnnxEncoder) and int8._encoder.file.name == "model-int8.onnx"
    assert int8.label == encoder_label(Settings()) == encoder_label(Settings(embed_backend="onnx-int8"))
    assert fp32_model.label == encoder_label(Settings(embed_backend="onnx")) != int8.label
    assert (int8.precision, fp32_model.precision) == ("int8", "fp32")
    texts = seed_chunk_texts()[:60]
    cosine = (np.array(int8.get_text_embedding_batch(texts)) * sentence_transformer.encode(texts)).sum(axis=1)
    cosine /= np.linalg.norm(sentence_transformer.encode(texts), axis=1)
    assert cosine.min() > 0.9 and cosine.mean() > 0.98
