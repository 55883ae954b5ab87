from __future__ import annotations

import logging
import sqlite3

import pytest
from sqlalchemy import create_engine, inspect, text

from engine.catalog import SCHEMA_VERSION, Catalog
from engine.catalog.migrations import MIGRATIONS
from engine.catalog.models import Base
from engine.errors import CatalogError

from .conftest import MEDIA, make_segments

# What the first released ClipSeek wrote (schema 1), spelled out by hand.
V1_SCHEMA = """
CREATE TABLE folders (id INTEGER NOT NULL PRIMARY KEY, path TEXT NOT NULL UNIQUE, added_at FLOAT NOT NULL,
                      state TEXT NOT NULL);
CREATE TABLE files (id INTEGER NOT NULL PRIMARY KEY,
                    folder_id INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
                    path TEXT NOT NULL UNIQUE, size INTEGER NOT NULL, mtime FLOAT NOT NULL, content_hash TEXT,
                    duration FLOAT, fps FLOAT, width INTEGER, height INTEGER, rotation INTEGER,
                    status TEXT NOT NULL, error TEXT, indexed_at FLOAT, model_fingerprint TEXT,
                    CONSTRAINT ck_files_status CHECK (status IN ('pending', 'indexed', 'skipped', 'failed')));
CREATE INDEX ix_files_status ON files (status);
CREATE TABLE segments (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
                       file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
                       start_seconds FLOAT NOT NULL, end_seconds FLOAT NOT NULL, thumbnail TEXT,
                       fingerprint TEXT NOT NULL, frame_count INTEGER NOT NULL);
CREATE INDEX ix_segments_file ON segments (file_id);
CREATE INDEX ix_segments_fingerprint ON segments (fingerprint);
CREATE TABLE embeddings (segment_id INTEGER NOT NULL PRIMARY KEY REFERENCES segments (id) ON DELETE CASCADE,
                         vector BLOB NOT NULL, clip_tokens BLOB NOT NULL, frame_tokens BLOB NOT NULL,
                         frame_mask BLOB NOT NULL);
CREATE TABLE changes (seq INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, segment_id INTEGER NOT NULL,
                      op TEXT NOT NULL, CONSTRAINT ck_changes_op CHECK (op IN ('add', 'del')));
CREATE TABLE meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL);
CREATE TRIGGER segments_log_add AFTER INSERT ON segments
    BEGIN INSERT INTO changes (segment_id, op) VALUES (NEW.id, 'add'); END;
CREATE TRIGGER segments_log_del AFTER DELETE ON segments
    BEGIN INSERT INTO changes (segment_id, op) VALUES (OLD.id, 'del'); END;
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO folders VALUES (1, '/videos', 100.0, 'ok');
INSERT INTO files VALUES (1, 1, '/videos/a.mp4', 10, 1.0, 'abc', 3.0, 25.0, 64, 48, 0, 'failed', 'bad', NULL,
                          NULL);
"""


def _write_v1(db_path) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path)
    conn.executescript(V1_SCHEMA)
    conn.close()


def test_new_catalog_is_at_current_version(catalog):
    assert catalog.get_meta("schema_version") == str(SCHEMA_VERSION)
    assert catalog.backups == []


def test_new_sqlite_catalog_uses_wal_and_foreign_keys(sqlite_catalog):
    assert (sqlite_catalog.dialect, sqlite_catalog.location) == ("sqlite", str(sqlite_catalog.path))
    with sqlite_catalog._read() as s:
        assert s.connection().exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert s.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_migrated_schema_matches_the_models(catalog):
    inspector = inspect(catalog._read_engine)
    for table in Base.metadata.sorted_tables:
        got = {c["name"]: (c["nullable"], c["type"].python_type) for c in inspector.get_columns(table.name)}
        want = {c.name: (c.nullable, c.type.python_type) for c in table.columns}
        assert got == want, table.name
        got_indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        assert {i.name for i in table.indexes} <= got_indexes, table.name


def test_postgres_schema_uses_its_own_types_and_triggers(postgres_url, tmp_path):
    cat = Catalog.open(tmp_path / "lib", url=postgres_url)
    try:
        assert (cat.dialect, cat.path) == ("postgresql", None)
        with cat._read() as s:
            types = dict(s.execute(text("SELECT table_name || '.' || column_name, data_type "
                                        "FROM information_schema.columns WHERE table_schema = current_schema()")).all())
            triggers = {r[0] for r in s.execute(text("SELECT trigger_name FROM information_schema.triggers"))}
        assert types["embeddings.vector"] == "bytea" and types["segments.id"] == "bigint"
        assert types["files.size"] == "bigint" and types["files.mtime"] == "double precision"
        assert {"segments_log_add", "segments_log_del", "files_log_refresh"} <= triggers
    finally:
        cat.close()


def test_postgres_old_schema_is_migrated_without_a_backup(postgres_url, tmp_path, caplog):
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:                             # what ClipSeek with schema 1 wrote
        MIGRATIONS[1](conn)
        conn.execute(text("INSERT INTO meta VALUES ('schema_version', '1')"))
        conn.execute(text("INSERT INTO folders (path, added_at, state) VALUES ('/videos', 100.0, 'ok')"))
        conn.execute(text("INSERT INTO files (folder_id, path, size, mtime, status, error) "
                          "VALUES (1, '/videos/a.mp4', 10, 1.0, 'failed', 'bad')"))
    engine.dispose()
    with caplog.at_level(logging.INFO, logger="engine.catalog.migrations"):
        cat = Catalog.open(tmp_path / "lib", url=postgres_url)
    try:
        assert cat.get_meta("schema_version") == str(SCHEMA_VERSION) and cat.backups == []
        assert "pg_dump" in caplog.text
        assert list((tmp_path / "lib").iterdir()) == []      # nothing of the catalog lands in the folder
        row = cat.file_by_path("/videos/a.mp4")
        assert (row.status, row.error, row.attempts, row.claimed_by) == ("failed", "bad", 0, None)
        ids = cat.record_indexed(row.id, MEDIA, make_segments(2), "fp")   # the migrated db is usable
        assert [c.segment_id for c in cat.changes_since(0)] == ids
        with pytest.raises(CatalogError, match="pg_dump"):
            cat.backup(tmp_path / "copy")
    finally:
        cat.close()


def test_old_schema_is_migrated_after_a_backup(tmp_path):
    db = tmp_path / "lib" / "catalog.sqlite"
    _write_v1(db)
    cat = Catalog.open(tmp_path / "lib")
    try:
        assert cat.get_meta("schema_version") == str(SCHEMA_VERSION)
        # One copy before each step: the first is the file as the old ClipSeek left it.
        assert [b.name for b in cat.backups] == [f"catalog.sqlite.v{v}.bak" for v in range(1, SCHEMA_VERSION)]
        backup = cat.backups[0]
        old = sqlite3.connect(backup)
        assert old.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("1",)
        assert "attempts" not in [r[1] for r in old.execute("PRAGMA table_info(files)")]
        old.close()
        row = cat.file_by_path("/videos/a.mp4")
        assert (row.status, row.error, row.attempts, row.claimed_by) == ("failed", "bad", 0, None)
        ids = cat.record_indexed(row.id, MEDIA, make_segments(2), "fp")   # the migrated db is usable
        assert [c.segment_id for c in cat.changes_since(0)] == ids
    finally:
        cat.close()
    Catalog.open(tmp_path / "lib").close()                  # second open: nothing more to migrate
    assert sorted(p.name for p in db.parent.glob("*.bak")) == [b.name for b in cat.backups]


def test_newer_schema_is_refused(open_catalog):
    first = open_catalog()
    first.set_meta("schema_version", str(SCHEMA_VERSION + 1))
    first.close()
    with pytest.raises(CatalogError, match="newer ClipSeek.*upgrade ClipSeek"):
        open_catalog()


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "catalog.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CatalogError, match="damaged.*delete the library folder"):
        Catalog.open(tmp_path / "lib")


def test_a_truncated_database_is_refused(tmp_path):
    cat = Catalog.open(tmp_path / "lib")
    folder = cat.add_folder("/videos")
    with cat.tx():
        for i in range(40):
            row = cat.upsert_pending(folder.id, f"/videos/{i}.mp4", 1, 1.0, None)
            cat.record_indexed(row.id, MEDIA, make_segments(3, seed=i), "fp")
    cat.close()
    db = tmp_path / "lib" / "catalog.sqlite"
    db.write_bytes(db.read_bytes()[:4096 * 3])
    with pytest.raises(CatalogError, match="damaged"):
        cat = Catalog.open(tmp_path / "lib")
        try:
            cat.stats()
            cat.segment_embeddings(range(1, 121))
        finally:
            cat.close()


def test_integrity_failure_is_reported_and_refused_when_checked(tmp_path):
    cat = Catalog.open(tmp_path / "lib")
    folder = cat.add_folder("/videos")
    with cat.tx():
        for i in range(300):
            cat.upsert_pending(folder.id, f"/videos/{i:04d}.mp4", 1, 1.0, f"hash{i}")
    cat.close()
    db = tmp_path / "lib" / "catalog.sqlite"
    conn = sqlite3.connect(db)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ix_files_content_hash'").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    data[(root - 1) * page_size:(root - 1) * page_size + 64] = b"\xff" * 64    # scribble over an index page
    db.write_bytes(bytes(data))
    cat = Catalog.open(tmp_path / "lib")
    try:
        assert cat.integrity_check() != "ok"
    finally:
        cat.close()
    with pytest.raises(CatalogError, match="damaged.*restore"):
        Catalog.open(tmp_path / "lib", check_integrity=True)


def test_postgres_integrity_check_reports_orphans(postgres_url, tmp_path):
    cat = Catalog.open(tmp_path / "lib", url=postgres_url)
    try:
        folder = cat.add_folder("/videos")
        row = cat.upsert_pending(folder.id, "/videos/a.mp4", 1, 1.0, None)
        assert cat.integrity_check() == "ok"
        with cat.tx() as s:                                   # what a partial restore can leave behind
            s.execute(text("SET LOCAL session_replication_role = replica"))
            s.execute(text("DELETE FROM folders"))
        assert cat.integrity_check() == f"files row {row.id} points to a missing folders row"
    finally:
        cat.close()
    with pytest.raises(CatalogError, match="inconsistent.*files row"):
        Catalog.open(tmp_path / "lib", url=postgres_url, check_integrity=True)


def test_backup_copies_a_live_catalog(sqlite_catalog, tmp_path):
    folder = sqlite_catalog.add_folder(tmp_path / "videos")
    sqlite_catalog.upsert_pending(folder.id, f"{folder.path}/a.mp4", 1, 1.0, "h")
    copy = sqlite_catalog.backup(tmp_path / "copy" / "catalog.sqlite")
    restored = Catalog.open(copy.parent)
    try:
        assert [f.path for f in restored.files()] == [f"{folder.path}/a.mp4"]
    finally:
        restored.close()
