"""The catalog: every folder, file, segment and embedding of a library, in catalog.sqlite.

It is the truth; the ANN index is rebuilt from it. Safe to share between threads of one
process: each call uses a short-lived session, and ``with catalog.tx():`` groups calls of
one thread into one transaction (nested ``tx()`` joins the outer one).
Every segment insert or delete is logged in ``changes`` by a trigger, which is what the
vector index replays.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
from sqlalchemy import Engine, delete, func, insert, select, text, update
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from engine.catalog.blobs import pack_embedding, unpack_tokens, unpack_vectors
from engine.catalog.database import check_database_file, corrupt_error, create_engines
from engine.catalog.migrations import backup_database, migrate
from engine.catalog.models import Embedding, File, Folder, Meta, Segment
from engine.catalog.records import (
    FILE_STATUSES, FOLDER_STATES, BulkFile, CatalogStats, Change, FileRow, FolderRow, MediaFacts,
    SegmentEmbeddings, SegmentLike, SegmentRow,
)
from engine.errors import CatalogError, LibraryError

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.sqlite"
IN_CHUNK = 500                 # ids per "IN (...)" query, well under SQLite's variable limit
MAX_ERROR_CHARS = 4000

_FOLDERS = Folder.__table__
_FILES = File.__table__
_SEGMENTS = Segment.__table__
_EMBEDDINGS = Embedding.__table__
_META = Meta.__table__

_SEGMENT_ROW_COLUMNS = (
    Segment.id, Segment.file_id, Segment.start_seconds.label("start"), Segment.end_seconds.label("end"),
    Segment.thumbnail, Segment.fingerprint, Segment.frame_count, File.path.label("path"),
    Folder.path.label("folder"), File.mtime.label("file_mtime"), File.duration.label("duration"),
)


class Catalog:
    """catalog.sqlite of one library. Open with ``Catalog.open(library_dir)``."""

    def __init__(self, db_path: Path, read_engine: Engine, write_engine: Engine) -> None:
        self.path = db_path
        self._read_engine = read_engine
        self._write_engine = write_engine
        self._local = threading.local()   # .session: the thread's open write transaction
        self._closed = False
        self.backups: list[Path] = []     # copies taken by migrations during open

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def open(cls, library_dir: Path, check_integrity: bool = False) -> "Catalog":
        """Open (creating or migrating) ``library_dir/catalog.sqlite``.

        Raises CatalogError for a damaged file, one written by a newer ClipSeek, or (with
        ``check_integrity``) one that fails SQLite's integrity check.
        """
        library_dir = Path(library_dir)
        library_dir.mkdir(parents=True, exist_ok=True)
        db_path = library_dir / CATALOG_FILE
        check_database_file(db_path)
        read_engine, write_engine = create_engines(db_path)
        catalog = cls(db_path, read_engine, write_engine)
        try:
            with _translate_errors(db_path):
                catalog.backups = migrate(read_engine, write_engine, db_path)
            if check_integrity:
                problem = catalog.integrity_check()
                if problem != "ok":
                    raise corrupt_error(db_path, problem)
        except BaseException:
            read_engine.dispose()
            raise
        return catalog

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Fold the WAL back into catalog.sqlite (outside any transaction, on the driver connection).
        raw = self._read_engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.DatabaseError as exc:   # another process still reading: the WAL stays, no harm
            log.debug("WAL checkpoint on close skipped: %s", exc)
        finally:
            raw.close()
        self._read_engine.dispose()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def backup(self, target: Path) -> Path:
        """A consistent copy of the catalog at ``target`` (SQLite backup API)."""
        return backup_database(self.path, Path(target))

    # -- transactions ----------------------------------------------------------------------
    @contextmanager
    def tx(self) -> Iterator[Session]:
        """One write transaction for this thread; nested use joins the outer one."""
        outer = getattr(self._local, "session", None)
        if outer is not None:
            yield outer
            return
        self._check_open()
        session = Session(self._write_engine, expire_on_commit=False)
        self._local.session = session
        try:
            with _translate_errors(self.path):
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
        with _translate_errors(self.path), Session(self._read_engine) as session:
            yield session

    def _check_open(self) -> None:
        if self._closed:
            raise CatalogError(f"{self.path}: the catalog was closed; open the library again")

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
                          status="pending", error=None)
            if row is None:
                s.execute(insert(_FILES).values(path=key, attempts=0, **values))
            else:
                if (row.size, row.mtime, row.content_hash) != (values["size"], values["mtime"], content_hash):
                    values["attempts"] = 0
                s.execute(update(_FILES).where(_FILES.c.id == row.id).values(**values))
            return FileRow(**s.execute(select(_FILES).where(_FILES.c.path == key)).one()._mapping)

    def touch_file(self, file_id: int, mtime: float) -> None:
        """Same bytes, new timestamp: keep everything, remember the new mtime."""
        self._update_file(file_id, mtime=float(mtime))

    def mark_failed(self, file_id: int, error: str) -> None:
        self._update_file(file_id, status="failed", error=str(error)[:MAX_ERROR_CHARS],
                          attempts=_FILES.c.attempts + 1)

    def mark_skipped(self, file_id: int, reason: str) -> None:
        self._update_file(file_id, status="skipped", error=str(reason)[:MAX_ERROR_CHARS])

    def reset_to_pending(self, file_ids: Iterable[int]) -> int:
        """Retry: the files go back to pending with their attempt count cleared; returns how many."""
        ids = [int(i) for i in file_ids]
        changed = 0
        with self.tx() as s:
            for chunk in _chunks(ids):
                changed += s.execute(update(_FILES).where(_FILES.c.id.in_(chunk))
                                     .values(status="pending", error=None, attempts=0)).rowcount
        return changed

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
                status="indexed", error=None, indexed_at=time.time(), model_fingerprint=fingerprint))
        return ids

    def bulk_add_indexed(self, folder_id: int, files: Sequence[BulkFile], fingerprint: str) -> list[int]:
        """Insert many already-indexed files with their segments in one transaction (benchmarks,
        imports). Returns the new segment ids. Paths must not be in the catalog yet."""
        packed = [[pack_embedding(seg) for seg in f.segments] for f in files]
        now = time.time()
        with self.tx() as s:
            conn = s.connection()
            first_file = (conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM files").scalar() or 0) + 1
            try:
                conn.exec_driver_sql(
                    "INSERT INTO files (id, folder_id, path, size, mtime, content_hash, duration, fps, width, "
                    "height, rotation, status, error, indexed_at, model_fingerprint, attempts) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'indexed', NULL, ?, ?, 0)",
                    [(first_file + i, folder_id, _path_key(f.path), int(f.size), float(f.mtime), f.content_hash,
                      _opt_float(f.media.duration), _opt_float(f.media.fps), _opt_int(f.media.width),
                      _opt_int(f.media.height), _opt_int(getattr(f.media, "rotation", 0)), now, fingerprint)
                     for i, f in enumerate(files)])
            except IntegrityError as exc:
                raise CatalogError(f"bulk insert refused: a path is already in the catalog or folder "
                                   f"{folder_id} does not exist ({exc.orig})") from exc
            ids = self._insert_segments(
                s, [(first_file + i, seg) for i, f in enumerate(files) for seg in f.segments], fingerprint)
            self._insert_embeddings(s, ids, [p for file_packed in packed for p in file_packed])
        return ids

    # -- segments and embeddings -----------------------------------------------------------
    def segments(self, ids: Sequence[int]) -> list[SegmentRow]:
        """Segments joined with file path, folder, mtime and duration, in the order of ``ids``;
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
                    min_mtime: float | None = None, max_mtime: float | None = None,
                    min_duration: float | None = None, max_duration: float | None = None) -> np.ndarray:
        """Ids of segments matching search filters (folder, file date, file duration), as int64."""
        query = select(_SEGMENTS.c.id).join(_FILES, _FILES.c.id == _SEGMENTS.c.file_id)
        if folder is not None:
            query = query.join(_FOLDERS, _FOLDERS.c.id == _FILES.c.folder_id).where(
                _FOLDERS.c.path == _path_key(folder))
        if fingerprint is not None:
            query = query.where(_SEGMENTS.c.fingerprint == fingerprint)
        for column, low, high in ((_FILES.c.mtime, min_mtime, max_mtime),
                                  (_FILES.c.duration, min_duration, max_duration)):
            if low is not None:
                query = query.where(column >= low)
            if high is not None:
                query = query.where(column <= high)
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
        """The highest change seq ever issued (0 when none); survives trim_changes."""
        with self._read() as s:
            return int(s.execute(text("SELECT coalesce((SELECT seq FROM sqlite_sequence "
                                      "WHERE name = 'changes'), 0)")).scalar() or 0)

    def trim_changes(self, through_seq: int) -> int:
        """Drop log entries up to ``through_seq`` (once every index has saved past them)."""
        with self.tx() as s:
            removed = s.execute(text("DELETE FROM changes WHERE seq <= :seq"), {"seq": int(through_seq)}).rowcount
            if through_seq > self.changes_trimmed_through():
                self.set_meta("changes_trimmed_through", str(int(through_seq)))
        return removed

    def changes_trimmed_through(self) -> int:
        """An index whose watermark is below this cannot replay and must be rebuilt."""
        return int(self.get_meta("changes_trimmed_through", "0") or 0)

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
                status="pending", error=None, indexed_at=None, model_fingerprint=None, attempts=0))
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
        """"ok", or what SQLite's integrity and foreign-key checks found."""
        self._check_open()
        try:
            with Session(self._read_engine) as s:
                problems = [r[0] for r in s.execute(text("PRAGMA integrity_check")) if r[0] != "ok"]
                problems += [f"{r[0]} row {r[1]} points to a missing {r[2]} row"
                             for r in s.execute(text("PRAGMA foreign_key_check"))]
        except DatabaseError as exc:
            return str(exc.orig)
        return "ok" if not problems else "; ".join(problems[:20])

    # -- helpers (run inside an open session) ----------------------------------------------
    def _update_file(self, file_id: int, **values) -> None:
        with self.tx() as s:
            self._require_file(s, file_id)
            s.execute(update(_FILES).where(_FILES.c.id == file_id).values(**values))

    def _require_file(self, s: Session, file_id: int) -> None:
        if s.execute(select(_FILES.c.id).where(_FILES.c.id == file_id)).first() is None:
            raise CatalogError(f"file id {file_id} is not in the catalog {self.path} (removed meanwhile?); "
                               "rescan the library")

    def _delete_files(self, s: Session, file_ids: list[int]) -> list[int]:
        removed = list(s.execute(select(_SEGMENTS.c.id).where(_SEGMENTS.c.file_id.in_(file_ids))).scalars())
        s.execute(delete(_SEGMENTS).where(_SEGMENTS.c.file_id.in_(file_ids)))
        s.execute(delete(_FILES).where(_FILES.c.id.in_(file_ids)))
        return removed

    def _insert_segments(self, s: Session, rows: list[tuple[int, SegmentLike]], fingerprint: str) -> list[int]:
        """Insert segments with ids taken after the highest ever issued (we hold the write lock)."""
        conn = s.connection()
        first = (conn.exec_driver_sql(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'segments'), 0), "
            "coalesce((SELECT max(id) FROM segments), 0))").scalar() or 0) + 1
        ids = list(range(first, first + len(rows)))
        if rows:
            conn.exec_driver_sql(
                "INSERT INTO segments (id, file_id, start_seconds, end_seconds, thumbnail, fingerprint, "
                "frame_count) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(seg_id, file_id, float(seg.start), float(seg.end),
                  None if seg.thumbnail is None else str(seg.thumbnail), fingerprint, int(seg.frame_count))
                 for seg_id, (file_id, seg) in zip(ids, rows)])
        return ids

    def _insert_embeddings(self, s: Session, ids: list[int], packed: list[tuple[bytes, bytes, bytes, bytes]]
                           ) -> None:
        if ids:
            s.connection().exec_driver_sql(
                "INSERT INTO embeddings (segment_id, vector, clip_tokens, frame_tokens, frame_mask) "
                "VALUES (?, ?, ?, ?, ?)", [(i, *p) for i, p in zip(ids, packed)])


@contextmanager
def _translate_errors(db_path: Path) -> Iterator[None]:
    """SQLite failures a person can act on become CatalogErrors that say what to do."""
    try:
        yield
    except OperationalError as exc:
        message = str(exc.orig)
        if "locked" in message or "busy" in message:
            raise CatalogError(f"{db_path} is busy: another program keeps it locked ({message}); close other "
                               "ClipSeek windows or commands using this library and try again") from exc
        if "disk is full" in message or "disk I/O" in message or "readonly" in message:
            raise CatalogError(f"{db_path} cannot be written ({message}); free disk space or check the "
                               "folder's permissions") from exc
        if "malformed" in message or "not a database" in message:
            raise corrupt_error(db_path, message) from exc
        raise
    except DatabaseError as exc:
        message = str(exc.orig)
        if "malformed" in message or "not a database" in message:
            raise corrupt_error(db_path, message) from exc
        raise


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
