"""The chunk and document collections of one index (Chroma; clients are set up in `chipqa.index.chroma`).

Two collections: `<name>` holds chunks (LlamaIndex ChromaVectorStore), `<name>__docs` holds one record per
document (stored text and manifest). The doc record is written last, so it marks a complete document.
(LlamaIndex's IngestionPipeline with a docstore would dedupe by hash too, but keeps its docstore beside Chroma: a
commit marker inside Chroma makes a document visible only once all its chunks are, after a crash at any point
(tests/test_crash_safety.py), and works the same on a Chroma server.)
Writers also put a fresh `generation` in the docs collection's metadata after each batch: one cheap read
tells a reader of a Chroma server whether anything changed (reading the manifest instead grows with it).
The chunk collection's metadata names the encoder that embedded its chunks, so vectors never mix.

Calls that find a collection dropped and recreated meanwhile (another process's --reset, a server restarted
on an empty path) look it up again and retry once.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chipqa.core.errors import IndexError_
from chipqa.core.settings import Settings
from chipqa.index.chroma import LocalIndex, chroma_errors, describe_location, local_index, open_server_client, short

# Document records need a vector to live in Chroma; theirs is never searched.
_NO_VECTOR: Any = [[0.0]]
# What an index written before encoders were recorded holds: sentence-transformers' float32 vectors.
LEGACY_PRECISION = "fp32"
# How many graph neighbours Chroma's HNSW search keeps while it walks (Chroma's default is 100). The graph is
# built in parallel, so two processes opening the same index can hold different graphs; at 100 the dense top 20
# of one eval question (553 chunks) differed between runs, which flipped its answer; at 256 every run agreed.
# Search cost grows with it; the quick bench's retrieval p50 at 1000 chunks moved within its noise (11.8 ms
# before, 12.5 ms after, against 7.8 and 8.0 ms for plain LlamaIndex on the same collection).
SEARCH_EF = 256

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from llama_index.vector_stores.chroma import ChromaVectorStore


@dataclass(frozen=True)
class DocRecord:
    """What the index knows of one document."""

    doc_id: str
    sha256: str
    title: str
    source: str
    date: str | None
    chunks: int
    ingested_at: str
    text: str = ""
    publisher: str | None = None


class ChunkStore:
    """The chunk and document collections of one index."""

    def __init__(self, settings: Settings, client: ClientAPI | None = None) -> None:
        self.settings = settings
        self.location = describe_location(settings)
        self._local: LocalIndex | None = None
        if client is None and not settings.chroma_url:
            self._local = local_index(settings.index_dir)
        self._client = client or (self._local.open() if self._local else open_server_client(settings))
        self._generation = self._local.generation if self._local else 0
        self._chunks: Collection | None = None
        self._docs: Collection | None = None

    @property
    def client(self) -> ClientAPI:
        if self._local is not None:
            return self._local.open()
        return self._client

    @property
    def chunks(self) -> Collection:
        if self._chunks is None:

            def open_chunks() -> Collection:
                return self._collection(
                    self.settings.collection,
                    metadata={"hnsw:space": "cosine"},
                    configuration={"hnsw": {"space": "cosine", "ef_search": SEARCH_EF}},
                )

            chunks = open_chunks()
            if self._widen_search(chunks):
                chunks = open_chunks()  # its configuration as now stored
            self._chunks = chunks
        return self._chunks

    def _widen_search(self, collection: Collection) -> bool:
        """Give an index made before SEARCH_EF its search breadth (a setting of the collection, kept on disk);
        True when it was changed."""
        hnsw = (getattr(collection, "configuration", None) or {}).get("hnsw") or {}
        if int(hnsw.get("ef_search") or SEARCH_EF) >= SEARCH_EF:
            return False
        try:
            # looked up inside the call: a reopened client (another process wrote) invalidates `collection`
            self._run(
                lambda: self.client.get_collection(collection.name).modify(
                    configuration={"hnsw": {"ef_search": SEARCH_EF}}
                ),
                writes=True,
            )
        except Exception as exc:  # noqa: BLE001 - a server that refuses still searches, only less exactly
            log.warning("could not widen the vector search of %s: %s", self.location, exc)
            return False
        return True

    @property
    def docs(self) -> Collection:
        if self._docs is None:
            self._docs = self._collection(f"{self.settings.collection}__docs")
        return self._docs

    def _collection(self, name: str, **kwargs: Any) -> Collection:
        if self._local is None:
            return self._call(self.client.get_or_create_collection, name, **kwargs)
        with self._local.exclusive():  # another process may be creating the same collection
            return self._call(self.client.get_or_create_collection, name, **kwargs)

    def vector_store(self) -> ChromaVectorStore:
        """LlamaIndex's view of the chunk collection; its calls get the same error handling as ours."""
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=_GuardedCollection(self))

    def documents(self, with_text: bool = False) -> dict[str, DocRecord]:
        """Committed documents by id."""
        include: Any = ["metadatas", "documents"] if with_text else ["metadatas"]
        got = self._run(lambda: _get_all(self.docs, include))
        out: dict[str, DocRecord] = {}
        texts = got.get("documents") or [None] * len(got["ids"])
        for doc_id, meta, text in zip(got["ids"], got["metadatas"] or [], texts, strict=False):
            out[doc_id] = _doc_record(doc_id, meta or {}, text or "")
        return out

    def document(self, doc_id: str) -> DocRecord | None:
        got = self._run(lambda: self.docs.get(ids=[doc_id], include=["metadatas", "documents"]))
        if not got["ids"]:
            return None
        return _doc_record(doc_id, (got["metadatas"] or [{}])[0] or {}, (got["documents"] or [""])[0] or "")

    def chunk_counts(self) -> dict[str, int]:
        """Chunks present per doc id (including documents whose commit marker is missing)."""
        got = self._run(lambda: _get_all(self.chunks, ["metadatas"]))
        counts: dict[str, int] = {}
        for meta in got["metadatas"] or []:
            doc_id = str((meta or {}).get("doc_id", ""))
            counts[doc_id] = counts.get(doc_id, 0) + 1
        return counts

    def count_chunks(self) -> int:
        return int(self._run(lambda: self.chunks.count()))

    def all_chunks(self) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """Ids, texts and metadata of every chunk (for BM25)."""
        got = self._run(lambda: _get_all(self.chunks, ["documents", "metadatas"]))
        return list(got["ids"]), list(got["documents"] or []), [dict(m or {}) for m in got["metadatas"] or []]

    def encoder(self) -> str | None:
        """The encoder recorded as having embedded this index's chunks (read afresh), or None."""
        metadata = self._run(lambda: self._fresh_chunks().metadata) or {}
        value = metadata.get("encoder")
        return str(value) if value else None

    def vector_precision(self) -> str | None:
        """ "fp32" or "int8": what the index's vectors are made of (an unrecorded index holds float32), or None
        when it holds no chunks."""
        recorded = self.encoder()
        if recorded:
            return recorded.rsplit(" ", 1)[-1]
        return LEGACY_PRECISION if self.count_chunks() else None

    def check_encoder(self, label: str, precision: str, claim: bool = False) -> None:
        """Refuse to mix vectors: IndexError_ when the index was embedded by another encoder than `label`.

        An index that records none was written by sentence-transformers in float32 (LEGACY_PRECISION), or is
        empty; `claim` records `label` on it (a writer does, before its first batch)."""
        recorded = self.encoder()
        if recorded == label:
            return
        if recorded is None:
            empty = self.count_chunks() == 0
            if empty or precision == LEGACY_PRECISION:
                if claim:
                    self._run(lambda: self.chunks.modify(metadata={"encoder": label}), writes=True)
                return
            recorded = f"an earlier chipqa ({LEGACY_PRECISION} vectors)"
        raise IndexError_(
            f"the index at {self.location} was embedded with {recorded}, but chipqa is set to embed with {label}; "
            "their vectors do not mix: rebuild it with `chipqa ingest --reset`, or set CHIPQA_EMBED_BACKEND=auto"
        )

    def begin_document(self, doc_id: str, stored: bool = True) -> None:
        """Drop a document's commit marker, then its chunks: a crash from here on leaves it absent.

        `stored=False` says the index holds neither (the writer read both lists under its lock): nothing to drop,
        which saves two Chroma calls per new document."""
        if not stored:
            return
        self._run(lambda: self.docs.delete(ids=[doc_id]), writes=True)
        self._run(lambda: self.chunks.delete(where={"doc_id": doc_id}), writes=True)

    def commit_document(self, record: DocRecord) -> None:
        meta: dict[str, Any] = {
            "sha256": record.sha256,
            "title": record.title,
            "source": record.source,
            "date": record.date or "",
            "chunks": record.chunks,
            "ingested_at": record.ingested_at,
            "publisher": record.publisher or "",
        }
        self._run(
            lambda: self.docs.upsert(
                ids=[record.doc_id], documents=[record.text], metadatas=[meta], embeddings=_NO_VECTOR
            ),
            writes=True,
        )

    def remove_document(self, doc_id: str) -> None:
        self.begin_document(doc_id)
        self.mark_changed()

    def mark_changed(self) -> None:
        """Record that documents changed (a new `generation` in the docs collection's metadata)."""
        self._run(lambda: self.docs.modify(metadata={"generation": uuid.uuid4().hex}), writes=True)

    def generation(self) -> str | None:
        """The docs collection's current `generation` (read afresh), or None if there is none yet."""
        from chromadb.errors import NotFoundError

        name = f"{self.settings.collection}__docs"
        try:
            collection = self._run(lambda: self.client.get_collection(name))
        except NotFoundError:
            return None
        value = (collection.metadata or {}).get("generation")
        return str(value) if value else None

    def _fresh_chunks(self) -> Collection:
        """The chunk collection as the server or file holds it now (a handle's metadata is a snapshot)."""
        from chromadb.errors import NotFoundError

        try:
            return self.client.get_collection(self.settings.collection)
        except NotFoundError:
            return self.chunks

    def reset(self) -> None:
        from chromadb.errors import NotFoundError

        def drop(name: str) -> None:
            with contextlib.suppress(NotFoundError):  # an absent collection is already reset
                self.client.delete_collection(name)

        for name in (self.settings.collection, f"{self.settings.collection}__docs"):
            self._run(functools.partial(drop, name), writes=True)
        self._forget_collections()
        self.mark_changed()

    def _forget_collections(self) -> None:
        self._chunks = self._docs = None

    def _run(self, op: Callable[[], Any], writes: bool = False) -> Any:
        """Run one collection operation; if the collection was dropped and recreated meanwhile, look it up
        again and retry once."""
        from chromadb.errors import NotFoundError

        if self._local is None:
            try:
                return self._call(op)
            except NotFoundError:
                self._forget_collections()
                return self._call(op)
        return self._run_local(self._local, op, writes)

    def _run_local(self, local: LocalIndex, op: Callable[[], Any], writes: bool) -> Any:
        from chromadb.errors import InternalError, NotFoundError

        with local.lock:
            before = local.disk_stamp()
            if local.client is not None and before != local.stamp:
                local.reopen()  # another process wrote here since this process last looked
            if self._generation != local.generation:
                self._forget_collections()
                self._generation = local.generation
            try:
                result = self._call(op)
            except (NotFoundError, InternalError):
                # Chroma's cached view went stale mid-call (another process is writing): look afresh once.
                local.reopen()
                self._forget_collections()
                self._generation = local.generation
                try:
                    result = self._call(op)
                except InternalError as exc:
                    # Chroma's message says what failed; a stale view cannot be told from other faults here.
                    raise IndexError_(
                        f"Chroma failed on the index at {self.location}: {short(exc)} (if another process is "
                        "writing to it, try again in a moment)"
                    ) from None
                before = local.disk_stamp()
            after = local.disk_stamp()
            # A read during which the file changed saw another process's write: keep the old stamp so the
            # next call reopens. After our own write the new stamp is ours.
            if writes or after == before:
                local.stamp = after
            return result

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if self._local is not None:
            return fn(*args, **kwargs)
        with chroma_errors(self.location):
            return fn(*args, **kwargs)


class _GuardedCollection:
    """The chunk collection as LlamaIndex sees it: resolved on every call and wrapped in ChunkStore._run."""

    _WRITES = frozenset({"add", "upsert", "update", "delete", "modify"})

    def __init__(self, store: ChunkStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._store.chunks, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._store._run(
                lambda: getattr(self._store.chunks, name)(*args, **kwargs), writes=name in self._WRITES
            )

        return call


# Records per read. Chroma's SQLite reader binds one variable per record it returns, and SQLite allows 32,766:
# an unpaged get() of a larger collection fails with "too many SQL variables" (chroma-core/chroma#7687).
READ_PAGE = 10_000


def _get_all(collection: Any, include: list[str]) -> dict[str, list[Any]]:
    """Every record of a collection, read a page at a time (ids and the included fields)."""
    out: dict[str, list[Any]] = {"ids": [], **{key: [] for key in include}}
    offset = 0
    while True:
        got = collection.get(include=include, limit=READ_PAGE, offset=offset)
        out["ids"].extend(got["ids"])
        for key in include:
            out[key].extend(got.get(key) or [])
        if len(got["ids"]) < READ_PAGE:
            return out
        offset += READ_PAGE


def _doc_record(doc_id: str, meta: dict[str, Any], text: str) -> DocRecord:
    return DocRecord(
        doc_id=doc_id,
        sha256=str(meta.get("sha256", "")),
        title=str(meta.get("title", doc_id)),
        source=str(meta.get("source", "")),
        date=str(meta.get("date") or "") or None,
        chunks=int(meta.get("chunks", 0) or 0),
        ingested_at=str(meta.get("ingested_at", "")),
        text=text,
        publisher=str(meta.get("publisher") or "") or None,
    )
