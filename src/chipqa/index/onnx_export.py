"""A one-time ONNX export of a sentence-transformers model, and its int8 quantization, cached per machine.

Only the transformer is exported; tokenization (tokenizers), pooling and normalization are done around it
exactly as sentence-transformers does them (`OnnxEncoder`), and an export is kept only if it reproduces the
model's own vectors. Kept instead of sentence-transformers' `backend="onnx"`: that needs Optimum (not a
dependency) and imports torch, whose import alone costs a cold `chipqa ask` ~8 s of CPU (bench).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Bump when the export recipe changes, so stale exports are not reused.
_ONNX_FORMAT = "1"
PRECISIONS = ("fp32", "int8")
_PROBES = [
    "How many Hopper GPUs did Microsoft buy in 2024?",
    "Tencent and ByteDance each ordered around 230,000 chips, mostly H20, under U.S. export rules.",
]
# The float32 export must reproduce sentence-transformers' vectors; int8 weights move them a little (cosine to
# the float32 vector ≥ 0.96 on the seeds and eval/dev, mean 0.992), which retrieval tolerates (see README).
_FP32_TOLERANCE = 1e-4
_INT8_MIN_COSINE = 0.9


def onnx_cache_dir() -> Path:
    """Where ONNX exports of embedding models are kept ($XDG_CACHE_HOME/chipqa/onnx)."""
    from chipqa.core.environment import cache_home

    return cache_home() / "chipqa" / "onnx"


@dataclass(frozen=True)
class ModelSpec:
    """What a model folder must hold for the ONNX path: Transformer → Pooling (mean or CLS) [→ Normalize]."""

    folder: Path
    pooling: str
    max_length: int
    pad_id: int
    pad_token: str

    @property
    def tokenizer_file(self) -> Path:
        return self.folder / "tokenizer.json"

    def cache_file(self, precision: str = "fp32") -> Path:
        """The export's path, keyed by the weights' identity so a changed model is exported anew."""
        parts = [_ONNX_FORMAT, str(self.folder.resolve()), (self.folder / "config.json").read_text("utf-8")]
        for name in ("model.safetensors", "pytorch_model.bin"):
            weights = self.folder / name
            if weights.is_file():
                stat = weights.stat()
                parts.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
        key = hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]
        name = "model.onnx" if precision == "fp32" else f"model-{precision}.onnx"
        return onnx_cache_dir() / f"{self.folder.name}-{key}" / name


def model_spec(path: str) -> ModelSpec | None:
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
    return ModelSpec(folder, pooling, max_length, pad_id, pad_token)


def export(spec: ModelSpec, model: Any, precision: str) -> Path | None:
    """Export a loaded sentence-transformers model (and quantize it for int8) into the cache; the file, or
    None when the export fails or does not reproduce the model's vectors (the caller stays on torch)."""
    try:
        import onnx  # noqa: F401 - torch's exporter needs it
    except ImportError:
        return None
    fp32 = spec.cache_file("fp32")
    if not fp32.is_file() and not _export_fp32(spec, model, fp32):
        return None
    if precision == "fp32":
        return fp32
    target = spec.cache_file(precision)
    if target.is_file() or _quantize(spec, model, fp32, target):
        return target
    return None


def _temporary(target: Path) -> Path:
    return target.with_name(f".{os.getpid()}-{threading.get_ident()}-{target.name}")


def _export_fp32(spec: ModelSpec, model: Any, target: Path) -> bool:
    from chipqa.index.encoders import OnnxEncoder

    tmp = _temporary(target)
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
        expected = model.encode(_PROBES, normalize_embeddings=True, show_progress_bar=False)
        if float(np.abs(OnnxEncoder(tmp, spec).encode(_PROBES) - expected).max()) > _FP32_TOLERANCE:
            log.warning("ONNX export of %s does not reproduce its vectors; embedding stays on torch", spec.folder)
            return False
        os.replace(tmp, target)
        return True
    except Exception as exc:  # exporting is an optimisation; any failure keeps the torch path
        log.debug("ONNX export failed: %s", exc)
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _quantize(spec: ModelSpec, model: Any, fp32: Path, target: Path) -> bool:
    """int8 weights for the matrix multiplications only, one scale per output channel: the recipe that kept
    retrieval equal on every eval set (quantizing every op, or per tensor, moved vectors 3x as far)."""
    from chipqa.index.encoders import OnnxEncoder

    tmp = _temporary(target)
    try:
        import numpy as np
        from onnxruntime.quantization import QuantType, quantize_dynamic

        logging.disable(logging.WARNING)  # its advice to pre-process first is logged on the root logger
        try:
            quantize_dynamic(
                str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
            )
        finally:
            logging.disable(logging.NOTSET)
        expected = model.encode(_PROBES, normalize_embeddings=True, show_progress_bar=False)
        cosine = (OnnxEncoder(tmp, spec).encode(_PROBES) * expected).sum(axis=1)
        if float(np.min(cosine)) < _INT8_MIN_COSINE:
            log.warning("int8 quantization of %s moves its vectors too far; embedding stays float32", spec.folder)
            return False
        os.replace(tmp, target)
        return True
    except Exception as exc:  # quantizing is an optimisation too
        log.debug("int8 quantization failed: %s", exc)
        return False
    finally:
        tmp.unlink(missing_ok=True)
