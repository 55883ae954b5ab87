"""The catalog: every folder, file, segment and embedding of a library.

It lives in the library folder's catalog.sqlite, or in a PostgreSQL database that several
indexers and desktops share (``Catalog.open(library_dir, url=...)``). It is the truth; the
vector index is rebuilt from it. Safe to share between threads of one process: each call
uses a short-lived session, and ``with catalog.tx():`` groups calls of one thread into one
transaction (nested ``tx()`` joins the outer one).
Every segment insert or delete (and every move or re-dating of a file with segments) is
logged in ``changes`` by a trigger, which is what the vector index replays.
Several indexers share the pending files through claims (``claim_pending``).
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
from sqlalchemy import Engine, and_, delete, func, insert, literal, or_, select, text, update
from sqlalchemy.exc import DatabaseError, IntegrityError
from sqlalchemy.orm import Session

from engine.catalog import copies, postgres, sqlite
from engine.catalog.blobs import pack_embedding, unpack_tokens, unpack_vectors
from engine.catalog.database import CATALOG_FILE, Database, open_database  # noqa: F401 - CATALOG_FILE was defined here
from engine.catalog.locks import FileLocks, advisory_lock
from engine.catalog.migrations import migrate
from engine.catalog.models import Change as ChangeEntry
from engine.catalog.models import Embedding, File, Folder, Meta, Segment
from engine.catalog.records import (
    FILE_STATUSES, FOLDER_STATES, BulkFile, CatalogStats, Change, FileRow, FolderRow, MediaFacts,
    SegmentEmbeddings, SegmentLike, SegmentRow,
)
from engine.errors import CatalogError, DamagedCatalogError, LibraryError

IN_CHUNK = 500                 # ids per "IN (...)" query, well under SQLite's variable limit
MAX_ERROR_CHARS = 4000
TRIMMED_KEY = "changes_trimmed_through"
_UNCLAIMED = {"claimed_by": None, "claimed_at": None}

_FOLDERS = Folder.__table__
_FILES = File.__table__
_SEGMENTS = Segment.__table__
_EMBEDDINGS = Embedding.__table__
_META = Meta.__table__
_CHANGES = ChangeEntry.__table__

_SEGMENT_ROW_COLUMNS = (
    Segment.id, Segment.file_id, Segment.start_seconds.label("start"), Segment.end_seconds.label("end"),
    Segment.thumbnail, Segment.fingerprint, Segment.frame_count, File.path.label("path"),
    Folder.path.label("folder"), func.coalesce(File.recorded_at, File.mtime).label("file_date"),
    File.duration.label("duration"), File.content_hash, File.size,
)


class Catalog:
    """The catalog of one library. Open with ``Catalog.open(library_dir)`` (or ``url=`` for PostgreSQL)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._read_engine: Engine = db.read_engine
        self._write_engine: Engine = db.write_engine
        self._local = threading.local()   # .session: the thread's open write transaction
        self._closed = False
        self._file_locks = FileLocks(db.path) if db.path is not None else None
        self.backups: list[Path] = []     # copies taken by migrations during open (SQLite only)

    @property
    def dialect(self) -> str:
        """"sqlite" or "postgresql"."""
        return self._db.dialect

    @property
    def location(self) -> str:
        """Where the catalog lives, for messages: the file path, or the URL with its password as ***."""
        return self._db.location

    @property
    def path(self) -> Path | None:
        """The catalog.sqlite file; None for a catalog on PostgreSQL (see ``location``)."""
        return self._db.path

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def open(cls, library_dir: Path, check_integrity: bool = False, url: str | None = None) -> "Catalog":
        """Open (creating or migrating) ``library_dir/catalog.sqlite``, or with ``url``
        (postgresql://user:password@host:port/database) the shared catalog in that database.

        Raises CatalogError for a damaged file, one written by a newer ClipSeek, a PostgreSQL
        server that cannot be reached or refuses the login, a missing driver, or (with
        ``check_integrity``) a catalog that fails ``integrity_check``.
        """
        library_dir = Path(library_dir)
        library_dir.mkdir(parents=True, exist_ok=True)
        db = open_database(library_dir, url)
        catalog = cls(db)
        try:
            with db.translate_errors():
                catalog.backups = migrate(db)
            if check_integrity:
                problem = catalog.integrity_check()
                if problem != "ok":
                    raise _damaged(db, problem)
        except BaseException:
            db.dispose()
            raise
        return catalog

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._db.is_postgres:
            sqlite.checkpoint(self._read_engine)
        self._db.dispose()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def damage_seen(self) -> DamagedCatalogError | None:
        """The first error that found catalog.sqlite damaged since it was opened, if any."""
        return self._db.damage_seen[0] if self._db.damage_seen else None

    def backup(self, target: Path) -> Path:
        """A consistent copy of an SQLite catalog at ``target`` (SQLite backup API)."""
        if self._db.path is None:
            raise CatalogError(f"the catalog {self.location} is on PostgreSQL: back it up with pg_dump "
                               "(a job for the database administrator)")
        return copies.backup_database(self._db.path, Path(target))

    # -- transactions ----------------------------------------------------------------------
    @contextmanager
    def tx(self) -> Iterator[Session]:
        """One write transaction for this thread; nested use joins the outer one.

        Writers take turns: SQLite's BEGIN IMMEDIATE, or an advisory lock on PostgreSQL.
        """
        with self._transaction(self._write_engine) as session:
            yield session

    @contextmanager
    def _transaction(self, engine: Engine) -> Iterator[Session]:
        outer = getattr(self._local, "session", None)
        if outer is not None:
            yield outer
            return
        self._check_open()
        session = Session(engine, expire_on_commit=False)
        self._local.session = session
        try:
            with self._db.translate_errors():
                yield session
                session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            self._local.session = None
            session.close()

    @contextmanager
    def _read(self) -> Iterator[Session]:
        outer = getattr(self._local, "session", None)
        if outer is not None:
            yield outer
            return
        self._check_open()
        with self._db.translate_errors(), Session(self._read_engine) as session:
            yield session

    def _check_open(self) -> None:
        if self._closed:
            raise CatalogError(f"{self.location}: the catalog was closed; open the library again")

    @contextmanager
    def named_lock(self, name: str, timeout: float | None = None) -> Iterator[None]:
        """Mutual exclusion between every process and machine using this catalog, e.g. for the one
        that applies the change log to a shared vector store.

        Waits for the lock (at most ``timeout`` seconds, then CatalogError). PostgreSQL: a
        session advisory lock on hashtext(name); SQLite: a file lock next to catalog.sqlite.
        Either is dropped if the holder dies. Not re-entrant: do not nest the same name.
        """
        self._check_open()
        if self._file_locks is not None:
            lock = self._file_locks.hold(name, timeout, self.location)
        else:
            lock = advisory_lock(self._db.claim_engine, name, timeout, self.location, self._db.translate_errors)
        with lock:
            yield

    # -- folders ---------------------------------------------------------------------------
    def add_folder(self, path: str | Path) -> FolderRow:
        """Add a folder (idempotent: an existing folder is returned as it is)."""
        key = _path_key(path)
        with self.tx() as s:
            row = s.execute(select(_FOLDERS).where(_FOLDERS.c.path == key)).first()
            if row is None:
                s.execute(insert(_FOLDERS).values(path=key, added_at=time.time(), state="ok"))
                row = s.execute(select(_FOLDERS).where(_FOLDERS.c.path == key)).one()
        return FolderRow(**row._mapping)

    def add_folder_over(self, path: str | Path, inner: Sequence[str | Path]) -> FolderRow:
        """Add the folder ``path`` in place of the library folders ``inner`` inside it, in one transaction.

        Their files move to the new folder with their rows, segments and embeddings (a trigger logs their
        segments, so a vector store that keeps each segment's folder refreshes it); the inner folders go.
        """
        key = _path_key(path)
        inner_keys = [_path_key(p) for p in inner]
        with self.tx() as s:
            inner_ids = list(s.execute(select(_FOLDERS.c.id).where(_FOLDERS.c.path.in_(inner_keys))).scalars())
            if len(inner_ids) != len(set(inner_keys)):
                raise LibraryError(f"not every one of {', '.join(inner_keys)} is a folder of this library")
            s.execute(insert(_FOLDERS).values(path=key, added_at=time.time(), state="ok"))
            row = s.execute(select(_FOLDERS).where(_FOLDERS.c.path == key)).one()
            s.execute(update(_FILES).where(_FILES.c.folder_id.in_(inner_ids)).values(folder_id=row.id))
            s.execute(delete(_FOLDERS).where(_FOLDERS.c.id.in_(inner_ids)))
        return FolderRow(**row._mapping)

    def relocate_folder(self, path: str | Path, new_path: str | Path) -> FolderRow:
        """The folder ``path`` is now at ``new_path`` (moved, renamed, or its drive mounted elsewhere): the folder
        and each of its files take the new path, keeping their rows, segments and embeddings."""
        key, new_key = _path_key(path), _path_key(new_path)
        with self.tx() as s:
            folder_id = s.execute(select(_FOLDERS.c.id).where(_FOLDERS.c.path == key)).scalar()
            if folder_id is None:
                raise LibraryError(f"{key} is not a folder of this library; check the path")
            s.execute(update(_FOLDERS).where(_FOLDERS.c.id == folder_id).values(path=new_key))
            # Its files' paths all begin with the folder's and a separator (one only, for a drive's root folder):
            # what follows goes after the new path's.
            old_prefix, new_prefix = os.path.join(key, ""), os.path.join(new_key, "")
            s.execute(update(_FILES).where(_FILES.c.folder_id == folder_id)
                      .values(path=literal(new_prefix) + func.substr(_FILES.c.path, len(old_prefix) + 1)))
            # A vector store that keeps each segment's folder beside its vector refreshes it on an 'add'.
            in_folder = select(_FILES.c.id).where(_FILES.c.folder_id == folder_id).scalar_subquery()
            s.execute(insert(_CHANGES).from_select(
                ["segment_id", "op"], select(_SEGMENTS.c.id, literal("add"))
                .where(_SEGMENTS.c.file_id.in_(in_folder)).order_by(_SEGMENTS.c.id)))
            row = s.execute(select(_FOLDERS).where(_FOLDERS.c.id == folder_id)).one()
        return FolderRow(**row._mapping)

    def remove_folder(self, path: str | Path) -> list[int]:
        """Forget a folder, its files and segments; returns the removed segment ids."""
        key = _path_key(path)
        with self.tx() as s:
            folder_id = s.execute(select(_FOLDERS.c.id).where(_FOLDERS.c.path == key)).scalar()
            if folder_id is None:
                known = [r.path for r in self.folder_rows()]
                raise LibraryError(f"{key} is not a folder of this library (folders: "
                                   f"{', '.join(known) or 'none'}); check the path")
            file_ids = select(_FILES.c.id).where(_FILES.c.folder_id == folder_id).scalar_subquery()
            removed = list(s.execute(select(_SEGMENTS.c.id).where(_SEGMENTS.c.file_id.in_(file_ids))).scalars())
            s.execute(delete(_SEGMENTS).where(_SEGMENTS.c.file_id.in_(file_ids)))
            s.execute(delete(_FILES).where(_FILES.c.folder_id == folder_id))
            s.execute(delete(_FOLDERS).where(_FOLDERS.c.id == folder_id))
        return removed

    def folder_rows(self) -> list[FolderRow]:
        """Folders without file counts (cheap)."""
        with self._read() as s:
            rows = s.execute(select(_FOLDERS).order_by(_FOLDERS.c.path)).all()
        return [FolderRow(**r._mapping) for r in rows]

    def folders(self) -> list[FolderRow]:
        """Folders with their file counts by status."""
        with self._read() as s:
            rows = s.execute(select(_FOLDERS).order_by(_FOLDERS.c.path)).all()
            counts = s.execute(select(_FILES.c.folder_id, _FILES.c.status, func.count())
                               .group_by(_FILES.c.folder_id, _FILES.c.status)).all()
        by_folder: dict[int, dict[str, int]] = {}
        for folder_id, status, n in counts:
            by_folder.setdefault(folder_id, {})[status] = n
        return [FolderRow(**r._mapping, **{st: by_folder.get(r.id, {}).get(st, 0) for st in FILE_STATUSES})
                for r in rows]

    def folder_by_path(self, path: str | Path) -> FolderRow | None:
        with self._read() as s:
            row = s.execute(select(_FOLDERS).where(_FOLDERS.c.path == _path_key(path))).first()
        return FolderRow(**row._mapping) if row else None

    def set_folder_state(self, folder_id: int, state: str) -> None:
        if state not in FOLDER_STATES:
            raise ValueError(f"folder state must be one of {FOLDER_STATES}, not {state!r}")
        with self.tx() as s:
            s.execute(update(_FOLDERS).where(_FOLDERS.c.id == folder_id).values(state=state))

    # -- files -----------------------------------------------------------------------------
    def file_by_path(self, path: str | Path) -> FileRow | None:
        with self._read() as s:
            row = s.execute(select(_FILES).where(_FILES.c.path == _path_key(path))).first()
        return FileRow(**row._mapping) if row else None

    def file_by_id(self, file_id: int) -> FileRow | None:
        with self._read() as s:
            row = s.execute(select(_FILES).where(_FILES.c.id == file_id)).first()
        return FileRow(**row._mapping) if row else None

    def files(self, folder: int | str | Path | None = None, status: str | None = None) -> list[FileRow]:
        """Files ordered by path; ``folder`` is a folder id or path, ``status`` one of FILE_STATUSES."""
        query = select(_FILES).order_by(_FILES.c.path)
        if folder is not None:
            if isinstance(folder, int):
                query = query.where(_FILES.c.folder_id == folder)
            else:
                query = query.join(_FOLDERS, _FOLDERS.c.id == _FILES.c.folder_id).where(
                    _FOLDERS.c.path == _path_key(folder))
        if status is not None:
            query = query.where(_FILES.c.status == _status(status))
        with self._read() as s:
            rows = s.execute(query).all()
        return [FileRow(**r._mapping) for r in rows]

    def files_by_hash(self, content_hash: str) -> list[FileRow]:
        with self._read() as s:
            rows = s.execute(select(_FILES).where(_FILES.c.content_hash == content_hash)
                             .order_by(_FILES.c.path)).all()
        return [FileRow(**r._mapping) for r in rows]

    def upsert_pending(self, folder_id: int, path: str | Path, size: int, mtime: float,
                       content_hash: str | None) -> FileRow:
        """New or changed file: status pending. Existing segments stay searchable until re-indexed."""
        key = _path_key(path)
        with self.tx() as s:
            row = s.execute(select(_FILES).where(_FILES.c.path == key)).first()
            values = dict(folder_id=folder_id, size=int(size), mtime=float(mtime), content_hash=content_hash,
                          status="pending", error=None, **_UNCLAIMED)
            if row is None:
                s.execute(insert(_FILES).values(path=key, attempts=0, **values))
            else:
                if (row.size, row.mtime, row.content_hash) != (values["size"], values["mtime"], content_hash):
                    values["attempts"] = 0
                s.execute(update(_FILES).where(_FILES.c.id == row.id).values(**values))
            return FileRow(**s.execute(select(_FILES).where(_FILES.c.path == key)).one()._mapping)

    def record_skipped(self, folder_id: int, path: str | Path, reason: str) -> FileRow:
        """A file the scan will not offer to a decoder, written as skipped in one step: it is never pending,
        so no indexer sharing the catalog can claim it in between."""
        key = _path_key(path)
        with self.tx() as s:
            row = s.execute(select(_FILES).where(_FILES.c.path == key)).first()
            values = dict(folder_id=folder_id, status="skipped", error=str(reason)[:MAX_ERROR_CHARS], **_UNCLAIMED)
            if row is None:
                s.execute(insert(_FILES).values(path=key, size=0, mtime=0.0, content_hash=None, attempts=0,
                                                **values))
            else:
                s.execute(update(_FILES).where(_FILES.c.id == row.id).values(**values))
            return FileRow(**s.execute(select(_FILES).where(_FILES.c.path == key)).one()._mapping)

    def touch_file(self, file_id: int, mtime: float) -> None:
        """Same bytes, new timestamp: keep everything, remember the new mtime."""
        self._update_file(file_id, mtime=float(mtime))

    def mark_failed(self, file_id: int, error: str) -> None:
        self._update_file(file_id, status="failed", error=str(error)[:MAX_ERROR_CHARS],
                          attempts=_FILES.c.attempts + 1, **_UNCLAIMED)

    def mark_skipped(self, file_id: int, reason: str) -> None:
        self._update_file(file_id, status="skipped", error=str(reason)[:MAX_ERROR_CHARS], **_UNCLAIMED)

    def reset_to_pending(self, file_ids: Iterable[int]) -> int:
        """Retry: the files go back to pending with their attempt count cleared; returns how many."""
        ids = [int(i) for i in file_ids]
        changed = 0
        with self.tx() as s:
            for chunk in _chunks(ids):
                changed += s.execute(update(_FILES).where(_FILES.c.id.in_(chunk))
                                     .values(status="pending", error=None, attempts=0, **_UNCLAIMED)).rowcount
        return changed

    # -- claims: several indexers sharing the pending files ----------------------------------
    def claim_pending(self, owner: str, limit: int, lease_seconds: float) -> list[FileRow]:
        """Claim up to ``limit`` pending files for ``owner``, lowest ids first, and return them.

        A pending file is free when unclaimed or when its claim is older than ``lease_seconds``
        (its indexer died or stopped renewing), so a dead indexer's files come back. Two callers
        never get the same file. On PostgreSQL, rows another claimer holds are skipped and the
        writers' lock is not taken, so claims never queue behind a long write; on SQLite the
        write transaction serialises claims.
        """
        if limit <= 0:
            return []
        now = time.time()
        c = _FILES.c
        free = or_(c.claimed_by.is_(None), c.claimed_at.is_(None), c.claimed_at < now - float(lease_seconds))
        query = select(c.id).where(c.status == "pending", free).order_by(c.id).limit(int(limit))
        if self._db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        with self._transaction(self._db.claim_engine) as s:
            ids = list(s.execute(query).scalars())
            rows = []
            for chunk in _chunks(ids):
                s.execute(update(_FILES).where(c.id.in_(chunk)).values(claimed_by=owner, claimed_at=now))
                rows += s.execute(select(_FILES).where(c.id.in_(chunk)).order_by(c.id)).all()
        return [FileRow(**r._mapping) for r in rows]

    def renew_claims(self, owner: str, file_ids: Iterable[int]) -> int:
        """Keep ``owner``'s claims on ``file_ids`` alive (claimed_at = now); returns how many it still held."""
        ids = [int(i) for i in file_ids]
        now = time.time()
        renewed = 0
        with self._transaction(self._db.claim_engine) as s:
            for chunk in _chunks(ids):
                renewed += s.execute(update(_FILES).where(_FILES.c.id.in_(chunk), _FILES.c.claimed_by == owner)
                                     .values(claimed_at=now)).rowcount
        return renewed

    def release_claims(self, owner: str, file_ids: Iterable[int] | None = None) -> int:
        """Give back ``owner``'s claims on ``file_ids`` (all of its claims when None); returns how many."""
        owned = _FILES.c.claimed_by == owner
        with self._transaction(self._db.claim_engine) as s:
            if file_ids is None:
                return s.execute(update(_FILES).where(owned).values(**_UNCLAIMED)).rowcount
            released = 0
            for chunk in _chunks([int(i) for i in file_ids]):
                released += s.execute(update(_FILES).where(_FILES.c.id.in_(chunk), owned)
                                      .values(**_UNCLAIMED)).rowcount
            return released

    def pending_count(self) -> int:
        """Files waiting to be indexed, claimed or not."""
        with self._read() as s:
            return int(s.execute(select(func.count()).select_from(_FILES)
                                 .where(_FILES.c.status == "pending")).scalar() or 0)

    def move_file(self, file_id: int, new_path: str | Path, new_folder_id: int, mtime: float) -> list[int]:
        """A moved or renamed file keeps its row, segments and embeddings.

        A stale row already at ``new_path`` is removed first; returns its segment ids.
        """
        key = _path_key(new_path)
        with self.tx() as s:
            self._require_file(s, file_id)
            stale = s.execute(select(_FILES.c.id).where(_FILES.c.path == key, _FILES.c.id != file_id)).scalar()
            removed = self._delete_files(s, [stale]) if stale is not None else []
            s.execute(update(_FILES).where(_FILES.c.id == file_id)
                      .values(path=key, folder_id=new_folder_id, mtime=float(mtime)))
        return removed

    def pending_twins(self, fingerprint: str) -> list[int]:
        """Pending files (lowest ids first) whose content an indexed file of ``fingerprint`` already holds:
        the same content hash and size (see ``copy_from_twin``)."""
        pending, twin = _FILES.alias("pending"), _FILES.alias("twin")
        same = and_(twin.c.content_hash == pending.c.content_hash, twin.c.size == pending.c.size,
                    twin.c.id != pending.c.id)
        query = (select(pending.c.id).distinct().select_from(pending.join(twin, same))
                 .where(pending.c.status == "pending", pending.c.content_hash.is_not(None),
                        twin.c.status == "indexed", twin.c.model_fingerprint == fingerprint)
                 .order_by(pending.c.id))
        with self._read() as s:
            return list(s.execute(query).scalars())

    def copy_from_twin(self, file_id: int, fingerprint: str, owner: str | None = None) -> list[int] | None:
        """Index a pending file by copying the moments of an indexed file with the same content.

        A copy of a video in the library (on a backup drive, or in a folder renamed while the library could
        not see the old name go) has the content hash and size of the indexed one, and decoding it would give
        the same moments; they are copied with their embeddings and thumbnails, and the file's facts, in one
        transaction. Only from a file indexed with ``fingerprint``, and only while the file is pending and
        not claimed by an indexer other than ``owner``. Returns the new segment ids, or None when nothing
        was copied.
        """
        c = _FILES.c
        with self.tx() as s:
            target = s.execute(select(_FILES).where(c.id == file_id)).first()
            if (target is None or target.status != "pending" or not target.content_hash
                    or target.claimed_by not in (None, owner)):
                return None
            twin = s.execute(select(_FILES).where(
                c.content_hash == target.content_hash, c.size == target.size, c.id != file_id,
                c.status == "indexed", c.model_fingerprint == fingerprint).order_by(c.id).limit(1)).first()
            if twin is None:
                return None
            moments = s.execute(
                select(_SEGMENTS, _EMBEDDINGS).join(_EMBEDDINGS, _EMBEDDINGS.c.segment_id == _SEGMENTS.c.id)
                .where(_SEGMENTS.c.file_id == twin.id, _SEGMENTS.c.fingerprint == fingerprint)
                .order_by(_SEGMENTS.c.id)).all()
            if not moments:
                return None
            s.execute(delete(_SEGMENTS).where(_SEGMENTS.c.file_id == file_id))
            ids = self._next_ids(s, "segments", len(moments))
            s.execute(insert(_SEGMENTS), [
                dict(id=seg_id, file_id=file_id, start_seconds=m.start_seconds, end_seconds=m.end_seconds,
                     thumbnail=m.thumbnail, fingerprint=fingerprint, frame_count=m.frame_count)
                for seg_id, m in zip(ids, moments)])
            s.execute(insert(_EMBEDDINGS), [
                dict(segment_id=seg_id, vector=m.vector, clip_tokens=m.clip_tokens, frame_tokens=m.frame_tokens,
                     frame_mask=m.frame_mask)
                for seg_id, m in zip(ids, moments)])
            s.execute(update(_FILES).where(c.id == file_id).values(
                duration=twin.duration, fps=twin.fps, width=twin.width, height=twin.height,
                rotation=twin.rotation, recorded_at=twin.recorded_at, status="indexed", error=None,
                indexed_at=time.time(), model_fingerprint=fingerprint, **_UNCLAIMED))
        return ids

    def delete_file(self, file_id: int) -> list[int]:
        """Remove a file and its segments; returns the removed segment ids."""
        with self.tx() as s:
            return self._delete_files(s, [file_id])

    def record_indexed(self, file_id: int, media: MediaFacts, segments: Sequence[SegmentLike],
                       fingerprint: str) -> list[int]:
        """In one transaction: replace the file's segments with ``segments``, mark it indexed.

        Returns the new segment ids in the order of ``segments``.
        """
        packed = [pack_embedding(seg) for seg in segments]   # shape errors before anything is written
        with self.tx() as s:
            self._require_file(s, file_id)
            s.execute(delete(_SEGMENTS).where(_SEGMENTS.c.file_id == file_id))
            ids = self._insert_segments(s, [(file_id, seg) for seg in segments], fingerprint)
            self._insert_embeddings(s, ids, packed)
            s.execute(update(_FILES).where(_FILES.c.id == file_id).values(
                duration=_opt_float(media.duration), fps=_opt_float(media.fps), width=_opt_int(media.width),
                height=_opt_int(media.height), rotation=_opt_int(getattr(media, "rotation", 0)),
                recorded_at=_opt_float(getattr(media, "recorded_at", None)),
                status="indexed", error=None, indexed_at=time.time(), model_fingerprint=fingerprint,
                **_UNCLAIMED))
        return ids

    def bulk_add_indexed(self, folder_id: int, files: Sequence[BulkFile], fingerprint: str) -> list[int]:
        """Insert many already-indexed files with their segments in one transaction (benchmarks,
        imports). Returns the new segment ids. Paths must not be in the catalog yet."""
        packed = [[pack_embedding(seg) for seg in f.segments] for f in files]
        now = time.time()
        with self.tx() as s:
            file_ids = self._next_ids(s, "files", len(files))
            try:
                if files:
                    s.execute(insert(_FILES), [
                        dict(id=file_id, folder_id=folder_id, path=_path_key(f.path), size=int(f.size),
                             mtime=float(f.mtime), content_hash=f.content_hash, duration=_opt_float(f.media.duration),
                             fps=_opt_float(f.media.fps), width=_opt_int(f.media.width),
                             height=_opt_int(f.media.height), rotation=_opt_int(getattr(f.media, "rotation", 0)),
                             recorded_at=_opt_float(getattr(f.media, "recorded_at", None)),
                             status="indexed", error=None, indexed_at=now, model_fingerprint=fingerprint, attempts=0)
                        for file_id, f in zip(file_ids, files)])
            except IntegrityError as exc:
                raise CatalogError(f"bulk insert refused: a path is already in the catalog or folder "
                                   f"{folder_id} does not exist ({exc.orig})") from exc
            ids = self._insert_segments(
                s, [(file_id, seg) for file_id, f in zip(file_ids, files) for seg in f.segments], fingerprint)
            self._insert_embeddings(s, ids, [p for file_packed in packed for p in file_packed])
        return ids

    # -- segments and embeddings -----------------------------------------------------------
    def segments(self, ids: Sequence[int]) -> list[SegmentRow]:
        """Segments joined with file path, folder, date and duration, in the order of ``ids``;
        ids no longer in the catalog are left out."""
        wanted = [int(i) for i in ids]
        found: dict[int, SegmentRow] = {}
        query = (select(*_SEGMENT_ROW_COLUMNS).join(File, File.id == Segment.file_id)
                 .join(Folder, Folder.id == File.folder_id))
        with self._read() as s:
            for chunk in _chunks(sorted(set(wanted))):
                for r in s.execute(query.where(Segment.id.in_(chunk))):
                    found[r.id] = SegmentRow(**r._mapping)
        return [found[i] for i in wanted if i in found]

    def segments_of_file(self, file_id: int) -> list[SegmentRow]:
        query = (select(*_SEGMENT_ROW_COLUMNS).join(File, File.id == Segment.file_id)
                 .join(Folder, Folder.id == File.folder_id).where(Segment.file_id == file_id)
                 .order_by(Segment.start_seconds))
        with self._read() as s:
            return [SegmentRow(**r._mapping) for r in s.execute(query)]

    def segment_ids(self, folder: str | Path | None = None, fingerprint: str | None = None,
                    min_date: float | None = None, max_date: float | None = None,
                    min_duration: float | None = None, max_duration: float | None = None,
                    under: Sequence[str | Path] = (), limit: int | None = None) -> np.ndarray:
        """Ids of segments matching search filters (folder, file date: when it was recorded if it says, else its
        mtime; file duration, files at or below any of the paths ``under``), as int64; at most ``limit`` of them."""
        query = select(_SEGMENTS.c.id).join(_FILES, _FILES.c.id == _SEGMENTS.c.file_id)
        if folder is not None:
            query = query.join(_FOLDERS, _FOLDERS.c.id == _FILES.c.folder_id).where(
                _FOLDERS.c.path == _path_key(folder))
        if under:
            # substr rather than LIKE: exact and case-sensitive in SQLite too, with no wildcards to escape. The
            # files are found first (a subquery), so the segments are read through their file_id index: joined,
            # SQLite read every segment (157 ms on 1M moments, against 2 ms).
            prefixes = [os.path.join(_path_key(p), "") for p in under]
            files = select(_FILES.c.id).where(or_(*[_FILES.c.path == _path_key(p) for p in under],
                                                  *[func.substr(_FILES.c.path, 1, len(prefix)) == prefix
                                                    for prefix in prefixes]))
            query = query.where(_SEGMENTS.c.file_id.in_(files))
        if fingerprint is not None:
            query = query.where(_SEGMENTS.c.fingerprint == fingerprint)
        for column, low, high in ((func.coalesce(_FILES.c.recorded_at, _FILES.c.mtime), min_date, max_date),
                                  (_FILES.c.duration, min_duration, max_duration)):
            if low is not None:
                query = query.where(column >= low)
            if high is not None:
                query = query.where(column <= high)
        if limit is not None:
            query = query.limit(int(limit))
        with self._read() as s:
            return np.fromiter(s.execute(query).scalars(), dtype=np.int64)

    def segment_embeddings(self, ids: Sequence[int]) -> SegmentEmbeddings:
        """Stored vectors and tokens of ``ids`` as float32, in the order of ``ids`` (missing ids left out)."""
        wanted = [int(i) for i in ids]
        blobs: dict[int, tuple[bytes, bytes, bytes, bytes]] = {}
        e = _EMBEDDINGS.c
        with self._read() as s:
            for chunk in _chunks(sorted(set(wanted))):
                for r in s.execute(select(e.segment_id, e.vector, e.clip_tokens, e.frame_tokens, e.frame_mask)
                                   .where(e.segment_id.in_(chunk))):
                    blobs[r[0]] = (r[1], r[2], r[3], r[4])
        present = [i for i in wanted if i in blobs]
        vectors, clip_tokens, frame_tokens, frame_mask = unpack_tokens([blobs[i] for i in present])
        return SegmentEmbeddings(np.asarray(present, np.int64), vectors, clip_tokens, frame_tokens, frame_mask)

    def segment_vectors(self, ids: Sequence[int], fingerprint: str | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64 [N], vectors float32 [N,D]) of those ``ids`` still present (of ``fingerprint``)."""
        found_ids: list[int] = []
        blobs: list[bytes] = []
        with self._read() as s:
            for chunk in _chunks(sorted({int(i) for i in ids})):
                query = (select(_SEGMENTS.c.id, _EMBEDDINGS.c.vector)
                         .join(_EMBEDDINGS, _EMBEDDINGS.c.segment_id == _SEGMENTS.c.id)
                         .where(_SEGMENTS.c.id.in_(chunk)))
                if fingerprint is not None:
                    query = query.where(_SEGMENTS.c.fingerprint == fingerprint)
                for segment_id, blob in s.execute(query):
                    found_ids.append(segment_id)
                    blobs.append(blob)
        return np.asarray(found_ids, np.int64), unpack_vectors(blobs)

    def iter_vectors(self, fingerprint: str | None, batch: int = 10000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """All (ids int64, vectors float32) of one model, in id order, ``batch`` rows at a time.

        Each batch is its own short read, so a long rebuild never holds the database.
        """
        after = 0
        while True:
            query = (select(_SEGMENTS.c.id, _EMBEDDINGS.c.vector)
                     .join(_EMBEDDINGS, _EMBEDDINGS.c.segment_id == _SEGMENTS.c.id)
                     .where(_SEGMENTS.c.id > after).order_by(_SEGMENTS.c.id).limit(batch))
            if fingerprint is not None:
                query = query.where(_SEGMENTS.c.fingerprint == fingerprint)
            with self._read() as s:
                rows = s.execute(query).all()
            if not rows:
                return
            yield np.fromiter((r[0] for r in rows), np.int64, len(rows)), unpack_vectors([r[1] for r in rows])
            after = rows[-1][0]

    def live_segment_count(self, fingerprint: str | None = None) -> int:
        query = select(func.count()).select_from(_SEGMENTS)
        if fingerprint is not None:
            query = query.where(_SEGMENTS.c.fingerprint == fingerprint)
        with self._read() as s:
            return int(s.execute(query).scalar() or 0)

    # -- change log ------------------------------------------------------------------------
    def changes_since(self, seq: int, limit: int | None = None) -> list[Change]:
        query = text("SELECT seq, segment_id, op FROM changes WHERE seq > :seq ORDER BY seq"
                     + (" LIMIT :limit" if limit else ""))
        with self._read() as s:
            rows = s.execute(query, {"seq": int(seq), "limit": limit}).all()
        return [Change(*r) for r in rows]

    def last_change_seq(self) -> int:
        """The highest change seq committed (0 when none); survives trim_changes."""
        with self._read() as s:
            if self._db.is_postgres:
                return postgres.last_change_seq(s.connection(), TRIMMED_KEY)
            return sqlite.last_change_seq(s.connection())

    def trim_changes(self, through_seq: int) -> int:
        """Drop log entries up to ``through_seq`` (once every index has saved past them)."""
        with self.tx() as s:
            removed = s.execute(text("DELETE FROM changes WHERE seq <= :seq"), {"seq": int(through_seq)}).rowcount
            if through_seq > self.changes_trimmed_through():
                self.set_meta(TRIMMED_KEY, str(int(through_seq)))
        return removed

    def changes_trimmed_through(self) -> int:
        """An index whose watermark is below this cannot replay and must be rebuilt."""
        return int(self.get_meta(TRIMMED_KEY, "0") or 0)

    # -- models ----------------------------------------------------------------------------
    def fingerprints_in_use(self) -> dict[str, int]:
        """Model fingerprint -> number of segments embedded with it."""
        with self._read() as s:
            rows = s.execute(select(_SEGMENTS.c.fingerprint, func.count()).group_by(_SEGMENTS.c.fingerprint))
            return {fp: n for fp, n in rows}

    def purge_fingerprint(self, fingerprint: str) -> list[int]:
        """Remove every segment of one model; its files go back to pending. Returns removed ids."""
        with self.tx() as s:
            removed = list(s.execute(select(_SEGMENTS.c.id).where(_SEGMENTS.c.fingerprint == fingerprint))
                           .scalars())
            s.execute(delete(_SEGMENTS).where(_SEGMENTS.c.fingerprint == fingerprint))
            s.execute(update(_FILES).where(_FILES.c.model_fingerprint == fingerprint).values(
                status="pending", error=None, indexed_at=None, model_fingerprint=None, attempts=0, **_UNCLAIMED))
        return removed

    # -- meta, stats, health ---------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self._read() as s:
            value = s.execute(select(_META.c.value).where(_META.c.key == key)).scalar()
        return default if value is None else value

    def set_meta(self, key: str, value: str) -> None:
        with self.tx() as s:
            s.execute(text("INSERT INTO meta (key, value) VALUES (:k, :v) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value"), {"k": key, "v": str(value)})

    def stats(self) -> CatalogStats:
        with self._read() as s:
            counts = dict(s.execute(select(_FILES.c.status, func.count()).group_by(_FILES.c.status)).all())
            segments = s.execute(select(func.count()).select_from(_SEGMENTS)).scalar() or 0
            seconds = s.execute(select(func.coalesce(func.sum(_FILES.c.duration), 0.0))
                                .where(_FILES.c.status == "indexed")).scalar() or 0.0
        return CatalogStats(files={st: int(counts.get(st, 0)) for st in FILE_STATUSES},
                            segments=int(segments), seconds_indexed=float(seconds))

    def integrity_check(self) -> str:
        """"ok", or the problems found (at most 20, joined by "; ").

        SQLite: its integrity and foreign-key checks (pages, indexes, orphans). PostgreSQL,
        which checks its own pages: a cheap consistency check for rows whose parent row is
        missing (files without folder, segments without file, embeddings without segment).
        """
        self._check_open()
        try:
            with Session(self._read_engine) as s:
                conn = s.connection()
                problems = (postgres.integrity_problems(conn) if self._db.is_postgres
                            else sqlite.integrity_problems(conn))
        except DatabaseError as exc:
            unreachable = postgres.translate_error(self.location, exc) if self._db.is_postgres else None
            if unreachable is not None:      # a server we cannot talk to is not a damaged catalog
                raise unreachable from exc
            return str(exc.orig)
        return "ok" if not problems else "; ".join(problems[:20])

    # -- helpers (run inside an open session) ----------------------------------------------
    def _update_file(self, file_id: int, **values) -> None:
        with self.tx() as s:
            self._require_file(s, file_id)
            s.execute(update(_FILES).where(_FILES.c.id == file_id).values(**values))

    def _require_file(self, s: Session, file_id: int) -> None:
        if s.execute(select(_FILES.c.id).where(_FILES.c.id == file_id)).first() is None:
            raise CatalogError(f"file id {file_id} is not in the catalog {self.location} (removed meanwhile?); "
                               "rescan the library")

    def _delete_files(self, s: Session, file_ids: list[int]) -> list[int]:
        removed = list(s.execute(select(_SEGMENTS.c.id).where(_SEGMENTS.c.file_id.in_(file_ids))).scalars())
        s.execute(delete(_SEGMENTS).where(_SEGMENTS.c.file_id.in_(file_ids)))
        s.execute(delete(_FILES).where(_FILES.c.id.in_(file_ids)))
        return removed

    def _next_ids(self, s: Session, table: str, n: int) -> list[int]:
        """``n`` fresh ids for ``table`` (segments: never issued before); we hold the write lock."""
        if self._db.is_postgres:
            return postgres.next_ids(s.connection(), table, n)
        return sqlite.next_ids(s.connection(), table, n)

    def _insert_segments(self, s: Session, rows: list[tuple[int, SegmentLike]], fingerprint: str) -> list[int]:
        """Insert segments under fresh ids, returned in the order of ``rows``."""
        ids = self._next_ids(s, "segments", len(rows))
        if rows:
            s.execute(insert(_SEGMENTS), [
                dict(id=seg_id, file_id=file_id, start_seconds=float(seg.start), end_seconds=float(seg.end),
                     thumbnail=None if seg.thumbnail is None else str(seg.thumbnail), fingerprint=fingerprint,
                     frame_count=int(seg.frame_count))
                for seg_id, (file_id, seg) in zip(ids, rows)])
        return ids

    def _insert_embeddings(self, s: Session, ids: list[int], packed: list[tuple[bytes, bytes, bytes, bytes]]
                           ) -> None:
        if ids:
            s.execute(insert(_EMBEDDINGS), [
                dict(segment_id=i, vector=p[0], clip_tokens=p[1], frame_tokens=p[2], frame_mask=p[3])
                for i, p in zip(ids, packed)])


def _damaged(db: Database, problem: str) -> CatalogError:
    if db.path is not None:
        return sqlite.corrupt_error(db.path, problem)
    return CatalogError(f"the catalog {db.location} is inconsistent ({problem}); restore the database from "
                        "a backup (pg_restore) or ask its administrator")


def _path_key(path: str | Path) -> str:
    return os.fspath(Path(path))


def _status(status: str) -> str:
    value = str(getattr(status, "value", status))
    if value not in FILE_STATUSES:
        raise ValueError(f"file status must be one of {FILE_STATUSES}, not {status!r}")
    return value


def _opt_float(value) -> float | None:
    return None if value is None else float(value)


def _opt_int(value) -> int | None:
    return None if value is None else int(value)


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), IN_CHUNK):
        yield ids[i:i + IN_CHUNK]
