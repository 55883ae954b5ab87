"""A catalog on a network drive keeps SQLite's rollback journal: the write-ahead log's shared memory
(catalog.sqlite-shm) is not shared by network file systems, and SQLite documents WAL as unsafe over them.

The mount table is the test's (a folder of tmp_path mounted as an SMB share); SQLite and the files are real."""
from __future__ import annotations

import shutil
import sqlite3

import pytest

from engine.catalog import Catalog
from engine.util import network_folders


@pytest.fixture
def share(tmp_path, monkeypatch):
    share = tmp_path / "nas"
    share.mkdir()
    mounts = [("/", "ext4"), (str(share.resolve()), "cifs")]
    monkeypatch.setattr(network_folders, "system_mounts", lambda: mounts)
    return share


def journal_mode(db_path) -> str:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()


def side_files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("catalog.sqlite-"))


def test_a_catalog_on_a_network_drive_keeps_a_rollback_journal(share, tmp_path):
    catalog = Catalog.open(share / "lib")
    other = Catalog.open(share / "lib")                     # another connection pool, as another process's
    try:
        folder = catalog.add_folder(tmp_path / "videos")
        with catalog.tx():
            catalog.upsert_pending(folder.id, f"{folder.path}/a.mp4", 1, 1.0, "h")
            assert other.files() == []                      # readers go on, and see the last commit
            assert side_files(share / "lib") == ["catalog.sqlite-journal"]
        assert [f.path for f in other.files()] == [f"{folder.path}/a.mp4"]
        assert journal_mode(share / "lib" / "catalog.sqlite") == "delete"
        assert side_files(share / "lib") == []              # no -wal, no -shm
    finally:
        other.close()
        catalog.close()


def test_a_local_catalog_keeps_its_write_ahead_log(share, tmp_path):
    catalog = Catalog.open(tmp_path / "lib")
    try:
        catalog.add_folder(tmp_path / "videos")
        assert journal_mode(tmp_path / "lib" / "catalog.sqlite") == "wal"
    finally:
        catalog.close()


def test_a_library_moved_onto_a_network_drive_leaves_the_write_ahead_log_and_keeps_its_rows(share, tmp_path):
    catalog = Catalog.open(tmp_path / "lib")
    folder = catalog.add_folder(tmp_path / "videos")
    catalog.upsert_pending(folder.id, f"{folder.path}/a.mp4", 1, 1.0, "h")
    catalog.close()
    assert journal_mode(tmp_path / "lib" / "catalog.sqlite") == "wal"
    shutil.copytree(tmp_path / "lib", share / "lib")
    moved = Catalog.open(share / "lib")
    try:
        assert [f.path for f in moved.files()] == [f"{folder.path}/a.mp4"]
        assert journal_mode(share / "lib" / "catalog.sqlite") == "delete"
        assert side_files(share / "lib") == []
    finally:
        moved.close()
