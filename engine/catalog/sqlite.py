"""SQLite engines for catalog.sqlite: pragmas, explicit BEGIN, and the checks made before trusting a file.

Two engines share one file: reads begin a deferred transaction (a snapshot, never
blocking a writer under WAL); writes begin IMMEDIATE, so two writers queue on the
busy timeout instead of failing half-way when a read lock cannot be upgraded.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine, create_engine, event

from engine.errors import CatalogError

BUSY_TIMEOUT_SECONDS = 30.0
SQLITE_HEADER = b"SQLite format 3\x00"
WRITE_OPTION = "clipseek_write"


def create_engines(db_path: Path) -> tuple[Engine, Engine]:
    """(read engine, write engine) over the same connection pool."""
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
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN")

    return engine, engine.execution_options(**{WRITE_OPTION: True})


def check_database_file(db_path: Path) -> None:
    """Refuse a file that is not a readable SQLite database, saying what to do."""
    if not db_path.exists() or db_path.stat().st_size == 0:
        return
    with open(db_path, "rb") as fh:
        header = fh.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise corrupt_error(db_path, "it is not an SQLite database")
    try:
        conn = sqlite3.connect(db_path)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise corrupt_error(db_path, str(exc)) from exc


def corrupt_error(db_path: Path, problem: str) -> CatalogError:
    backups = sorted(db_path.parent.glob(f"{db_path.name}.v*.bak"))
    restore = f"restore a backup ({backups[-1].name}) over it, or " if backups else "restore it from a backup, or "
    return CatalogError(f"{db_path} is damaged ({problem}); {restore}delete the library folder "
                        f"{db_path.parent} and add your folders again to rebuild it")
