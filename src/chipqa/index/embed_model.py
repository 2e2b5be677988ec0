"""chipqa's encoders as a LlamaIndex embedding model (what VectorStoreIndex and IngestionPipeline call).

Imported only when a model is loaded: LlamaIndex's import is too slow for `chipqa --help`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr

# Texts LlamaIndex hands the model per call. The encoder sorts a call's texts by length and encodes them
# `batch_size` at a time; when LlamaIndex split the texts into batches of that size itself, each batch padded
# to its longest text: 24% slower than one call over the same texts (bench, seeds).
CALL_TEXTS = 1024


class ChipQAEmbedding(BaseEmbedding):
    """Documents and questions through chipqa's encoders; `label` names the vectors' kind (see the store)."""

    _encoder: Any = PrivateAttr()
    _query_encoder: Any = PrivateAttr()
    _label: str = PrivateAttr()
    _batch_size: int = PrivateAttr()
    _workers: int = PrivateAttr()

    def __init__(
        self, model_name: str, encoder: Any, query_encoder: Any, label: str, batch_size: int = 16, workers: int = 1
    ) -> None:
        super().__init__(model_name=model_name, embed_batch_size=CALL_TEXTS)
        self._encoder = encoder
        self._query_encoder = query_encoder
        self._label = label
        self._batch_size = max(1, int(batch_size))
        self._workers = max(1, int(workers))

    @classmethod
    def class_name(cls) -> str:
        return "ChipQAEmbedding"

    @property
    def label(self) -> str:
        """The encoder's identity as the index records it ("all-MiniLM-L6-v2 (bundled) fp32")."""
        return self._label

    @property
    def precision(self) -> str:
        return self._label.rsplit(" ", 1)[-1]

    @property
    def encode_batch_size(self) -> int:
        """Texts per forward pass (`embed_batch_size` is texts per LlamaIndex call)."""
        return self._batch_size

    @property
    def backend(self) -> str:
        """What embeds documents: "onnxruntime" or "sentence-transformers"."""
        return _runtime(self._encoder)

    @property
    def query_backend(self) -> str:
        """What embeds questions: "onnxruntime" or "sentence-transformers"."""
        return _runtime(self._query_encoder)

    def encode(self, texts: list[str]) -> Any:
        """Unit vectors for documents, as a float32 array (one row per text)."""
        return self._encoder.encode(texts, batch_size=self._batch_size, workers=self._workers)

    def _get_query_embedding(self, query: str) -> list[float]:
        vectors = self._query_encoder.encode([query], batch_size=1)
        return [float(x) for x in vectors[0]]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return await asyncio.to_thread(self._get_query_embedding, query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        result: list[list[float]] = self.encode(texts).tolist()
        return result

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return await asyncio.to_thread(self._get_text_embedding, text)


def _runtime(encoder: Any) -> str:
    from chipqa.index.encoders import OnnxEncoder

    return "onnxruntime" if isinstance(encoder, OnnxEncoder) else "sentence-transformers"
