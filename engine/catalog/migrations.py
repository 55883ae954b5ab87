"""Numbered schema migrations of catalog.sqlite.

``MIGRATIONS[n]`` takes a database at version n-1 to version n inside one write
transaction. Before each one runs on a database that already holds a schema,
a copy is taken with SQLite's backup API (``catalog.sqlite.v<old>.bak``), so a
failed or unwanted upgrade can be undone by putting the copy back.
Never edit a released migration: add the next number.
"""
from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Callable

from sqlalchemy import Connection, Engine, text

from engine.errors import CatalogError
from engine.util.atomic import atomic_write

log = logging.getLogger(__name__)


def _v1_initial(conn: Connection) -> None:
    for statement in (
        """CREATE TABLE folders (
            id INTEGER NOT NULL PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            added_at FLOAT NOT NULL,
            state TEXT NOT NULL)""",
        """CREATE TABLE files (
            id INTEGER NOT NULL PRIMARY KEY,
            folder_id INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
            path TEXT NOT NULL UNIQUE,
            size INTEGER NOT NULL,
            mtime FLOAT NOT NULL,
            content_hash TEXT,
            duration FLOAT,
            fps FLOAT,
            width INTEGER,
            height INTEGER,
            rotation INTEGER,
            status TEXT NOT NULL,
            error TEXT,
            indexed_at FLOAT,
            model_fingerprint TEXT,
            CONSTRAINT ck_files_status CHECK (status IN ('pending', 'indexed', 'skipped', 'failed')))""",
        "CREATE INDEX ix_files_status ON files (status)",
        """CREATE TABLE segments (
            id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
            file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
            start_seconds FLOAT NOT NULL,
            end_seconds FLOAT NOT NULL,
            thumbnail TEXT,
            fingerprint TEXT NOT NULL,
            frame_count INTEGER NOT NULL)""",
        "CREATE INDEX ix_segments_file ON segments (file_id)",
        "CREATE INDEX ix_segments_fingerprint ON segments (fingerprint)",
        """CREATE TABLE embeddings (
            segment_id INTEGER NOT NULL PRIMARY KEY REFERENCES segments (id) ON DELETE CASCADE,
            vector BLOB NOT NULL,
            clip_tokens BLOB NOT NULL,
            frame_tokens BLOB NOT NULL,
            frame_mask BLOB NOT NULL)""",
        """CREATE TABLE changes (
            seq INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
            segment_id INTEGER NOT NULL,
            op TEXT NOT NULL,
            CONSTRAINT ck_changes_op CHECK (op IN ('add', 'del')))""",
        """CREATE TABLE meta (
            key TEXT NOT NULL PRIMARY KEY,
            value TEXT NOT NULL)""",
        # The change log is written by triggers so that no write path (cascades included) can skip it.
        """CREATE TRIGGER segments_log_add AFTER INSERT ON segments
           BEGIN INSERT INTO changes (segment_id, op) VALUES (NEW.id, 'add'); END""",
        """CREATE TRIGGER segments_log_del AFTER DELETE ON segments
           BEGIN INSERT INTO changes (segment_id, op) VALUES (OLD.id, 'del'); END""",
    ):
        conn.exec_driver_sql(statement)


def _v2_attempts_and_lookups(conn: Connection) -> None:
    """Count failed attempts per file; index the lookups that scans and moves make."""
    conn.exec_driver_sql("ALTER TABLE files ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0")
    conn.exec_driver_sql("CREATE INDEX ix_files_content_hash ON files (content_hash)")
    conn.exec_driver_sql("CREATE INDEX ix_files_folder_status ON files (folder_id, status)")


MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _v1_initial,
    2: _v2_attempts_and_lookups,
}
SCHEMA_VERSION = max(MIGRATIONS)


def read_schema_version(conn: Connection) -> int:
    """0 for an empty database; the stored version otherwise."""
    has_meta = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").first()
    if not has_meta:
        return 0
    row = conn.exec_driver_sql("SELECT value FROM meta WHERE key = 'schema_version'").first()
    if row is None:
        raise CatalogError("the catalog has a meta table but no schema_version: it was not written by "
                           "ClipSeek; restore catalog.sqlite from a backup or delete the library folder "
                           "to rebuild it")
    return int(row[0])


def migrate(engine: Engine, write_engine: Engine, db_path: Path) -> list[Path]:
    """Bring the database at ``db_path`` to SCHEMA_VERSION; returns the backups taken."""
    with engine.connect() as conn:
        version = read_schema_version(conn)
    _refuse_newer(version, db_path)
    backups: list[Path] = []
    had_data = version > 0          # a brand-new file has nothing worth a copy
    while version < SCHEMA_VERSION:
        target = version + 1
        if had_data:
            backups.append(backup_database(db_path, db_path.with_name(f"{db_path.name}.v{version}.bak")))
        with write_engine.begin() as conn:
            # Another process may have migrated while we waited for the write lock.
            version = read_schema_version(conn)
            _refuse_newer(version, db_path)
            if version >= target:
                continue
            log.info("migrating %s from schema %d to %d", db_path, version, target)
            MIGRATIONS[target](conn)
            conn.execute(text("INSERT INTO meta (key, value) VALUES ('schema_version', :v) "
                              "ON CONFLICT (key) DO UPDATE SET value = excluded.value"), {"v": str(target)})
            version = target
    return backups


def backup_database(db_path: Path, backup_path: Path) -> Path:
    """Consistent copy of a live database (WAL included) through SQLite's backup API."""
    def write(tmp: Path) -> None:
        source = sqlite3.connect(db_path)
        target = sqlite3.connect(tmp)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()

    atomic_write(backup_path, write)
    return backup_path


def _refuse_newer(version: int, db_path: Path) -> None:
    if version > SCHEMA_VERSION:
        raise CatalogError(f"{db_path} was written by a newer ClipSeek (catalog schema {version}; this "
                           f"version understands up to {SCHEMA_VERSION}); upgrade ClipSeek or open another "
                           "library")
