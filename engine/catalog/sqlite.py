"""SQLite engines for catalog.sqlite: pragmas, explicit BEGIN, the checks made before trusting a file,
and the failures a person can act on.

Two engines share one file: reads begin a deferred transaction (a snapshot, never
blocking a writer under WAL); writes begin IMMEDIATE, so two writers queue on the
busy timeout instead of failing half-way when a read lock cannot be upgraded.

A library folder on a network drive keeps SQLite's rollback journal instead of the write-ahead log, whose
shared memory (catalog.sqlite-shm) network file systems do not share: SQLite documents WAL as unsafe there.
Readers then hold back a writer's commit for as long as they read, within the busy timeout.
"""
from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DatabaseError, OperationalError

from engine.errors import CatalogError, DamagedCatalogError
from engine.util.network_folders import on_network_drive

log = logging.getLogger(__name__)

BUSY_TIMEOUT_SECONDS = 30.0
SQLITE_HEADER = b"SQLite format 3\x00"
WRITE_OPTION = "clipseek_write"


def create_engines(db_path: Path) -> tuple[Engine, Engine]:
    """(read engine, write engine) over the same connection pool."""
    journal = journal_mode_for(db_path)
    engine = create_engine(
        f"sqlite+pysqlite:///{db_path}",
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS},
        pool_size=8, max_overflow=24, pool_timeout=BUSY_TIMEOUT_SECONDS,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let us emit BEGIN ourselves (pysqlite's own transaction handling defers it badly).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA journal_mode = {journal}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN")

    return engine, engine.execution_options(**{WRITE_OPTION: True})


def journal_mode_for(db_path: Path) -> str:
    """WAL, or DELETE (the rollback journal) for a catalog on a network drive."""
    if on_network_drive(str(db_path.parent)):
        log.info("%s is on a network drive: its catalog keeps a rollback journal, not a write-ahead log",
                 db_path.parent)
        return "DELETE"
    return "WAL"


def check_database_file(db_path: Path) -> None:
    """Refuse a file that is not a readable SQLite database, saying what to do. A catalog that is missing or
    empty is a new one, unless a copy of it was kept: then it was lost, and an empty catalog would hide that."""
    from engine.catalog.copies import latest_copy, lost

    if lost(db_path):
        if latest_copy(db_path) is not None:
            raise corrupt_error(db_path, "the file is missing" if not db_path.exists() else "the file is empty")
        return
    try:
        with open(db_path, "rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise CatalogError(f"{db_path} cannot be read ({exc.strerror or exc}); check the permissions of the "
                           f"library folder {db_path.parent} and its files") from exc
    if header != SQLITE_HEADER:
        raise corrupt_error(db_path, "it is not an SQLite database")
    try:
        conn = sqlite3.connect(db_path)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        # Locked, read-only or unopenable: the file may well be whole, so never call it damaged.
        # (Even reading needs a writable folder: WAL mode makes catalog.sqlite-shm beside it.)
        message = str(exc)
        error = read_only_drive_error(db_path) or access_error(db_path, message) or CatalogError(
            f"{db_path} cannot be opened ({message}); check the permissions of the library folder {db_path.parent}")
        raise error from exc
    except sqlite3.DatabaseError as exc:
        raise corrupt_error(db_path, str(exc)) from exc


def corrupt_error(db_path: Path, problem: str) -> CatalogError:
    from engine.catalog.copies import latest_copy

    copy = latest_copy(db_path)
    restore = (f"put back the copy ClipSeek kept ({copy.describe()}) with `clipseek restore-catalog` (videos "
               "indexed since it was made are indexed again), or " if copy
               else "restore it from a backup of your own, or ")
    return DamagedCatalogError(f"{db_path} is damaged ({problem}); {restore}delete the library folder "
                               f"{db_path.parent} and add your folders again to rebuild it",
                               problem=problem, copy=copy.describe() if copy else None)


def translate_error(db_path: Path, exc: DatabaseError) -> CatalogError | None:
    """The CatalogError for an SQLite failure a person can act on; None for anything else (a bug)."""
    message = str(exc.orig)
    if isinstance(exc, OperationalError):
        error = access_error(db_path, message)
        if error is not None:
            return error
    if "malformed" in message or "not a database" in message:
        return corrupt_error(db_path, message)
    return None


def access_error(db_path: Path, message: str) -> CatalogError | None:
    """The CatalogError for an SQLite OperationalError that says the file is locked or cannot be written."""
    if "locked" in message or "busy" in message:
        return CatalogError(f"{db_path} is busy: another program keeps it locked ({message}); close other "
                            "ClipSeek windows or commands using this library and try again")
    if "readonly" in message:
        return read_only_drive_error(db_path) or CatalogError(
            f"the library folder {db_path.parent} cannot be written ({message}); ClipSeek writes there even to "
            "search, so check the permissions of the folder and its files")
    if "disk is full" in message or "disk I/O" in message:
        return CatalogError(f"{db_path} cannot be written ({message}); free disk space or check the "
                            "folder's permissions")
    return None


def read_only_drive_error(db_path: Path) -> CatalogError | None:
    """The CatalogError for a library folder on a drive mounted read-only (a write-protected card, a share
    mounted so); None where the drive can be written."""
    try:
        read_only = bool(os.statvfs(db_path.parent).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):   # (no statvfs on Windows: its message names the permissions)
        return None
    if not read_only:
        return None
    return CatalogError(f"the library folder {db_path.parent} is on a drive mounted read-only; ClipSeek writes "
                        "there even to search, so mount the drive so that it can be written, or copy the library "
                        "folder to one that can and open that copy with --library")


def checkpoint(engine: Engine) -> None:
    """Fold the WAL back into catalog.sqlite (outside any transaction, on the driver connection)."""
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except sqlite3.DatabaseError as exc:   # another process still reading: the WAL stays, no harm
        log.debug("WAL checkpoint on close skipped: %s", exc)
    finally:
        raw.close()


def integrity_problems(conn: Connection) -> list[str]:
    """What SQLite's integrity and foreign-key checks found (empty when all is well)."""
    problems = [r[0] for r in conn.execute(text("PRAGMA integrity_check")) if r[0] != "ok"]
    problems += [f"{r[0]} row {r[1]} points to a missing {r[2]} row"
                 for r in conn.execute(text("PRAGMA foreign_key_check"))]
    return problems


def next_ids(conn: Connection, table: str, n: int) -> list[int]:
    """``n`` fresh ids for ``table``, taken while this connection holds the write lock.

    An AUTOINCREMENT table (segments) continues after the highest id it ever issued, so
    deleted ids never come back; the others after their current highest id.
    """
    if table == "segments":
        highest = conn.execute(text(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'segments'), 0), "
            "coalesce((SELECT max(id) FROM segments), 0))")).scalar()
    else:
        highest = conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar()
    first = int(highest or 0) + 1
    return list(range(first, first + n))


def last_change_seq(conn: Connection) -> int:
    """The highest change seq ever issued: sqlite_sequence survives deletes and rolls back with its transaction."""
    return int(conn.execute(text("SELECT coalesce((SELECT seq FROM sqlite_sequence "
                                 "WHERE name = 'changes'), 0)")).scalar() or 0)
