"""Run an iterator in a thread, a few items ahead of its consumer.

Inside a worker, decoding (PyAV) and inference (onnxruntime) both release the GIL, so a
decode thread feeding the encoder keeps two cores busy on one long file instead of
alternating between them.
"""
from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def prefetch(items: Iterable[T], depth: int = 2, name: str = "clipseek-prefetch") -> Iterator[T]:
    """Yield what ``items`` yields, produced up to ``depth`` items ahead in a daemon thread.

    An exception in the producer is raised in the consumer, at the place in the sequence where it
    happened. Closing the returned generator early stops the producer at its next item.
    """
    if depth < 1:
        raise ValueError(f"prefetch depth must be at least 1, not {depth}")
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, who decides
            put(_Failure(exc))

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                break
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()
