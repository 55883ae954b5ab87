from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import inspect

from engine.catalog import SCHEMA_VERSION, Catalog
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


def test_new_catalog_is_at_current_version_with_wal_and_foreign_keys(catalog):
    assert catalog.get_meta("schema_version") == str(SCHEMA_VERSION)
    assert catalog.backups == []
    with catalog._read() as s:
        assert s.connection().exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert s.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_migrated_schema_matches_the_models(catalog):
    inspector = inspect(catalog._read_engine)
    for table in Base.metadata.sorted_tables:
        got = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name)}
        want = {c.name: c.nullable for c in table.columns}
        assert got == want, table.name
        got_indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        assert {i.name for i in table.indexes} <= got_indexes, table.name


def test_old_schema_is_migrated_after_a_backup(tmp_path):
    db = tmp_path / "lib" / "catalog.sqlite"
    _write_v1(db)
    cat = Catalog.open(tmp_path / "lib")
    try:
        assert cat.get_meta("schema_version") == str(SCHEMA_VERSION)
        [backup] = cat.backups
        assert backup.name == "catalog.sqlite.v1.bak"
        old = sqlite3.connect(backup)
        assert old.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("1",)
        assert "attempts" not in [r[1] for r in old.execute("PRAGMA table_info(files)")]
        old.close()
        row = cat.file_by_path("/videos/a.mp4")
        assert (row.status, row.error, row.attempts) == ("failed", "bad", 0)
        ids = cat.record_indexed(row.id, MEDIA, make_segments(2), "fp")   # the migrated db is usable
        assert [c.segment_id for c in cat.changes_since(0)] == ids
    finally:
        cat.close()
    Catalog.open(tmp_path / "lib").close()                  # second open: nothing more to migrate
    assert sorted(p.name for p in db.parent.glob("*.bak")) == ["catalog.sqlite.v1.bak"]


def test_newer_schema_is_refused(tmp_path):
    Catalog.open(tmp_path / "lib").close()
    conn = sqlite3.connect(tmp_path / "lib" / "catalog.sqlite")
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()
    with pytest.raises(CatalogError, match="newer ClipSeek.*upgrade ClipSeek"):
        Catalog.open(tmp_path / "lib")


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


def test_backup_copies_a_live_catalog(catalog, folder, tmp_path):
    catalog.upsert_pending(folder.id, f"{folder.path}/a.mp4", 1, 1.0, "h")
    copy = catalog.backup(tmp_path / "copy" / "catalog.sqlite")
    restored = Catalog.open(copy.parent)
    try:
        assert [f.path for f in restored.files()] == [f"{folder.path}/a.mp4"]
    finally:
        restored.close()
