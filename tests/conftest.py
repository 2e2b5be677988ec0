"""Shared fixtures: real Chroma, the real bundled embedding model, and (for slow tests) the bundled LLM."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chipqa.app.service import ChipQA
from chipqa.core.settings import Settings, load_settings
from chipqa.index.embedding import offline

offline()

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's own CHIPQA_* settings or chipqa.toml."""
    import os

    for key in list(os.environ):
        if key.startswith("CHIPQA_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CHIPQA_CONFIG", "/nonexistent/chipqa.toml")


@pytest.fixture(scope="session")
def embed_model() -> Any:
    """The bundled all-MiniLM-L6-v2, loaded once per test session."""
    from chipqa.index.embedding import load_embed_model

    return load_embed_model(load_settings())


@pytest.fixture
def make_app(tmp_path: Path, embed_model: Any) -> Callable[..., ChipQA]:
    """A ChipQA with its own empty index and corpus folder under tmp_path; overrides go to Settings."""

    def factory(**overrides: Any) -> ChipQA:
        defaults: dict[str, Any] = {
            "index_dir": tmp_path / "index",
            "corpus_dir": tmp_path / "corpus",
            "uploads_dir": tmp_path / "uploads",
            "llm": "none",
        }
        return ChipQA(Settings(**{**defaults, **overrides}), embed_model=embed_model)

    return factory


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of the seed articles."""
    target = tmp_path / "corpus"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture(scope="session")
def seed_app(tmp_path_factory: pytest.TempPathFactory, embed_model: Any) -> Iterator[ChipQA]:
    """A session-wide index of the seeds, answering without an LLM (extractive)."""
    base = tmp_path_factory.mktemp("seed_index")
    settings = Settings(index_dir=base / "index", corpus_dir=SEEDS, uploads_dir=base / "uploads", llm="none")
    app = ChipQA(settings, embed_model=embed_model)
    app.ingest([SEEDS])
    yield app


@pytest.fixture(scope="session")
def llm_app(seed_app: ChipQA) -> ChipQA:
    """The seed index answering with the bundled Gemma 3 270M (the default path)."""
    app = ChipQA(
        seed_app.settings.model_copy(update={"llm": "local"}),
        store=seed_app.store,
        embed_model=seed_app.embed_model,
        retriever=seed_app.retriever,
    )
    return app
