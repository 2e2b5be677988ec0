"""All settings, typed and documented in one place; read from CHIPQA_* variables and chipqa.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import tomllib
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from chipqa.core.errors import ConfigError

LLMMode = Literal["local", "openai-compatible", "openai", "none"]
EmbedBackend = Literal["auto", "onnx", "onnx-int8", "torch"]


class _TomlSource(PydanticBaseSettingsSource):
    """Reads chipqa.toml from the working directory, or the file named by CHIPQA_CONFIG."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self._data: dict[str, Any] = {}
        if path is not None and path.is_file():
            try:
                self._data = tomllib.loads(path.read_text(encoding="utf-8")).get("chipqa", {})
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot read {path}: {exc}") from exc

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if k in self.settings_cls.model_fields}


class Settings(BaseSettings):
    """chipqa's configuration. Environment variables win over chipqa.toml ([chipqa] table)."""

    model_config = SettingsConfigDict(env_prefix="CHIPQA_", extra="ignore")

    index_dir: Path = Field(Path("index"), description="Embedded Chroma directory.")
    chroma_url: str | None = Field(None, description="Chroma server URL; when set, used instead of index_dir.")
    collection: str = Field("chipqa", description="Chroma collection name.")
    corpus_dir: Path = Field(Path("seeds"), description="Default folder for `chipqa ingest` (never written to).")
    uploads_dir: Path = Field(
        Path("uploads"),
        description="Where UI uploads are saved (not the corpus folder); `chipqa ingest` with no PATH reads it too.",
    )
    embed_model: str | None = Field(
        None, description="sentence-transformers model name or path; default: the bundled all-MiniLM-L6-v2."
    )
    # int8 weights embed 2x faster than float32 ONNX (3-5x bare sentence-transformers) with retrieval equal
    # within 0.01 on every eval set (see README, Performance); their vectors need an index of their own.
    embed_backend: EmbedBackend = Field(
        "auto",
        description="What embeds documents and questions: onnx (an ONNX export, the same vectors as "
        "sentence-transformers), onnx-int8 (int8 weights, faster; an index built with it needs it), torch, or "
        "auto: what the index was built with, and onnx-int8 for a new index.",
    )
    embed_workers: int | None = Field(
        None, ge=1, description="Threads embedding documents at once during an ingest; default: all cores."
    )
    # 16 measured fastest on 2 CPU cores for ~180-char chunks (92 chunks/s vs 82 at 32 and 63 at 64): larger
    # batches pad more, smaller ones pay more per call (see eval/reports/bench.md).
    embed_batch_size: int = Field(16, ge=1, description="Chunks per forward pass of the embedding model.")
    ingest_batch_chunks: int = Field(
        256, ge=1, description="Chunks embedded, written and committed together; a crash loses at most one batch."
    )
    # Measured with --llm none before the answering rebuild (evidence presence 0.963 → 0.981 on eval/questions,
    # 0.667 → 0.709 dev tune, 0.699 → 0.715 dev test, 0.607 → 0.661 at 2,000 generated articles; MRR within
    # 0.003, +0.028 at 2,000). Off by default: answer selection's features were fitted on title-free BM25 scores.
    bm25_titles: bool = Field(
        False,
        description="BM25 scores each passage together with its document's title (facts often name "
        "their subject only in the title).",
    )
    llm: LLMMode = Field("local", description="LLM backend: local (bundled Gemma), openai-compatible, openai, none.")
    llm_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible server (…/v1).")
    llm_model: str | None = Field(None, description="Model name for the remote LLM.")
    llm_api_key: SecretStr | None = Field(None, description="API key for the remote LLM (never printed).")
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias="OPENAI_API_KEY",
        description="OpenAI's usual variable, used by the openai backend when CHIPQA_LLM_API_KEY is unset.",
    )
    llm_timeout_s: float = Field(60.0, gt=0, description="Timeout of one remote LLM request, seconds.")
    llm_max_tokens: int = Field(64, ge=8, le=1024, description="Most tokens the LLM may generate per answer.")
    llm_threads: int | None = Field(None, description="CPU threads for the local LLM; default: all cores.")
    chunk_chars: int = Field(
        360,
        ge=1,
        le=4000,
        description="Sentences are grouped into chunks up to this many characters (1: one sentence).",
    )
    top_k: int = Field(10, ge=1, le=50, description="Passages retrieved per question.")
    max_question_chars: int = Field(1000, ge=10, description="Longest question accepted.")
    max_upload_mb: float = Field(20.0, gt=0, description="Largest file accepted by ingestion and uploads, MB.")
    ui_host: str = Field("127.0.0.1", description="Address the UI/API server binds to.")
    ui_port: int = Field(7860, ge=1, le=65535, description="Port of the UI/API server.")
    ui_auth: SecretStr | None = Field(None, description="Basic auth for the UI/API as 'user:password'.")
    api_max_body_kb: int = Field(
        256, ge=1, description="Largest JSON API request body, KB (a question with its history); 413 above it."
    )
    debug: bool = Field(False, description="Show tracebacks for errors.")

    @field_validator("chroma_url", "llm_base_url", "llm_model", "ui_auth", "embed_model", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        import os

        path = Path(os.environ.get("CHIPQA_CONFIG", "chipqa.toml"))
        return (init_settings, env_settings, _TomlSource(settings_cls, path))


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and chipqa.toml, with explicit overrides on top."""
    from pydantic import ValidationError

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"bad setting CHIPQA_{name.upper()}: {first['msg']}") from None
