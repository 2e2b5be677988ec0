"""`python -m chipqa.llm.serve ARGS`: llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server
ARGS`), with llama.cpp's AMX kernels turned off as for the in-process model (see `chipqa.llm.backends.load_llama`)."""

from __future__ import annotations

import runpy


def main() -> None:
    import llama_cpp.llama_cpp as native

    defaults = native.llama_model_default_params

    def without_extra_buffers() -> object:
        params = defaults()
        params.use_extra_bufts = False
        return params

    native.llama_model_default_params = without_extra_buffers
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
