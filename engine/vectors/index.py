"""hnswlib index of one model's segment vectors: a cache of the catalog, repaired on open.

Labels are catalog segment ids. Vectors are L2-normalised and stored in the 'ip' space,
so 1 - distance is the cosine score. On open the saved index is loaded and the catalog's
change log is replayed from the manifest's watermark; anything that does not add up
(missing or unreadable files, another model, a count that differs from the catalog) is
rebuilt from ``catalog.iter_vectors`` with a notice.

Write order on save (Chroma's rule): index.bin (temp + fsync + rename), then
manifest.json carrying the watermark, last.
"""
from __future__ import annotations

import errno
import logging
import os
import shutil
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Protocol, Sequence

import hnswlib
import numpy as np

from engine.util.atomic import atomic_write
from engine.vectors import hnsw_file
from engine.vectors.arrays import as_matrix, label_set, no_hits, normalised
from engine.vectors.manifest import Manifest, ManifestProblem
from engine.vectors.rwlock import ReadWriteLock
from engine.vectors.store import net_changes, unsaved_notice

log = logging.getLogger(__name__)

INDEX_FILE = "index.bin"
MANIFEST_FILE = "manifest.json"
SPACE = "ip"
FULL_DISK_BYTES = 16 << 20    # a short index.bin with less than this free beside it: the disk filled up


@dataclass(frozen=True)
class HnswParams:
    M: int = 16                   # graph links per element
    ef_construction: int = 200    # beam width while building
    ef_search: int = 64           # least beam width of a search; raised to 2k for larger k
    initial_capacity: int = 1024  # elements before the first resize
    growth: float = 1.5           # capacity multiplier when the index is full
    exact_below: int = 2048       # a filter allowing at most this many ids is answered exactly
    replay_limit: int = 50000     # a longer backlog (and over half the index) is rebuilt, not replayed
    batch: int = 10000            # vectors per add_items call and changes per replay page
    threads: int = -1             # hnswlib threads for adds (-1: all cores)


class VectorSource(Protocol):
    """What the index reads from the catalog (engine.catalog.Catalog satisfies it)."""

    def last_change_seq(self) -> int: ...
    def changes_since(self, seq: int, limit: int | None = None) -> Sequence: ...   # (seq, segment_id, op)
    def changes_trimmed_through(self) -> int: ...
    def iter_vectors(self, fingerprint: str | None, batch: int = 10000) -> Iterator[tuple[np.ndarray, np.ndarray]]: ...
    def segment_vectors(self, ids: Sequence[int], fingerprint: str | None = None
                        ) -> tuple[np.ndarray, np.ndarray]: ...
    def live_segment_count(self, fingerprint: str | None = None) -> int: ...


class VectorIndex:
    """Open with ``VectorIndex.open(vectors_dir, dim, fingerprint, catalog)``.

    Thread-safe: searches share a read lock; add, delete, sync and rebuild take the
    write lock; save holds the read lock (searches go on, writes wait).
    """

    supports_filters = False
    shared_watermark = False   # its watermark is in this folder's manifest

    def __init__(self, vectors_dir: Path, dim: int, fingerprint: str, source: VectorSource,
                 params: HnswParams | None = None) -> None:
        self.dir = Path(vectors_dir)
        self.dim = int(dim)
        self.fingerprint = fingerprint
        self.params = params or HnswParams()
        self.notices: list[str] = []      # sentences for the user: why the index was rebuilt
        self._source = source
        self._lock = ReadWriteLock()
        self._save_lock = threading.Lock()
        self._ef_lock = threading.Lock()
        self._index: hnswlib.Index | None = None
        self._ef = self.params.ef_search
        self._ef_wanted: Counter[int] = Counter()   # the ef of each search running now
        self._live = 0                    # elements not marked deleted
        self._synced = 0                  # last catalog change seq applied
        self._dirty = False               # changed since the last save
        # False for an index opened by hnsw_file's fast path (a file without deleted elements): slots
        # deleted from then on are reused after the next open.
        self._reuses_deleted = True

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def open(cls, vectors_dir: Path, dim: int, fingerprint: str, catalog: VectorSource,
             params: HnswParams | None = None) -> "VectorIndex":
        index = cls(vectors_dir, dim, fingerprint, catalog, params)
        with index._lock.write():
            index._load_or_rebuild()
        return index

    def close(self, save: bool = True) -> None:
        """Save unsaved changes (unless ``save`` is False) and let the index go."""
        with self._lock.write():
            if self._index is not None and save and self._dirty:
                self._save_or_say_why()
            self._index = None

    @property
    def count(self) -> int:
        """Live (searchable) vectors."""
        return self._live

    @property
    def synced_through(self) -> int:
        """The last catalog change seq the index holds."""
        return self._synced

    @property
    def element_count(self) -> int:
        """Slots in use, deleted ones included (bounded: deleted slots are reused)."""
        return self._require().element_count

    @property
    def capacity(self) -> int:
        return self._require().get_max_elements()

    # -- writes ----------------------------------------------------------------------------
    def add(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace vectors under segment ids (normalised here)."""
        with self._lock.write():
            self._add_unlocked(ids, vectors)

    def delete(self, ids: Iterable[int]) -> None:
        """Mark ids deleted; unknown or already deleted ids are ignored."""
        with self._lock.write():
            self._delete_unlocked(ids)

    def apply_changes(self, catalog: VectorSource | None = None) -> int:
        """Apply the catalog's changes since the watermark; returns how many log entries were read."""
        with self._lock.write():
            return self._apply_changes_unlocked(catalog or self._source)

    def sync(self, catalog: VectorSource | None = None) -> int:
        """apply_changes, then save if anything changed."""
        applied = self.apply_changes(catalog)
        if self._dirty:
            self.save()
        return applied

    def save(self, synced_through: int | None = None) -> None:
        """Write index.bin then manifest.json atomically.

        ``synced_through`` overrides the watermark: pass it only when you applied the
        catalog's changes up to that seq yourself with add/delete.
        """
        with self._save_lock, self._lock.read():
            if synced_through is not None:
                self._synced = int(synced_through)
            self._save_unlocked()

    def rebuild(self) -> None:
        """Build the index again from the catalog and save it."""
        with self._lock.write():
            self._rebuild_unlocked()
            self._save_unlocked()

    # -- search ----------------------------------------------------------------------------
    def search(self, query: np.ndarray, k: int, allowed_ids: Iterable[int] | np.ndarray | None = None,
               filters: object = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k segment ids and cosine scores for each query row, best first.

        ``query`` is [D] or [Q,D]; returns (ids int64 [Q,k'], scores float32 [Q,k']) where
        k' = min(k, searchable items), so fewer than k items is not an error. ``allowed_ids``
        restricts results to those segment ids. ``filters`` is ignored (supports_filters is
        False): the searcher checks rows against the catalog after this stage.
        """
        q = normalised(as_matrix(query, self.dim, "query"))
        allowed = None if allowed_ids is None else label_set(allowed_ids)
        with self._lock.read():
            index = self._require()
            limit = self._live if allowed is None else min(self._live, len(allowed))
            k_eff = min(int(k), limit)
            if k_eff <= 0:
                return no_hits(len(q))
            if allowed is not None and len(allowed) <= self.params.exact_below:
                return self._exact(index, q, sorted(allowed), k_eff)
            return self._approximate(index, q, k_eff, allowed)

    def _approximate(self, index: hnswlib.Index, q: np.ndarray, k: int, allowed: set[int] | None
                     ) -> tuple[np.ndarray, np.ndarray]:
        accept = None if allowed is None else allowed.__contains__
        ef = max(self.params.ef_search, 2 * k)
        for _attempt in range(3):
            try:
                with self._beam(index, ef):
                    labels, distances = index.knn_query(q, k=k, num_threads=1 if len(q) == 1 else -1,
                                                        filter=accept)
                return labels.astype(np.int64), (1.0 - distances).astype(np.float32)
            except RuntimeError:
                # Fewer than k reachable (many deletions or a tight filter): widen the beam, then go exact.
                ef *= 4
        candidates = sorted(allowed) if allowed is not None else [int(i) for i in index.get_ids_list()]
        return self._exact(index, q, candidates, k)

    def _exact(self, index: hnswlib.Index, q: np.ndarray, labels: list[int], k: int
               ) -> tuple[np.ndarray, np.ndarray]:
        found, vectors = _stored_vectors(index, labels)
        k = min(k, len(found))
        if k == 0:
            return no_hits(len(q))
        scores = q @ vectors.T                                     # [Q, N]
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(-scores, top, axis=1).argsort(axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        return found[top], np.take_along_axis(scores, top, axis=1).astype(np.float32)

    @contextmanager
    def _beam(self, index: hnswlib.Index, ef: int) -> Iterator[None]:
        """The index's ef at least ``ef`` while this search runs, and back down to what the searches still
        running asked for once it ends. hnswlib's ef is one setting of the whole index, read as each search
        starts: never lowered below a running search's, and never left high after a deep one (ef 1,200 for
        k = 600 made every later top-100 search about 15 times slower)."""
        with self._ef_lock:
            self._ef_wanted[ef] += 1
            if ef > self._ef:
                index.set_ef(ef)
                self._ef = ef
        try:
            yield
        finally:
            with self._ef_lock:
                self._ef_wanted[ef] -= 1
                if not self._ef_wanted[ef]:
                    del self._ef_wanted[ef]
                needed = max(self._ef_wanted, default=self.params.ef_search)
                if needed < self._ef:
                    index.set_ef(needed)
                    self._ef = needed

    @property
    def ef(self) -> int:
        """The search beam the index holds now (``params.ef_search`` between searches)."""
        return self._ef

    # -- open, replay, rebuild (callers hold the write lock) -------------------------------
    def _load_or_rebuild(self) -> None:
        index_path, manifest_path = self.dir / INDEX_FILE, self.dir / MANIFEST_FILE
        if not index_path.exists() and not manifest_path.exists():
            log.info("no vector index in %s yet: building it from the catalog", self.dir)
            self._rebuild_unlocked()
            self._save_or_say_why()
            return
        problem = self._load_unlocked(index_path, manifest_path) or self._catch_up_unlocked()
        if problem:
            self._notice(f"The search index was rebuilt from the catalog because {problem}.")
            self._rebuild_unlocked()
        if self._dirty:
            self._save_or_say_why()

    def _load_unlocked(self, index_path: Path, manifest_path: Path) -> str | None:
        """Load index.bin as the manifest describes it; returns why not, or None."""
        try:
            manifest = Manifest.load(manifest_path)
        except ManifestProblem as exc:
            return str(exc)
        if manifest.fingerprint != self.fingerprint:
            return (f"it holds vectors of another model ({manifest.fingerprint[:12]}, the model now is "
                    f"{self.fingerprint[:12]})")
        if manifest.dim != self.dim:
            return f"it holds {manifest.dim}-dimensional vectors and the model makes {self.dim}"
        if (manifest.space, manifest.M, manifest.ef_construction) != (SPACE, self.params.M,
                                                                       self.params.ef_construction):
            return "it was built with other hnswlib settings"
        if not index_path.exists():
            return f"{INDEX_FILE} is missing"
        size = index_path.stat().st_size
        if size != manifest.index_bytes:
            return f"{INDEX_FILE} has {size} bytes where {manifest.index_bytes} were saved (truncated or replaced)"
        try:
            index, self._reuses_deleted = hnsw_file.load(index_path, SPACE, self.dim)
        except (RuntimeError, ValueError, MemoryError, OSError) as exc:
            return f"{INDEX_FILE} does not load ({exc})"
        if index.element_count < manifest.count:
            return f"{INDEX_FILE} holds {index.element_count} vectors where {manifest.count} were saved"
        self._index = index
        self._live = manifest.count
        self._synced = manifest.synced_through
        self._ef = self.params.ef_search
        index.set_ef(self._ef)
        return None

    def _catch_up_unlocked(self) -> str | None:
        """Replay the change log from the watermark; returns why a rebuild is needed, or None."""
        last = self._source.last_change_seq()
        if self._synced > last:
            return (f"it is ahead of the catalog (change {self._synced}, catalog at {last}); the catalog was "
                    "restored or replaced")
        if self._synced < self._source.changes_trimmed_through():
            return "the catalog's change log no longer reaches back to the index's last save"
        backlog = last - self._synced
        if backlog > max(self.params.replay_limit, self._live // 2):
            log.info("%d catalog changes since the last save: rebuilding instead of replaying", backlog)
            self._rebuild_unlocked()
            return None
        self._apply_changes_unlocked(self._source)
        expected = self._source.live_segment_count(self.fingerprint)
        if self._live != expected:
            return f"it holds {self._live} vectors where the catalog has {expected}"
        return None

    def _rebuild_unlocked(self) -> None:
        # Changes logged after this seq may or may not be in what iter_vectors reads; the replay below
        # settles them either way (adds of present ids update in place, deletes of absent ids are no-ops).
        start_seq = self._source.last_change_seq()
        expected = self._source.live_segment_count(self.fingerprint)
        index = hnswlib.Index(space=SPACE, dim=self.dim)
        index.init_index(max_elements=max(self.params.initial_capacity, int(expected * 1.1) + 1),
                         ef_construction=self.params.ef_construction, M=self.params.M,
                         allow_replace_deleted=True)
        self._ef = self.params.ef_search
        index.set_ef(self._ef)
        self._index, self._live, self._synced = index, 0, start_seq
        self._reuses_deleted = True
        for ids, vectors in self._source.iter_vectors(self.fingerprint, batch=self.params.batch):
            self._add_unlocked(ids, vectors, fresh=True)
        self._apply_changes_unlocked(self._source)
        self._dirty = True
        log.info("vector index rebuilt: %d vectors through change %d", self._live, self._synced)

    def _apply_changes_unlocked(self, source: VectorSource) -> int:
        read = 0
        while True:
            changes = source.changes_since(self._synced, limit=self.params.batch)
            if not changes:
                return read
            deleted, added = net_changes(changes)
            self._delete_unlocked(deleted)
            if added:
                # Segments removed meanwhile or of another model are simply not returned.
                ids, vectors = source.segment_vectors(added, self.fingerprint)
                if len(ids):
                    self._add_unlocked(ids, vectors)
            self._synced = int(changes[-1][0])
            self._dirty = True
            read += len(changes)

    def _add_unlocked(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray, fresh: bool = False) -> None:
        """``fresh``: the caller vouches that none of ``ids`` is in the index (rebuilds)."""
        index = self._require()
        labels = np.asarray(ids, dtype=np.int64).reshape(-1)
        data = normalised(as_matrix(vectors, self.dim, "vectors"))
        if len(labels) != len(data):
            raise ValueError(f"{len(labels)} ids for {len(data)} vectors")
        if len(labels) == 0:
            return
        _, last = np.unique(labels[::-1], return_index=True)     # a repeated id: its last vector wins
        keep = np.sort(len(labels) - 1 - last)
        labels, data = labels[keep], data[keep]
        if fresh or index.element_count == 0:
            new = np.ones(len(labels), bool)
        else:
            new = np.array([self._claim_existing(index, int(label)) is False for label in labels], bool)
            if not new.all():
                # Present ids are updated in place (never via replace_deleted, which would duplicate a label).
                index.add_items(data[~new], labels[~new], num_threads=1, replace_deleted=False)
        n_new = int(new.sum())
        if n_new:
            # Deleted slots are reused by replace_deleted, so only live elements take room.
            needed = (self._live if self._reuses_deleted else index.element_count) + n_new
            if needed > index.get_max_elements():
                index.resize_index(max(needed, int(index.get_max_elements() * self.params.growth) + 1))
            index.add_items(data[new], labels[new], num_threads=self.params.threads,
                            replace_deleted=self._reuses_deleted)
            self._live += n_new
        self._dirty = True

    def _claim_existing(self, index: hnswlib.Index, label: int) -> bool:
        """True if ``label`` is in the index (a deleted one is revived and counted live again)."""
        try:
            index.get_items([label])
            return True
        except RuntimeError:
            pass
        try:
            index.unmark_deleted(label)
        except RuntimeError:
            return False                       # not in the index at all
        self._live += 1
        return True

    def _delete_unlocked(self, ids: Iterable[int]) -> None:
        index = self._require()
        for label in ids:
            try:
                index.mark_deleted(int(label))
            except RuntimeError:
                continue                       # unknown or already deleted
            self._live -= 1
            self._dirty = True

    def _save_unlocked(self) -> None:
        index = self._require()
        self.dir.mkdir(parents=True, exist_ok=True)
        index_path = self.dir / INDEX_FILE
        atomic_write(index_path, lambda tmp: _save_whole(index, tmp))
        Manifest(fingerprint=self.fingerprint, dim=self.dim, count=self._live, synced_through=self._synced,
                 index_bytes=index_path.stat().st_size, max_elements=index.get_max_elements(), space=SPACE,
                 M=self.params.M, ef_construction=self.params.ef_construction).save(self.dir / MANIFEST_FILE)
        self._dirty = False

    def _save_or_say_why(self) -> None:
        """Save; where the disk is full or the folder cannot be written, say so and go on from memory: the
        catalog holds every vector, and the files left (the last pair saved whole, or an index.bin that its
        manifest does not describe) are caught up or rebuilt from it on the next open."""
        try:
            self._save_unlocked()
        except OSError as exc:
            message = unsaved_notice(exc, self.dir)
            if message not in self.notices:     # (closing tries again: said once is enough)
                self._notice(message)

    def _require(self) -> hnswlib.Index:
        if self._index is None:
            raise RuntimeError(f"the vector index in {self.dir} is closed")
        return self._index

    def _notice(self, message: str) -> None:
        log.warning(message)
        self.notices.append(message)


def _save_whole(index: hnswlib.Index, path: Path) -> None:
    index.save_index(str(path))
    if not hnsw_file.whole(path):
        if shutil.disk_usage(path.parent).free < FULL_DISK_BYTES:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        raise OSError(errno.EIO, "hnswlib wrote the file short", str(path))


def _stored_vectors(index: hnswlib.Index, labels: list[int], chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(labels int64 [N], vectors [N,D]) of those ``labels`` that are live in the index."""
    found: list[int] = []
    parts: list[np.ndarray] = []
    for start in range(0, len(labels), chunk):
        part = labels[start:start + chunk]
        try:
            parts.append(np.asarray(index.get_items(part), np.float32).reshape(len(part), -1))
            found.extend(part)
        except RuntimeError:                   # some are deleted or absent: take them one by one
            for label in part:
                try:
                    parts.append(np.asarray(index.get_items([label]), np.float32).reshape(1, -1))
                except RuntimeError:
                    continue
                found.append(label)
    if not found:
        return np.zeros(0, np.int64), np.zeros((0, index.dim), np.float32)
    return np.asarray(found, np.int64), np.concatenate(parts)
