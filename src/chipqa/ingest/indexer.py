"""Idempotent, incremental ingestion: files → chunks → embeddings → Chroma, one commit marker per document.

Files are read and chunked on a thread of their own while the previous batch is embedded and written, so
the embedding model never waits for the disk or the HTML parser. Progress reports files and chunks done,
the rate and an ETA; Ctrl-C (SIGINT) stops after the batch being written, and the next run picks up where
it stopped (committed documents are unchanged, so they are skipped).
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import tempfile
import threading
import time
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chipqa.core.errors import IndexError_, InputError
from chipqa.core.locks import file_lock
from chipqa.core.models import Document
from chipqa.index.store import ChunkStore, DocRecord
from chipqa.ingest.chunking import Chunk, chunk_document
from chipqa.ingest.loading import Skipped, find_files, load_document
from chipqa.ingest.progress import IngestProgress, Progress, Tracker, Watch, stop_on_interrupt

__all__ = ["IngestProgress", "IngestReport", "Indexer", "Progress", "Watch", "index_lock", "to_nodes"]

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import TextNode

# Documents embedded and written together, then committed, so a crash or an interrupt loses at most one batch
# (~3 s of embedding). One encode call over 256 chunks pads less than over 64 (its texts are sorted by length):
# ingest of the seeds ran 73 chunks/s against 59 with 64 (bench).
BATCH_CHUNKS = 256
# How long a second writer waits for the first before giving up.
LOCK_WAIT_S = 60.0

# Documents read ahead of the embedding, at most (their text is held in memory until written).
READ_AHEAD_DOCS = 512

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
    interrupted: bool = False  # stopped by Ctrl-C after a batch; a rerun completes the work

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        text = (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed, {len(self.skipped)} skipped; "
            f"{self.chunks_written} chunks written, {self.chunks_removed} removed; "
            f"index: {self.total_documents} documents, {self.total_chunks} chunks ({self.seconds:.1f}s)"
        )
        if self.interrupted:
            text += "; interrupted: run the same ingest again to continue"
        return text


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
        self._stored: set[str] = set()  # documents with a commit marker when the running ingest began

    def ingest(
        self,
        paths: Iterable[Path],
        prune: bool = False,
        reset: bool = False,
        progress: Progress | None = None,
        watch: Watch | None = None,
    ) -> IngestReport:
        """Add new files, replace changed ones, keep unchanged ones; optionally prune or rebuild.

        Ctrl-C during the run (on the main thread) stops it after the batch being written: the report says
        `interrupted`, and prune and orphan clean-up wait for a complete run."""
        started = time.perf_counter()
        paths = list(paths)
        for path in paths:  # before anything is written, so a typo never costs the index (--reset)
            if not path.exists():
                raise InputError(f"no such file or folder: {path}")
        report = IngestReport()
        with index_lock(self.store, self.lock_wait_s), stop_on_interrupt() as stop:
            if reset:
                self.store.reset()
            known = self.store.documents()
            present = self.store.chunk_counts()
            self._stored = set(known)
            files, skipped = find_files(paths)
            report.skipped.extend(skipped)
            reader = _Reader(files, self.max_bytes, self.chunk_chars, known, present)
            tracker = Tracker(len(files) + len(skipped), len(skipped), started, progress, watch)
            seen = self._write_all(reader, report, present, tracker, stop)
            if stop.is_set():
                report.interrupted = True
            else:
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

    def _write_all(
        self,
        reader: _Reader,
        report: IngestReport,
        present: dict[str, int],
        tracker: Tracker,
        stop: threading.Event,
    ) -> set[str]:
        """Write every new or changed document in batches while `reader` reads ahead; the ids seen.

        After a stop, the batch being filled is written and the run ends."""
        batch: list[tuple[Document, list[Chunk]]] = []
        size = 0
        with contextlib.closing(reader.run(stop)) as items:
            for item in items:
                if isinstance(item, Skipped):
                    report.skipped.append(item)
                    tracker.settled(files=1)
                    continue
                doc, chunks, state = item
                if state == "unchanged":
                    report.unchanged.append(doc.doc_id)
                    tracker.settled(files=1)
                    continue
                if batch and size + len(chunks) > self.batch_chunks:
                    self._commit(batch, report, present, tracker)
                    batch, size = [], 0
                    if stop.is_set():
                        break
                (report.updated if state == "updated" else report.added).append(doc.doc_id)
                tracker.expect(len(chunks), reader.estimate_left())
                batch.append((doc, chunks))
                size += len(chunks)
        if batch:
            self._commit(batch, report, present, tracker)
        return reader.seen

    def _commit(
        self,
        batch: list[tuple[Document, list[Chunk]]],
        report: IngestReport,
        present: dict[str, int],
        tracker: Tracker,
    ) -> None:
        if not report.chunks_written:
            self._check_encoder()
        report.chunks_removed += self._write(batch, present)
        self.store.mark_changed()
        written = sum(len(chunks) for _, chunks in batch)
        report.chunks_written += written
        tracker.settled(files=len(batch), chunks=written, current=batch[-1][0].doc_id)

    def _check_encoder(self) -> None:
        """Before the first write: the index's vectors and ours must be of one kind."""
        label = getattr(self.embed_model, "label", None)
        if isinstance(label, str):
            self.store.check_encoder(label, str(getattr(self.embed_model, "precision", "")), claim=True)

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
        from llama_index.core.schema import MetadataMode

        nodes: list[TextNode] = []
        for doc, chunks in batch:
            nodes.extend(to_nodes(doc, chunks, self.embed_title))
        # One call for the whole batch: the model sorts its texts by length, so batches pad little.
        texts = [node.get_content(metadata_mode=MetadataMode.EMBED) for node in nodes]
        for node, vector in zip(nodes, self.embed_model.get_text_embedding_batch(texts), strict=True):
            node.embedding = vector
        removed = 0
        for doc, _ in batch:
            removed += present.get(doc.doc_id, 0)
            self.store.begin_document(doc.doc_id, doc.doc_id in self._stored or doc.doc_id in present)
        self.store.vector_store().add(list(nodes))
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


_Item = tuple[Document, list[Chunk], str]  # state: "added", "updated" or "unchanged"


class _Reader:
    """Reads, hashes and chunks files on a thread of its own, a bounded number of documents ahead."""

    def __init__(
        self, files: list[Path], max_bytes: int, chunk_chars: int, known: dict[str, DocRecord], present: dict[str, int]
    ) -> None:
        self.files = files
        self.max_bytes = max_bytes
        self.chunk_chars = chunk_chars
        self.known = known
        self.present = present
        self.seen: set[str] = set()
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=READ_AHEAD_DOCS)
        self._bytes_total = sum(_size(f) for f in files) or 1
        self._bytes_read = 0
        self._chunks_read = 0
        self._done = object()
        self._abandoned = threading.Event()

    def estimate_left(self) -> int:
        """Chunks the files not read yet will probably hold (at the rate of those read so far)."""
        if not self._bytes_read:
            return 0
        return round(self._chunks_read / self._bytes_read * (self._bytes_total - self._bytes_read))

    def run(self, stop: threading.Event) -> Generator[Skipped | _Item, None, None]:
        """The files' documents (or why one was skipped), in order; reading stops when `stop` is set."""
        thread = threading.Thread(target=self._read, args=(stop,), name="chipqa-read", daemon=True)
        thread.start()
        try:
            while True:
                item = self._queue.get()
                if item is self._done:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._abandoned.set()  # a reader blocked on a full queue gives up; what it read is dropped
            thread.join(timeout=5)

    def _read(self, stop: threading.Event) -> None:
        try:
            for path in self.files:
                if stop.is_set() or self._abandoned.is_set():
                    break
                self._put(self._load(path))
        except BaseException as exc:  # handed to the writer, which raises it
            self._put(exc)
        self._put(self._done)

    def _put(self, item: Any) -> None:
        while not self._abandoned.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _load(self, path: Path) -> Skipped | _Item:
        self._bytes_read += _size(path)
        try:
            doc = load_document(path, self.max_bytes)
        except InputError as exc:
            return Skipped(path, str(exc))
        if doc.doc_id in self.seen:
            return Skipped(Path(doc.source), f"duplicate document id '{doc.doc_id}'")
        self.seen.add(doc.doc_id)
        old = self.known.get(doc.doc_id)
        if old and old.sha256 == doc.sha256 and self.present.get(doc.doc_id, 0) == old.chunks:
            return doc, [], "unchanged"
        chunks = chunk_document(doc, self.chunk_chars)
        self._chunks_read += len(chunks)
        return doc, chunks, "updated" if old else "added"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


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
