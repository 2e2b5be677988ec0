"""Idempotent, incremental ingestion: files → chunks → embeddings → Chroma, one commit marker per document."""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from chipqa.core.errors import IndexError_, InputError
from chipqa.core.locks import file_lock
from chipqa.core.models import Document
from chipqa.index.store import ChunkStore, DocRecord
from chipqa.ingest.chunking import Chunk, chunk_document
from chipqa.ingest.loading import Skipped, load_documents

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import TextNode

# Documents embedded and written together, then committed, so a crash or an interrupt loses at most one batch
# (~3 s of embedding). One encode call over 256 chunks pads less than over 64 (its texts are sorted by length):
# ingest of the seeds ran 73 chunks/s against 59 with 64 (bench).
BATCH_CHUNKS = 256
# How long a second writer waits for the first before giving up.
LOCK_WAIT_S = 60.0

Progress = Callable[[int, int, str], None]
_NOT_EMBEDDED = ["start", "end", "doc_sha", "date"]


@dataclass
class IngestReport:
    """What one ingest run did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks_written: int = 0
    chunks_removed: int = 0
    total_documents: int = 0
    total_chunks: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed, {len(self.skipped)} skipped; "
            f"{self.chunks_written} chunks written, {self.chunks_removed} removed; "
            f"index: {self.total_documents} documents, {self.total_chunks} chunks ({self.seconds:.1f}s)"
        )


def to_nodes(doc: Document, chunks: Sequence[Chunk], embed_title: bool = False) -> list[TextNode]:
    """LlamaIndex nodes whose text is the exact span and whose ref_doc_id is the doc id."""
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    nodes = []
    for c in chunks:
        node = TextNode(
            id_=c.chunk_id,
            text=c.text,
            start_char_idx=c.start,
            end_char_idx=c.end,
            metadata={
                "title": doc.title,
                "start": c.start,
                "end": c.end,
                "doc_sha": doc.sha256,
                "date": doc.date or "",
            },
            # Measured: the title in every chunk's embedding text drowns the sentence (see README, Chunking).
            excluded_embed_metadata_keys=[*_NOT_EMBEDDED] if embed_title else [*_NOT_EMBEDDED, "title"],
            excluded_llm_metadata_keys=["start", "end", "doc_sha", "date", "title"],
        )
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=doc.doc_id)
        nodes.append(node)
    return nodes


class Indexer:
    """Brings an index in line with a set of files."""

    def __init__(
        self,
        store: ChunkStore,
        embed_model: BaseEmbedding,
        max_bytes: int,
        chunk_chars: int = 360,
        embed_title: bool = False,
        lock_wait_s: float = LOCK_WAIT_S,
        batch_chunks: int = BATCH_CHUNKS,
    ) -> None:
        self.store = store
        self.batch_chunks = batch_chunks
        self.lock_wait_s = lock_wait_s
        self.embed_model = embed_model
        self.max_bytes = max_bytes
        self.chunk_chars = chunk_chars
        self.embed_title = embed_title

    def ingest(
        self,
        paths: Iterable[Path],
        prune: bool = False,
        reset: bool = False,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Add new files, replace changed ones, keep unchanged ones; optionally prune or rebuild."""
        started = time.perf_counter()
        paths = list(paths)
        for path in paths:  # before anything is written, so a typo never costs the index (--reset)
            if not path.exists():
                raise InputError(f"no such file or folder: {path}")
        report = IngestReport()
        with index_lock(self.store, self.lock_wait_s):
            if reset:
                self.store.reset()
            known = self.store.documents()
            present = self.store.chunk_counts()
            todo: list[tuple[Document, list[Chunk]]] = []
            seen: set[str] = set()
            for item in load_documents(paths, self.max_bytes):
                if isinstance(item, Skipped):
                    report.skipped.append(item)
                    continue
                if item.doc_id in seen:
                    reason = f"duplicate document id '{item.doc_id}'"
                    report.skipped.append(Skipped(Path(item.source), reason))
                    continue
                seen.add(item.doc_id)
                old = known.get(item.doc_id)
                if old and old.sha256 == item.sha256 and present.get(item.doc_id, 0) == old.chunks:
                    report.unchanged.append(item.doc_id)
                    continue
                (report.updated if old else report.added).append(item.doc_id)
                todo.append((item, chunk_document(item, self.chunk_chars)))
            total = sum(len(chunks) for _, chunks in todo)
            done = 0
            for batch in _batches(todo, self.batch_chunks):
                report.chunks_removed += self._write(batch, present)
                self.store.mark_changed()
                done += sum(len(chunks) for _, chunks in batch)
                report.chunks_written += sum(len(chunks) for _, chunks in batch)
                if progress:
                    progress(done, total, batch[-1][0].doc_id)
            if prune:
                report.removed = self._prune(paths, seen, known, present)
                report.chunks_removed += sum(present.get(d, 0) for d in report.removed)
            # Chunks whose document never committed (an earlier crash) are removed too.
            for orphan in set(present) - set(known) - seen - set(report.removed):
                self.store.remove_document(orphan)
                report.chunks_removed += present[orphan]
            report.total_documents = len(self.store.documents())
            report.total_chunks = self.store.count_chunks()
        report.seconds = time.perf_counter() - started
        return report

    def remove(self, doc_id: str) -> int:
        """Delete one document; returns how many chunks went with it."""
        with index_lock(self.store, self.lock_wait_s):
            count = self.store.chunk_counts().get(doc_id, 0)
            if count == 0 and self.store.document(doc_id) is None:
                raise IndexError_(f"no document '{doc_id}' in the index")
            self.store.remove_document(doc_id)
            return count

    def _write(self, batch: list[tuple[Document, list[Chunk]]], present: dict[str, int]) -> int:
        """Embed a batch, then replace its documents: drop marker and old chunks, add chunks, write marker.

        Embedding comes first so a changed document is absent from answers only while Chroma writes.
        """
        from llama_index.core.ingestion import IngestionPipeline

        nodes: list[TextNode] = []
        for doc, chunks in batch:
            nodes.extend(to_nodes(doc, chunks, self.embed_title))
        embedded = IngestionPipeline(transformations=[self.embed_model]).run(nodes=nodes, show_progress=False)
        removed = 0
        for doc, _ in batch:
            removed += present.get(doc.doc_id, 0)
            self.store.begin_document(doc.doc_id)
        self.store.vector_store().add(list(embedded))
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        for doc, chunks in batch:
            self.store.commit_document(
                DocRecord(
                    doc.doc_id, doc.sha256, doc.title, doc.source, doc.date, len(chunks), stamp, doc.text, doc.publisher
                )
            )
        return removed

    def _prune(
        self, paths: list[Path], seen: set[str], known: dict[str, DocRecord], present: dict[str, int]
    ) -> list[str]:
        """Documents whose source file no longer exists (within the given folders) are removed."""
        roots = [p.resolve() for p in paths if p.is_dir()]
        gone = []
        for doc_id, record in known.items():
            if doc_id in seen:
                continue
            src = Path(record.source).resolve() if record.source else None
            inside = src is not None and any(root == src.parent or root in src.parents for root in roots)
            if src is None or (inside and not src.exists()) or not roots:
                if src is not None and src.exists():
                    continue
                self.store.remove_document(doc_id)
                gone.append(doc_id)
        return sorted(gone)


def _batches(todo: list[tuple[Document, list[Chunk]]], limit: int) -> Iterator[list[tuple[Document, list[Chunk]]]]:
    batch: list[tuple[Document, list[Chunk]]] = []
    size = 0
    for item in todo:
        if batch and size + len(item[1]) > limit:
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += len(item[1])
    if batch:
        yield batch


@contextmanager
def index_lock(store: ChunkStore, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """One writer at a time: a second ingest waits up to `wait_s`, then fails with one clear line.

    The lock is a file lock, so it orders writers on this machine; for a Chroma server it lives in the
    temp folder, keyed by the server and collection.
    """
    if store.settings.chroma_url:
        lock_dir = Path(tempfile.gettempdir())
        key = hashlib.sha1(f"{store.location}/{store.settings.collection}".encode()).hexdigest()[:12]
        name = f".chipqa-server-{key}.lock"
    else:
        lock_dir = store.settings.index_dir
        name = f".chipqa-{store.settings.collection}.lock"
    lock_dir.mkdir(parents=True, exist_ok=True)
    busy = f"another ingest is writing to {store.location} (waited {wait_s:.0f} s); try again later"
    with file_lock(lock_dir / name, wait_s, busy):
        yield
