"""What the Library, the Indexer and the Searcher use of a vector store.

Two stores conform: VectorIndex (hnswlib files in the library folder, one process)
and MilvusStore (a Milvus collection several processes share). Both are caches of
the catalog, kept current by replaying its change log from a watermark.
"""
from __future__ import annotations

import errno
from pathlib import Path
from typing import Iterable, Protocol, Sequence, runtime_checkable

import numpy as np


@runtime_checkable
class VectorStore(Protocol):
    notices: list[str]          # sentences for the user: why the store was rebuilt
    supports_filters: bool      # search() applies SearchFilters itself (folder, date, duration)
    shared_watermark: bool      # the watermark lives in the catalog, for every process using the store

    @property
    def count(self) -> int:
        """Live (searchable) vectors."""
        ...

    @property
    def synced_through(self) -> int:
        """The last catalog change seq this store is known to hold."""
        ...

    def search(self, query: np.ndarray, k: int, allowed_ids: Iterable[int] | np.ndarray | None = None,
               filters: object = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64 [Q,k'], cosine scores float32 [Q,k']), best first; k' <= k."""
        ...

    def apply_changes(self, catalog=None) -> int:
        """Replay the catalog's change log from the watermark; returns how many entries were read."""
        ...

    def sync(self, catalog=None) -> int:
        """apply_changes, then save if anything changed."""
        ...

    def save(self, synced_through: int | None = None) -> None: ...

    def rebuild(self) -> None:
        """Build the store again from the catalog."""
        ...

    def close(self, save: bool = True) -> None: ...


def net_changes(changes: Sequence) -> tuple[list[int], list[int]]:
    """(deleted ids, added ids) of a page of the change log (seq, segment_id, op), each id once.

    Segment ids are never reused, so an id's last op in the page is its net effect.
    """
    last_op: dict[int, str] = {}
    for _seq, segment_id, op in changes:
        last_op[int(segment_id)] = op
    return ([i for i, op in last_op.items() if op == "del"], [i for i, op in last_op.items() if op == "add"])


def unsaved_notice(exc: OSError, folder: Path | str | None = None) -> str:
    """What the user is told when a store's files could not be written: nothing is lost, since the catalog holds
    every vector and the store catches up from it."""
    where = f" in {folder}" if folder is not None else ""
    return (f"The search index could not be saved{where} ({_why_unwritten(exc)}); it is brought up to date from the "
            "catalog the next time the library opens.")


def _why_unwritten(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.EROFS:
        return "the drive is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "the folder cannot be written: permission denied"
    return exc.strerror or str(exc)
