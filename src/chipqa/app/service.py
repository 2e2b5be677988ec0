"""ChipQA wires chipqa's parts from settings, and hands them to the CLI, UI, eval and bench.

Each part can be passed in instead (tests share one loaded embedding model, or give a scripted LLM); what is
not passed is built from the settings on first use and kept.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chipqa.answering.pipeline import Answerer, AskResult, OnToken
from chipqa.core.errors import IndexError_
from chipqa.core.settings import Settings
from chipqa.index.embedding import model_label
from chipqa.index.store import ChunkStore
from chipqa.ingest.indexer import Indexer, IngestReport, Progress, Watch
from chipqa.llm.backends import Generator, backend_label, load_generator, preload_local

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from chipqa.answering.conversation import Turn
    from chipqa.index.retrieval import HybridRetriever


class ChipQA:
    """chipqa for one process: models load on first use and stay loaded."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: ChunkStore | None = None,
        embed_model: BaseEmbedding | None = None,
        retriever: HybridRetriever | None = None,
        llms: Mapping[str, Generator | None] | None = None,
    ) -> None:
        """`llms` maps a backend name ("local", "none", ...) to its Generator; others load from settings."""
        self.settings = settings
        self._lock = threading.RLock()
        self._store = store
        self._embed = embed_model
        self._retriever = retriever
        self._generators: dict[str, Generator | None] = dict(llms or {})

    @property
    def store(self) -> ChunkStore:
        with self._lock:
            if self._store is None:
                self._store = ChunkStore(self.settings)
            return self._store

    @property
    def embed_model(self) -> BaseEmbedding:
        with self._lock:
            if self._embed is None:
                from chipqa.index.embedding import for_index, load_embed_model

                settings = self.settings
                if settings.embed_backend == "auto":  # embed like the index already does
                    settings = for_index(settings, self.store.vector_precision())
                self._embed = load_embed_model(settings)
            return self._embed

    @property
    def retriever(self) -> HybridRetriever:
        with self._lock:
            if self._retriever is None:
                from chipqa.index.embedding import lexicon
                from chipqa.index.retrieval import HybridRetriever

                self._retriever = HybridRetriever(
                    self.store, self.embed_model, self.settings.top_k, lexicon(self.settings)
                )
            return self._retriever

    def generator(self, mode: str | None = None) -> Generator | None:
        """The LLM for a backend (default: the configured one), loaded once."""
        mode = mode or self.settings.llm
        with self._lock:
            if mode not in self._generators:
                settings = self.settings.model_copy(update={"llm": mode})
                self._generators[mode] = load_generator(settings)
            return self._generators[mode]

    def preload(self, mode: str | None = None) -> None:
        """Start loading the query encoder and the local LLM's weights on background threads.

        Both are native code that releases the GIL, so they run on another core while the caller imports
        Chroma and LlamaIndex (a cold `chipqa ask` is ~1.3 s faster; see eval/reports/bench.md)."""
        from chipqa.index.embedding import preload_query_encoder

        mode = mode or self.settings.llm
        with self._lock:
            if self._embed is None:
                preload_query_encoder(self.settings)
            if mode not in self._generators:
                preload_local(self.settings.model_copy(update={"llm": mode}))

    def indexer(self) -> Indexer:
        return Indexer(
            self.store,
            self.embed_model,
            int(self.settings.max_upload_mb * 1e6),
            self.settings.chunk_chars,
            batch_chunks=self.settings.ingest_batch_chunks,
        )

    def ingest(
        self,
        paths: Iterable[Path] | None = None,
        prune: bool = False,
        reset: bool = False,
        progress: Progress | None = None,
        watch: Watch | None = None,
    ) -> IngestReport:
        return self.indexer().ingest(list(paths or self.default_paths()), prune, reset, progress, watch)

    def default_paths(self) -> list[Path]:
        """What `chipqa ingest` reads with no PATH: the corpus folder, and the uploads folder once it exists."""
        corpus, uploads = self.settings.corpus_dir, self.settings.uploads_dir
        paths = [corpus] if corpus.exists() else []
        if uploads.is_dir() and uploads.resolve() != corpus.resolve():
            paths.append(uploads)
        return paths or [corpus]  # a missing corpus folder is then named in the error

    def index_is_empty(self) -> bool:
        return not self.store.documents()

    def ensure_index(self, progress: Progress | None = None, watch: Watch | None = None) -> IngestReport | None:
        """Build the index from the corpus folder when it holds no documents yet."""
        if not self.index_is_empty():
            return None
        if not any(p.exists() for p in self.default_paths()):
            raise IndexError_(
                f"the index at {self.store.location} is empty and the corpus folder "
                f"{self.settings.corpus_dir} does not exist; run `chipqa ingest PATH`"
            )
        return self.ingest(progress=progress, watch=watch)

    def answerer(self, llm: str | None = None) -> Answerer:
        return Answerer(self.retriever, self.generator(llm), self.settings.top_k, self.settings.max_question_chars)

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        llm: str | None = None,
        on_token: OnToken | None = None,
        history: Sequence[Turn] | None = None,
    ) -> AskResult:
        """Answer a question; with `history` (oldest first), a follow-up is resolved against it first.

        The answer record keeps what was asked as `question` and what was answered as `resolved_question`.
        """
        if not history:
            return self.answerer(llm).ask(question, top_k=top_k, on_token=on_token)
        from chipqa.answering.conversation import resolve
        from chipqa.answering.understand import validate

        asked = validate(question, self.settings.max_question_chars)
        self.retriever.refresh()
        resolved = resolve(asked, history, self.retriever.vocabulary.names)
        result = self.answerer(llm).ask(resolved, top_k=top_k, on_token=on_token)
        if resolved != asked:
            result.answer.resolved_question = result.answer.question
            result.answer.question = asked
        return result

    def status(self) -> dict[str, Any]:
        docs = self.store.documents()
        return {
            "index": self.store.location,
            "mode": "server" if self.settings.chroma_url else "embedded",
            "documents": len(docs),
            "chunks": self.store.count_chunks(),
            "embedding_model": model_label(self.settings),
            "llm": backend_label(self.settings),
            "top_k": self.settings.top_k,
            "corpus_dir": str(self.settings.corpus_dir),
            "uploads_dir": str(self.settings.uploads_dir),
        }
