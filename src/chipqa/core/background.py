"""Things loaded once per process, on a background thread when the caller can use the wait for other work."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any


class Loads:
    """One Future per key: the first caller starts the load, every later caller gets the same Future.

    A load that failed is started afresh by the next caller. Imports belong on the caller's thread, before
    `start`, so that two threads never import the same modules at once."""

    def __init__(self, thread_name: str) -> None:
        self.thread_name = thread_name
        self._futures: dict[Hashable, Future[Any]] = {}
        self._lock = threading.Lock()

    def start(self, key: Hashable, load: Callable[[], Any], background: bool) -> Future[Any]:
        with self._lock:
            future = self._futures.get(key)
            if future is not None and not (future.done() and future.exception() is not None):
                return future
            future = Future()
            self._futures[key] = future
        if background:
            threading.Thread(target=_settle, args=(future, load), name=self.thread_name, daemon=True).start()
        else:
            _settle(future, load)
        return future

    def loaded(self) -> list[Any]:
        """The results of the loads that have finished without error."""
        with self._lock:
            futures = list(self._futures.values())
        return [f.result() for f in futures if f.done() and f.exception() is None]


def _settle(future: Future[Any], load: Callable[[], Any]) -> None:
    try:
        future.set_result(load())
    except BaseException as exc:  # handed to whoever waits for the result
        future.set_exception(exc)
