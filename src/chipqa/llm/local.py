"""The bundled Gemma as a LlamaIndex LLM over an already loaded llama_cpp.Llama.

LlamaIndex's own LlamaCPP loads its model in its constructor; chipqa starts loading the weights on a background
thread while Chroma and LlamaIndex import (a cold `chipqa ask` is about 1 s faster), so it wraps the loaded
model through LlamaIndex's public extension point for LLMs, CustomLLM.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.llms import CompletionResponse, CompletionResponseGen, CustomLLM, LLMMetadata
from llama_index.core.llms.callbacks import llm_completion_callback


class LoadedLlama(CustomLLM):
    """Completions from a loaded llama_cpp.Llama, greedy and short, as chipqa drafts them."""

    max_tokens: int = 64
    generate_kwargs: dict[str, Any] = {}
    _model: Any = PrivateAttr(default=None)

    @classmethod
    def over(cls, model: Any, max_tokens: int, generate_kwargs: dict[str, Any]) -> LoadedLlama:
        llm = cls(max_tokens=max_tokens, generate_kwargs=generate_kwargs)
        llm._model = model
        return llm

    @classmethod
    def class_name(cls) -> str:
        return "LoadedLlama"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self._model.n_ctx(), num_output=self.max_tokens, model_name=str(self._model.model_path)
        )

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        out = self._model.create_completion(prompt, max_tokens=self.max_tokens, **self.generate_kwargs)
        return CompletionResponse(text=out["choices"][0]["text"], raw=out)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        chunks = self._model.create_completion(prompt, max_tokens=self.max_tokens, stream=True, **self.generate_kwargs)

        def gen() -> Generator[CompletionResponse, None, None]:
            text = ""
            for chunk in chunks:
                delta = chunk["choices"][0]["text"]
                text += delta
                yield CompletionResponse(text=text, delta=delta, raw=chunk)

        return gen()
