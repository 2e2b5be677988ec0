"""Chroma storage: an embedded PersistentClient under index_dir, or an HttpClient for a server.

Two collections: `<name>` holds chunks (LlamaIndex ChromaVectorStore), `<name>__docs` holds one record per
document (stored text and manifest). The doc record is written last, so it marks a complete document.
Writers also put a fresh `generation` in the docs collection's metadata after each batch: one cheap read
tells a reader of a Chroma server whether anything changed (reading the manifest instead grows with it).

Server mode survives the server going away: every call that cannot reach it is a BackendError naming the
URL, and the next call after a restart simply works (collections are looked up again if they were recreated).

Embedded mode tolerates another process writing the same directory (`chipqa ingest` while the UI runs):
Chroma's in-process state does not follow another process's writes, so a write seen on disk that this
process did not make reopens the client before the next call.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from chipqa.core.errors import BackendError, IndexError_
from chipqa.core.settings import Settings
from chipqa.core.text import short_error, without_credentials

# A stalled Chroma server must not hang chipqa: connecting is quick or fails; a large write may take a while.
CONNECT_TIMEOUT_S = 5.0
REQUEST_TIMEOUT_S = 120.0
# Document records need a vector to live in Chroma; theirs is never searched.
_NO_VECTOR: Any = [[0.0]]
# Creating an embedded index or a collection takes well under a second; a longer wait means a stuck process.
CREATE_WAIT_S = 30.0

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


def describe_location(settings: Settings) -> str:
    """Where the index lives, for messages (no credentials)."""
    if settings.chroma_url:
        u = urlparse(settings.chroma_url)
        return f"Chroma server {u.scheme}://{u.hostname}:{u.port or (443 if u.scheme == 'https' else 8000)}"
    return f"{settings.index_dir.resolve()}"


def open_client(settings: Settings) -> ClientAPI:
    """A Chroma client with telemetry off; a server that cannot be reached is a BackendError naming it."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if settings.chroma_url:
        u = urlparse(settings.chroma_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            shown = without_credentials(settings.chroma_url)
            raise BackendError(f"CHIPQA_CHROMA_URL must look like http://host:port, got '{shown}'")
        port = u.port or (443 if u.scheme == "https" else 8000)
        # chromadb's own client has no timeout and already talks to the server while it is constructed.
        _probe(f"{u.scheme}://{u.hostname}:{port}", describe_location(settings))
        try:
            ssl = u.scheme == "https"
            client = chromadb.HttpClient(host=u.hostname, port=port, ssl=ssl, settings=chroma_settings)
            _bound_waits(client)
            client.heartbeat()
        except Exception as exc:  # chromadb raises several transport types
            raise BackendError(f"cannot reach {describe_location(settings)}: {_short(exc)}") from None
        return client
    return _local_index(settings.index_dir).open()


def _probe(base: str, location: str) -> None:
    """One heartbeat with a short timeout, so an unreachable or wrong server fails fast and clearly."""
    import httpx

    try:
        response = httpx.get(f"{base}/api/v2/heartbeat", timeout=CONNECT_TIMEOUT_S)
    except httpx.TimeoutException:
        raise BackendError(f"cannot reach {location}: no answer within {CONNECT_TIMEOUT_S:.0f} s") from None
    except httpx.HTTPError as exc:
        raise BackendError(f"cannot reach {location}: {_short(exc)}") from None
    if response.status_code != 200:
        raise BackendError(f"{location} answered HTTP {response.status_code}; is it a Chroma server?")


def _bound_waits(client: ClientAPI) -> None:
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(REQUEST_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)


class _LocalIndex:
    """One embedded Chroma directory as this process sees it: one client, calls taken one at a time, and
    the database file's stamp after this process's last call, so another process's writes are noticed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.client: ClientAPI | None = None
        self.generation = 0  # bumped on every reopen; stores drop collection handles of older ones
        self.stamp: tuple[int, int] | None = None

    def open(self) -> ClientAPI:
        with self.lock:
            if self.client is None:
                import chromadb
                from chromadb.config import Settings as ChromaSettings

                self.path.mkdir(parents=True, exist_ok=True)
                chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
                with self.exclusive():  # two processes creating a new index at once would clash
                    self.client = chromadb.PersistentClient(path=str(self.path), settings=chroma_settings)
                self.stamp = self.disk_stamp()
            return self.client

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """This directory to this thread alone, across processes, for the short steps that create things."""
        from chipqa.core.locks import file_lock

        busy = f"the index at {self.path} is locked by another process"
        with self.lock, file_lock(self.path / ".chipqa-create.lock", CREATE_WAIT_S, busy, poll_s=0.05):
            yield

    def disk_stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path / "chroma.sqlite3")
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def reopen(self) -> None:
        """Drop Chroma's cached state for this directory and open it afresh."""
        from chromadb.api.client import SharedSystemClient

        with self.lock:
            system = SharedSystemClient._identifier_to_system.pop(str(self.path), None)
            if system is not None:
                with contextlib.suppress(Exception):
                    system.stop()
            self.client = None
            self.generation += 1
            self.open()


_LOCAL: dict[Path, _LocalIndex] = {}
_LOCAL_GUARD = threading.Lock()


def _local_index(index_dir: Path) -> _LocalIndex:
    path = index_dir.resolve()
    with _LOCAL_GUARD:
        if path not in _LOCAL:
            _LOCAL[path] = _LocalIndex(path)
        return _LOCAL[path]


class ChunkStore:
    """The chunk and document collections of one index."""

    def __init__(self, settings: Settings, client: ClientAPI | None = None) -> None:
        self.settings = settings
        self.location = describe_location(settings)
        self._local = None if client is not None or settings.chroma_url else _local_index(settings.index_dir)
        self._client = client or (self._local.open() if self._local else open_client(settings))
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
            self._chunks = self._collection(self.settings.collection, metadata={"hnsw:space": "cosine"})
        return self._chunks

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

    def begin_document(self, doc_id: str) -> None:
        """Drop a document's commit marker, then its chunks: a crash from here on leaves it absent."""
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
        import uuid

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

    def reset(self) -> None:
        from chromadb.errors import NotFoundError

        def drop(name: str) -> None:
            with contextlib.suppress(NotFoundError, ValueError):  # an absent collection is already reset
                self.client.delete_collection(name)

        for name in (self.settings.collection, f"{self.settings.collection}__docs"):
            self._run(functools.partial(drop, name), writes=True)
        self._forget_collections()
        self.mark_changed()

    def _forget_collections(self) -> None:
        self._chunks = self._docs = None

    def _run(self, op: Callable[[], Any], writes: bool = False) -> Any:
        """Run one collection operation; if the collection was dropped and recreated meanwhile (another
        process's --reset, a server restarted on an empty path), look it up again and retry once."""
        from chromadb.errors import NotFoundError

        if self._local is None:
            try:
                return self._call(op)
            except NotFoundError:
                self._forget_collections()
                return self._call(op)
        return self._run_local(self._local, op, writes)

    def _run_local(self, local: _LocalIndex, op: Callable[[], Any], writes: bool) -> Any:
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
                        f"Chroma failed on the index at {self.location}: {_short(exc)} (if another process is "
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
        try:
            return fn(*args, **kwargs)
        except (IndexError_, BackendError):
            raise
        except Exception as exc:
            if self.settings.chroma_url and _is_connection_error(exc):
                raise BackendError(f"cannot reach {self.location}: {_short(exc)}") from None
            raise


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


def _is_connection_error(exc: Exception) -> bool:
    import httpx

    if isinstance(exc, httpx.TransportError):
        return True
    text = f"{type(exc).__name__} {exc}".lower()
    words = ("connect", "timeout", "timed out", "refused", "unreachable", "network", "remoteprotocol")
    return any(w in text for w in words)


def _short(exc: Exception) -> str:
    msg = short_error(exc)
    with contextlib.suppress(ValueError, AttributeError):  # chromadb wraps server errors as JSON
        msg = str(json.loads(msg).get("error", msg))[:200]
    return msg
