"""Chroma clients: one embedded PersistentClient per index directory, or an HttpClient for a server; and
Chroma's and httpx's exceptions turned into chipqa's, by type.

Server mode survives the server going away: every call that cannot reach it is a BackendError naming the
URL, and the next call after a restart simply works.

Embedded mode tolerates another process writing the same directory (`chipqa ingest` while the UI runs):
Chroma's in-process state does not follow another process's writes, so `LocalIndex` remembers the database
file's stamp after this process's last call and reopens the client when the file changed under it.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from chipqa.core.errors import BackendError
from chipqa.core.settings import Settings
from chipqa.core.text import short_error, without_credentials

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

# A stalled Chroma server must not hang chipqa: connecting is quick or fails; a large write may take a while.
CONNECT_TIMEOUT_S = 5.0
REQUEST_TIMEOUT_S = 120.0
# Creating an embedded index or a collection takes well under a second; a longer wait means a stuck process.
CREATE_WAIT_S = 30.0


def describe_location(settings: Settings) -> str:
    """Where the index lives, for messages (no credentials)."""
    if settings.chroma_url:
        u = urlparse(settings.chroma_url)
        return f"Chroma server {u.scheme}://{u.hostname}:{u.port or (443 if u.scheme == 'https' else 8000)}"
    return f"{settings.index_dir.resolve()}"


def _chroma_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=True)


def open_server_client(settings: Settings) -> ClientAPI:
    """An HttpClient for CHIPQA_CHROMA_URL; a server that cannot be reached is a BackendError naming it."""
    import chromadb

    assert settings.chroma_url
    u = urlparse(settings.chroma_url)
    if u.scheme not in ("http", "https") or not u.hostname:
        shown = without_credentials(settings.chroma_url)
        raise BackendError(f"CHIPQA_CHROMA_URL must look like http://host:port, got '{shown}'")
    port = u.port or (443 if u.scheme == "https" else 8000)
    location = describe_location(settings)
    # chromadb's own client has no timeout and already talks to the server while it is constructed.
    _probe(f"{u.scheme}://{u.hostname}:{port}", location)
    with chroma_errors(location):
        client = chromadb.HttpClient(host=u.hostname, port=port, ssl=u.scheme == "https", settings=_chroma_settings())
        _bound_waits(client)
        client.heartbeat()
    return client


def _probe(base: str, location: str) -> None:
    """One heartbeat with a short timeout, so an unreachable or wrong server fails fast and clearly."""
    import httpx

    with chroma_errors(location, CONNECT_TIMEOUT_S):
        response = httpx.get(f"{base}/api/v2/heartbeat", timeout=CONNECT_TIMEOUT_S)
    if response.status_code != 200:
        raise BackendError(f"{location} answered HTTP {response.status_code}; is it a Chroma server?")


def _bound_waits(client: ClientAPI) -> None:
    import httpx

    # Private API: chromadb builds its httpx.Client with timeout=None and no client setting reaches it
    # (chroma-core/chroma#5805; still so in chromadb 1.5.9), so a server that stops answering would hang us.
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(REQUEST_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)


class LocalIndex:
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

                self.path.mkdir(parents=True, exist_ok=True)
                with self.exclusive():  # two processes creating a new index at once would clash
                    self.client = chromadb.PersistentClient(path=str(self.path), settings=_chroma_settings())
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
        """Drop Chroma's state for this directory and open it afresh."""
        with self.lock:
            if self.client is not None:
                # This process holds one client per directory, so closing it stops Chroma's System for it.
                close = getattr(self.client, "close", None)  # on Client, not on the ClientAPI protocol
                with contextlib.suppress(Exception):  # a stale client may fail to close; it is dropped anyway
                    if callable(close):
                        close()
            self.client = None
            self.generation += 1
            self.open()


# Cache with a reason: Chroma keeps one System per directory per process, so every ChunkStore of a directory
# must share one client, one lock and one view of the file's stamp, or a reopen by one would break the others.
_LOCAL: dict[Path, LocalIndex] = {}
_LOCAL_GUARD = threading.Lock()


def local_index(index_dir: Path) -> LocalIndex:
    """The process-wide LocalIndex of a directory."""
    path = index_dir.resolve()
    with _LOCAL_GUARD:
        if path not in _LOCAL:
            _LOCAL[path] = LocalIndex(path)
        return _LOCAL[path]


def transport_failure(exc: BaseException) -> BaseException | None:
    """The httpx transport error behind an exception (chromadb re-raises some as ValueError), or None."""
    import httpx

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, httpx.TransportError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


@contextlib.contextmanager
def chroma_errors(location: str, timeout_s: float = REQUEST_TIMEOUT_S) -> Iterator[None]:
    """Transport failures (refused, reset, timed out; also when chromadb wrapped them) become one
    BackendError naming the server; HTTP errors a proxy answers with do too. Chroma's own errors pass."""
    import httpx

    try:
        yield
    except httpx.HTTPStatusError as exc:
        raise BackendError(f"{location} answered HTTP {exc.response.status_code}") from None
    except Exception as exc:
        cause = transport_failure(exc)
        if cause is None:
            raise
        if isinstance(cause, httpx.TimeoutException):
            limit = CONNECT_TIMEOUT_S if isinstance(cause, httpx.ConnectTimeout) else timeout_s
            raise BackendError(f"cannot reach {location}: no answer within {limit:.0f} s") from None
        raise BackendError(f"cannot reach {location}: {short(cause)}") from None


def short(exc: BaseException) -> str:
    """An exception's message in one short line; chromadb's JSON error bodies reduced to their message."""
    msg = short_error(exc)
    with contextlib.suppress(ValueError, AttributeError):
        msg = str(json.loads(msg).get("error", msg))[:200]
    return msg
