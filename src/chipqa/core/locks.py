"""A file lock that waits a bounded time, then fails with one clear line."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chipqa.core.errors import IndexError_


@contextmanager
def file_lock(path: Path, wait_s: float, busy_message: str, poll_s: float = 0.2) -> Iterator[None]:
    """Hold an exclusive lock on `path`; after `wait_s` without it, raise IndexError_(busy_message)."""
    with open(path, "w") as handle:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexError_(busy_message) from None
                time.sleep(poll_s)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
