"""A tiny event hub: the engine announces, views listen.

Events (name -> payload):
  "folders_changed" -> None
  "index_started"   -> None
  "progress"        -> Progress
  "file_done"       -> (path, status)
  "index_finished"  -> Progress
  "notice"          -> str, something the user should read (a rebuilt index, a failed save)
Callbacks run on the thread that emits; a GUI re-posts them to its own thread.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger(__name__)

Callback = Callable[[str, object], None]


class EventHub:
    def __init__(self) -> None:
        self._callbacks: list[Callback] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        with self._lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)
        return unsubscribe

    def emit(self, name: str, payload: object = None) -> None:
        with self._lock:
            callbacks = list(self._callbacks)
        for cb in callbacks:
            try:
                cb(name, payload)
            except Exception:  # a broken listener must not stop indexing
                log.exception("event listener failed on %s", name)
