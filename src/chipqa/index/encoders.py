"""Text encoders behind chipqa's embedding model: an ONNX export run by ONNX Runtime, or sentence-transformers.

Both are safe to call from several threads at once (ONNX Runtime's `run` and the tokenizer are; the torch
encoder takes a lock). Texts are sorted by length before they are cut into batches, so a batch pads little.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chipqa.core.errors import ConfigError

if TYPE_CHECKING:
    from chipqa.index.onnx_export import ModelSpec


class OnnxEncoder:
    """Tokenizer, ONNX transformer, then pooling and normalization as sentence-transformers does them."""

    def __init__(self, onnx_file: Path, spec: ModelSpec) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.spec = spec
        self.file = onnx_file
        self.tokenizer = Tokenizer.from_file(str(spec.tokenizer_file))
        self.tokenizer.enable_truncation(spec.max_length)
        self.tokenizer.enable_padding(pad_id=spec.pad_id, pad_token=spec.pad_token)
        options = ort.SessionOptions()
        # One thread per call: a question is a few dozen tokens, and spinning threads on a busy machine cost 10x
        # (640 ms vs 72 ms per query with 2 threads under load). Documents get their cores by running batches
        # on several threads at once (`workers`), which measured faster than intra-op threads here.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}

    def encode(self, texts: Sequence[str], batch_size: int = 16, workers: int = 1) -> Any:
        """Unit vectors, one row per text, in the order given."""
        return _sorted_batches(self._encode_batch, texts, batch_size, workers)

    def _encode_batch(self, texts: list[str]) -> Any:
        import numpy as np

        batch = self.tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in batch], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in batch], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in batch], dtype=np.int64),
        }
        hidden = self.session.run(None, {k: v for k, v in feeds.items() if k in self.inputs})[0]
        if self.spec.pooling == "cls":
            vectors = hidden[:, 0]
        else:
            mask = feeds["attention_mask"][..., None].astype(np.float32)
            vectors = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.clip(norms, 1e-12, None)


class TorchEncoder:
    """sentence-transformers itself, for models the ONNX path does not cover (or CHIPQA_EMBED_BACKEND=torch)."""

    def __init__(self, path: str) -> None:
        self.model = load_sentence_transformer(path)
        self._lock = threading.Lock()  # a torch module is not documented as safe to call from two threads

    def encode(self, texts: Sequence[str], batch_size: int = 16, workers: int = 1) -> Any:
        with self._lock:  # torch already uses every core for one call
            return self.model.encode(
                list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
            )


def load_sentence_transformer(path: str) -> Any:
    """sentence-transformers on the CPU, from disk; a model that cannot be loaded is a ConfigError."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" bars are noise for a CLI
    try:
        return SentenceTransformer(path, device="cpu")
    except OSError as exc:
        raise ConfigError(f"cannot load embedding model '{path}': {str(exc).splitlines()[0]}") from None


def _sorted_batches(encode: Any, texts: Sequence[str], batch_size: int, workers: int) -> Any:
    import numpy as np

    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    batches = [order[i : i + batch_size] for i in range(0, len(order), max(1, batch_size))]
    if workers > 1 and len(batches) > 1:
        with ThreadPoolExecutor(min(workers, len(batches)), thread_name_prefix="chipqa-embed") as pool:
            parts = list(pool.map(lambda idx: encode([texts[i] for i in idx]), batches))
    else:
        parts = [encode([texts[i] for i in idx]) for idx in batches]
    out = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
    for idx, part in zip(batches, parts, strict=True):
        out[idx] = part
    return out
