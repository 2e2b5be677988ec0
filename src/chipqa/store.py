"""Chroma storage: an embedded PersistentClient under index_dir, or an HttpClient for a server.

Two collections: `<name>` holds chunks (LlamaIndex ChromaVectorStore), `<name>__docs` holds one record per
document (stored text and manifest). The doc record is written last, so it marks a complete document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from chipqa.errors import BackendError, IndexError_
from chipqa.settings import Settings

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
            raise BackendError(f"CHIPQA_CHROMA_URL must look like http://host:port, got '{settings.chroma_url}'")
        try:
            client = chromadb.HttpClient(
                host=u.hostname,
                port=u.port or (443 if u.scheme == "https" else 8000),
                ssl=u.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:  # chromadb raises several transport types
            raise BackendError(f"cannot reach {describe_location(settings)}: {_short(exc)}") from None
        return client
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)


class ChunkStore:
    """The chunk and document collections of one index."""

    def __init__(self, settings: Settings, client: ClientAPI | None = None) -> None:
        self.settings = settings
        self.location = describe_location(settings)
        self.client = client or open_client(settings)
        self._chunks: Collection | None = None
        self._docs: Collection | None = None

    @property
    def chunks(self) -> Collection:
        if self._chunks is None:
            self._chunks = self._call(
                self.client.get_or_create_collection, self.settings.collection, metadata={"hnsw:space": "cosine"}
            )
        return self._chunks

    @property
    def docs(self) -> Collection:
        if self._docs is None:
            self._docs = self._call(self.client.get_or_create_collection, f"{self.settings.collection}__docs")
        return self._docs

    def vector_store(self) -> ChromaVectorStore:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.chunks)

    def documents(self, with_text: bool = False) -> dict[str, DocRecord]:
        """Committed documents by id."""
        include = ["metadatas", "documents"] if with_text else ["metadatas"]
        got = self._call(self.docs.get, include=include)
        out: dict[str, DocRecord] = {}
        texts = got.get("documents") or [None] * len(got["ids"])
        for doc_id, meta, text in zip(got["ids"], got["metadatas"] or [], texts, strict=False):
            out[doc_id] = _doc_record(doc_id, meta or {}, text or "")
        return out

    def document(self, doc_id: str) -> DocRecord | None:
        got = self._call(self.docs.get, ids=[doc_id], include=["metadatas", "documents"])
        if not got["ids"]:
            return None
        return _doc_record(doc_id, (got["metadatas"] or [{}])[0] or {}, (got["documents"] or [""])[0] or "")

    def chunk_counts(self) -> dict[str, int]:
        """Chunks present per doc id (including documents whose commit marker is missing)."""
        got = self._call(self.chunks.get, include=["metadatas"])
        counts: dict[str, int] = {}
        for meta in got["metadatas"] or []:
            doc_id = str((meta or {}).get("doc_id", ""))
            counts[doc_id] = counts.get(doc_id, 0) + 1
        return counts

    def count_chunks(self) -> int:
        return int(self._call(self.chunks.count))

    def all_chunks(self) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """Ids, texts and metadata of every chunk (for BM25)."""
        got = self._call(self.chunks.get, include=["documents", "metadatas"])
        return list(got["ids"]), list(got["documents"] or []), [dict(m or {}) for m in got["metadatas"] or []]

    def begin_document(self, doc_id: str) -> None:
        """Drop a document's commit marker, then its chunks: a crash from here on leaves it absent."""
        self._call(self.docs.delete, ids=[doc_id])
        self._call(self.chunks.delete, where={"doc_id": doc_id})

    def commit_document(self, record: DocRecord) -> None:
        meta = {
            "sha256": record.sha256,
            "title": record.title,
            "source": record.source,
            "date": record.date or "",
            "chunks": record.chunks,
            "ingested_at": record.ingested_at,
        }
        self._call(self.docs.upsert, ids=[record.doc_id], documents=[record.text], metadatas=[meta],
                   embeddings=[[0.0]])

    def remove_document(self, doc_id: str) -> None:
        self.begin_document(doc_id)

    def reset(self) -> None:
        for name in (self.settings.collection, f"{self.settings.collection}__docs"):
            try:
                self.client.delete_collection(name)
            except Exception:  # noqa: S110 - absent collection is fine
                pass
        self._chunks = self._docs = None

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (IndexError_, BackendError):
            raise
        except Exception as exc:
            if self.settings.chroma_url and _is_connection_error(exc):
                raise BackendError(f"cannot reach {self.location}: {_short(exc)}") from None
            raise


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
    )


def _is_connection_error(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(w in text for w in ("connect", "timeout", "refused", "unreachable", "network", "remoteprotocol"))


def _short(exc: Exception) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    try:  # chromadb wraps server errors as JSON
        msg = json.loads(msg).get("error", msg)
    except (ValueError, AttributeError):
        pass
    return msg[:200]
