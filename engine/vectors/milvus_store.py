"""A Milvus collection of one model's segment vectors: a cache of the catalog that processes share.

Primary keys are catalog segment ids. Vectors are L2-normalised and searched by inner
product, so scores are cosines. Each row also carries what search filters look at (the
file's folder, date and duration), so stage 1 is filtered inside Milvus.

The watermark (the last catalog change the collection holds) lives in the catalog's meta
table, because every process using the collection shares it. Replays hold
``catalog.named_lock("vectors:<collection>")``: two processes replaying one page each
could otherwise apply an add after the delete that followed it.

pymilvus is imported on open only: without the ``shared`` extra the engine still imports.
"""
from __future__ import annotations

import hashlib
import logging
import math
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence
from urllib.parse import urlparse, urlunparse

import numpy as np

from engine.errors import VectorStoreError
from engine.vectors.arrays import as_matrix, label_set, no_hits, normalised
from engine.vectors.store import net_changes

log = logging.getLogger(__name__)

# pymilvus pings an idle connection every 10 s; a gRPC server left at gRPC's defaults (Milvus Lite's)
# answers pings more often than every 5 minutes without calls with GOAWAY "too_many_pings", after which
# every request of this process fails. Ping only during calls, and rarely.
GRPC_OPTIONS = {"grpc.keepalive_time_ms": 300_000, "grpc.keepalive_permit_without_calls": 0}

SERVER_SCHEMES = {"milvus": "http", "http": "http", "https": "https", "tcp": "tcp"}
DEFAULT_PORT = 19530
MAX_TOP_K = 16384              # Milvus refuses a larger limit in one search
MAX_FOLDER_CHARS = 65535       # Milvus' largest VARCHAR
FIELDS = ("id", "vector", "folder", "mtime", "duration")   # "mtime": the file's date (recorded, else its mtime)
NOT_LOADED = 101               # Milvus status code: the collection is released


@dataclass(frozen=True)
class MilvusParams:
    M: int = 16                   # HNSW graph links per element
    ef_construction: int = 200
    ef_search: int = 64           # least beam width of a search; raised to k for larger k
    batch: int = 2000             # rows per write and changes per replay page
    connect_timeout: float = 10.0  # seconds


def collection_name(prefix: str, fingerprint: str) -> str:
    """``<prefix>_<first 16 hex digits of the fingerprint>``: a valid Milvus name per model."""
    short = fingerprint[:16].lower()
    if len(short) < 16 or any(c not in "0123456789abcdef" for c in short):
        short = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    name = f"{prefix}_{short}"
    if not prefix or not (prefix[0].isalpha() or prefix[0] == "_") or \
            not all(c.isascii() and (c.isalnum() or c == "_") for c in prefix) or len(name) > 255:
        raise VectorStoreError(f"{prefix!r} cannot start a Milvus collection name; use letters, digits and "
                               "underscores, beginning with a letter")
    return name


def milvus_address(spec: str) -> str:
    """The URI pymilvus connects to: ``http(s)://host:port`` of a server, or a Milvus Lite ``.db`` path."""
    text = str(spec).strip()
    if text.endswith(".db") and "://" not in text:
        path = Path(text).expanduser().absolute()
        if not path.parent.is_dir():
            raise VectorStoreError(f"cannot open Milvus Lite at {path}: the folder {path.parent} does not "
                                   "exist; create it or choose another path ending in .db")
        return str(path)
    parsed = urlparse(text)
    scheme = SERVER_SCHEMES.get(parsed.scheme.lower())
    if scheme is None or not parsed.hostname:
        raise VectorStoreError(f"{text!r} is not a vector store address ClipSeek understands; use "
                               "milvus://host:port or http://host:port for a Milvus server, a path ending in "
                               ".db for Milvus Lite, or nothing for the built-in index")
    netloc = parsed.netloc if parsed.port else f"{parsed.netloc}:{DEFAULT_PORT}"
    return urlunparse((scheme, netloc, parsed.path, "", "", ""))


def filter_expression(filters, allowed_ids: Sequence[int] | None = None) -> str:
    """The Milvus boolean expression for SearchFilters (folders, date and duration ranges) and ids."""
    terms: list[str] = []
    if filters is not None:
        if filters.folders:
            terms.append(f"folder in [{', '.join(_string_literal(f) for f in filters.folders)}]")
        for field, bounds in (("mtime", filters.date_range), ("duration", filters.duration_range)):
            if bounds is None:
                continue
            low, high = float(bounds[0]), float(bounds[1])
            if math.isfinite(low):
                terms.append(f"{field} >= {low!r}")
            if math.isfinite(high):
                terms.append(f"{field} <= {high!r}")
    if allowed_ids is not None:
        terms.append(f"id in [{', '.join(str(int(i)) for i in allowed_ids)}]")
    return " and ".join(terms)


def _string_literal(text: str) -> str:
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _display(uri: str) -> str:
    """The address without a password, for messages."""
    parsed = urlparse(uri)
    if parsed.password is None:
        return uri
    return urlunparse(parsed._replace(netloc=f"{parsed.username}:***@{parsed.hostname}:{parsed.port}"))


def _import_pymilvus():
    try:
        import pymilvus
    except ImportError as exc:
        raise VectorStoreError("sharing vectors through Milvus needs the pymilvus package: install "
                               "clipseek[shared] (pip install 'clipseek[shared]'), or leave the vector store "
                               "setting empty for the built-in index") from exc
    return pymilvus


class MilvusStore:
    """Open with ``MilvusStore.open(uri, dim, fingerprint, catalog)``.

    Thread-safe: searches go straight to Milvus; replays and rebuilds of this process
    take a local lock as well as the catalog's named lock.
    """

    supports_filters = True
    shared_watermark = True   # its watermark is in the catalog's meta table

    def __init__(self, client, uri: str, collection: str, dim: int, fingerprint: str, source,
                 params: MilvusParams | None = None) -> None:
        self.uri = uri
        self.collection = collection
        self.dim = int(dim)
        self.fingerprint = fingerprint
        self.params = params or MilvusParams()
        self.notices: list[str] = []      # sentences for the user: why the collection was rebuilt
        self._client = client
        self._source = source
        self._write_lock = threading.Lock()
        self._lock_name = f"vectors:{collection}"
        self._watermark_key = f"vectors_synced_through:{collection}"
        self._synced = 0                  # last catalog change seq this process saw applied
        self._dirty = False               # written since the last flush
        import grpc
        from pymilvus.exceptions import MilvusException

        self._failures: tuple[type[BaseException], ...] = (MilvusException, grpc.RpcError)

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def open(cls, uri: str, dim: int, fingerprint: str, catalog, collection_prefix: str = "clipseek",
             params: MilvusParams | None = None) -> "MilvusStore":
        address = milvus_address(uri)
        collection = collection_name(collection_prefix, fingerprint)
        params = params or MilvusParams()
        pymilvus = _import_pymilvus()
        try:
            client = pymilvus.MilvusClient(uri=address, timeout=params.connect_timeout, grpc_options=GRPC_OPTIONS)
        except pymilvus.exceptions.MilvusException as exc:
            raise VectorStoreError(f"cannot reach the Milvus server at {_display(address)} ({exc.message}); "
                                   "start it, or fix the vector store address in the library's settings") from exc
        store = cls(client, address, collection, dim, fingerprint, catalog, params)
        try:
            with store._write_lock, catalog.named_lock(store._lock_name):
                store._open_locked()
        except BaseException:
            client.close()
            raise
        return store

    def close(self, save: bool = True) -> None:
        """Flush unflushed writes (unless ``save`` is False) and let the connection go."""
        with self._write_lock:
            if self._client is None:
                return
            if save and self._dirty:
                self._flush()
            self._client.close()
            self._client = None

    @property
    def count(self) -> int:
        """Live (searchable) vectors in the collection, whoever wrote them."""
        with self._errors("counting vectors"):
            return self._count()

    @property
    def synced_through(self) -> int:
        """The last catalog change seq this process knows the collection holds (the shared
        watermark can only be further on)."""
        return self._synced

    # -- writes ----------------------------------------------------------------------------
    def apply_changes(self, catalog=None) -> int:
        """Apply the catalog's changes since the shared watermark; returns how many log entries were read."""
        source = catalog or self._source
        with self._write_lock, source.named_lock(self._lock_name):
            self._synced = self._read_watermark(source)
            if self._synced < source.changes_trimmed_through():
                self._notice_rebuild("the catalog's change log no longer reaches back to its last update")
                self._rebuild_locked(source)
                return 0
            return self._replay_locked(source)

    def sync(self, catalog=None) -> int:
        """apply_changes, then flush if anything changed."""
        applied = self.apply_changes(catalog)
        if self._dirty:
            self.save()
        return applied

    def save(self, synced_through: int | None = None) -> None:
        """Flush written rows to Milvus' storage; the watermark is already saved as changes apply.

        ``synced_through`` exists for VectorIndex's callers: this store moves the shared
        watermark itself, so it accepts only the seq it already holds.
        """
        if synced_through is not None and int(synced_through) != self._synced:
            raise ValueError("MilvusStore moves its watermark itself as it applies catalog changes")
        with self._write_lock:
            if self._dirty:
                self._flush()

    def rebuild(self) -> None:
        """Build the collection again from the catalog."""
        with self._write_lock, self._source.named_lock(self._lock_name):
            self._rebuild_locked(self._source)

    # -- search ----------------------------------------------------------------------------
    def search(self, query: np.ndarray, k: int, allowed_ids: Iterable[int] | np.ndarray | None = None,
               filters=None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k segment ids and cosine scores for each query row, best first.

        ``query`` is [D] or [Q,D]; returns (ids int64 [Q,k'], scores float32 [Q,k']) with
        k' <= k: rows are cut to the shortest answer, so fewer matches is not an error.
        ``allowed_ids`` and ``filters`` (engine.search.SearchFilters) are applied inside Milvus.
        """
        q = normalised(as_matrix(query, self.dim, "query"))
        allowed = None if allowed_ids is None else sorted(label_set(allowed_ids))
        limit = min(int(k), MAX_TOP_K, MAX_TOP_K if allowed is None else len(allowed))
        if limit <= 0 or not len(q):
            return no_hits(len(q))
        request = dict(data=list(q), limit=limit, filter=filter_expression(filters, allowed), anns_field="vector",
                       output_fields=["id"],
                       search_params={"metric_type": "IP", "params": {"ef": max(self.params.ef_search, limit)}})
        with self._errors("searching"):
            try:
                hits = self._require().search(self.collection, **request)
            except self._failures[0] as exc:
                if getattr(exc, "code", None) != NOT_LOADED:
                    raise
                self._require().load_collection(self.collection)   # the server restarted since we opened
                hits = self._require().search(self.collection, **request)
        width = min(len(row) for row in hits)
        ids = np.array([[hit["id"] for hit in row[:width]] for row in hits], np.int64).reshape(len(q), width)
        scores = np.array([[hit["distance"] for hit in row[:width]] for row in hits],
                          np.float32).reshape(len(q), width)
        return ids, scores

    # -- open, replay, rebuild (callers hold both locks) -----------------------------------
    def _open_locked(self) -> None:
        source = self._source
        with self._errors("opening the search index"):
            exists = self._require().has_collection(self.collection)
            problem = self._schema_problem() if exists else None
        if not exists:
            if source.get_meta(self._watermark_key) is not None:
                self._notice_rebuild(f"the collection {self.collection} is missing on the Milvus server")
            else:
                log.info("no Milvus collection %s yet: building it from the catalog", self.collection)
            self._rebuild_locked(source)
            return
        problem = problem or self._catch_up_locked(source)
        if problem:
            self._notice_rebuild(problem)
            self._rebuild_locked(source)

    def _schema_problem(self) -> str | None:
        description = self._require().describe_collection(self.collection)
        fields = {f["name"]: f for f in description.get("fields", [])}
        if set(fields) != set(FIELDS):
            return f"it has the fields {', '.join(sorted(fields))} where ClipSeek writes {', '.join(FIELDS)}"
        dim = int(fields["vector"].get("params", {}).get("dim", 0))
        if dim != self.dim:
            return f"it holds {dim}-dimensional vectors and the model makes {self.dim}"
        return None

    def _catch_up_locked(self, source) -> str | None:
        """Replay the change log from the watermark; returns why a rebuild is needed, or None."""
        self._synced = self._read_watermark(source)
        last = source.last_change_seq()
        if self._synced > last:
            return (f"it is ahead of the catalog (change {self._synced}, catalog at {last}); the catalog was "
                    "restored or replaced")
        if self._synced < source.changes_trimmed_through():
            return "the catalog's change log no longer reaches back to its last update"
        with self._errors("opening the search index"):
            self._require().load_collection(self.collection)
        self._replay_locked(source)
        expected = _settled_segment_count(source, self.fingerprint, self._synced)
        if expected is not None:
            with self._errors("counting vectors"):
                held = self._count()
            if held != expected:
                return f"it holds {held} vectors where the catalog has {expected}"
        return None

    def _replay_locked(self, source) -> int:
        read = 0
        while True:
            changes = source.changes_since(self._synced, limit=self.params.batch)
            if not changes:
                return read
            deleted, added = net_changes(changes)
            with self._errors("applying catalog changes"):
                if deleted:
                    self._require().delete(self.collection, ids=deleted)
                if added:
                    # Segments removed meanwhile or of another model are simply not returned.
                    ids, vectors = source.segment_vectors(added, self.fingerprint)
                    self._write(source, ids, vectors, upsert=True)
            self._synced = int(changes[-1][0])
            source.set_meta(self._watermark_key, str(self._synced))
            self._dirty = True
            read += len(changes)

    def _rebuild_locked(self, source) -> None:
        # Changes logged after this seq may or may not be in what iter_vectors reads; the replay below
        # settles them either way (upserts replace, deletes of absent ids are no-ops).
        start_seq = source.last_change_seq()
        with self._errors("rebuilding the search index"):
            client = self._require()
            if client.has_collection(self.collection):
                client.drop_collection(self.collection)
            self._create_collection()
            for ids, vectors in source.iter_vectors(self.fingerprint, batch=self.params.batch):
                self._write(source, ids, vectors, upsert=False)
        self._synced = start_seq
        source.set_meta(self._watermark_key, str(start_seq))
        self._dirty = True
        self._replay_locked(source)
        log.info("Milvus collection %s rebuilt through change %d", self.collection, self._synced)

    def _create_collection(self) -> None:
        from pymilvus import DataType, MilvusClient

        client = self._require()
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        schema.add_field("folder", DataType.VARCHAR, max_length=MAX_FOLDER_CHARS)
        schema.add_field("mtime", DataType.DOUBLE)
        schema.add_field("duration", DataType.DOUBLE)
        # Strong: a search right after a delete must not see the deleted segment.
        client.create_collection(self.collection, schema=schema, consistency_level="Strong")
        try:
            self._create_index("HNSW", {"M": self.params.M, "efConstruction": self.params.ef_construction})
        except self._failures as exc:
            log.info("Milvus at %s refused an HNSW index (%s); using AUTOINDEX", _display(self.uri), exc)
            self._create_index("AUTOINDEX", {})
        client.load_collection(self.collection)

    def _create_index(self, index_type: str, params: dict) -> None:
        client = self._require()
        index_params = client.prepare_index_params()
        index_params.add_index("vector", index_type=index_type, metric_type="IP", params=params)
        client.create_index(self.collection, index_params)

    def _write(self, source, ids: np.ndarray, vectors: np.ndarray, upsert: bool) -> None:
        """Write vectors with their segments' folder, file date and duration, ``batch`` rows a call."""
        if not len(ids):
            return
        data = normalised(as_matrix(vectors, self.dim, "vectors"))
        facts = {row.id: row for row in source.segments(np.asarray(ids).tolist())}
        rows = [{"id": int(i), "vector": v, "folder": facts[int(i)].folder,
                 "mtime": float(facts[int(i)].file_date), "duration": float(facts[int(i)].duration or 0.0)}
                for i, v in zip(ids, data) if int(i) in facts]   # a missing one was deleted: its 'del' follows
        write = self._require().upsert if upsert else self._require().insert
        for start in range(0, len(rows), self.params.batch):
            write(self.collection, rows[start:start + self.params.batch])

    # -- helpers ---------------------------------------------------------------------------
    def _count(self) -> int:
        result = self._require().query(self.collection, filter="", output_fields=["count(*)"])
        return int(result[0]["count(*)"])

    def _flush(self) -> None:
        # Milvus keeps written rows in its log before a flush, so a failed flush loses nothing.
        try:
            self._require().flush(self.collection)
            self._dirty = False
        except self._failures as exc:
            log.warning("flushing Milvus collection %s failed (%s); Milvus flushes on its own", self.collection,
                        exc)

    def _read_watermark(self, source) -> int:
        return int(source.get_meta(self._watermark_key, "0") or 0)

    def _require(self):
        if self._client is None:
            raise RuntimeError(f"the Milvus store {self.collection} at {_display(self.uri)} is closed")
        return self._client

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Milvus and gRPC failures become sentences a person can act on."""
        try:
            yield
        except self._failures as exc:
            detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            raise VectorStoreError(f"the Milvus server at {_display(self.uri)} failed while {doing} "
                                   f"(collection {self.collection}: {detail}); check that it is running and "
                                   "reachable, then try again") from exc

    def _notice_rebuild(self, why: str) -> None:
        message = f"The shared search index (Milvus collection {self.collection}) was rebuilt from the catalog " \
                  f"because {why}."
        log.warning(message)
        self.notices.append(message)


def _settled_segment_count(source, fingerprint: str, synced: int) -> int | None:
    """The catalog's segment count of one model as of change ``synced``, or None if it moved meanwhile
    (other processes keep writing the catalog; their changes are not in the collection yet)."""
    if source.last_change_seq() != synced:
        return None
    count = source.live_segment_count(fingerprint)
    return count if source.last_change_seq() == synced else None
