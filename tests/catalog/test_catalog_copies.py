"""The copy of catalog.sqlite kept after indexing, and putting it back over a damaged catalog."""
from __future__ import annotations

import os
import pickle
import sqlite3
import time

import pytest

from engine.catalog import Catalog
from engine.catalog.copies import check_file, copy_path, keep_copy, latest_copy, restore_latest_copy
from engine.errors import CatalogError, DamagedCatalogError


def _catalog_with_files(library, count: int) -> None:
    with Catalog.open(library) as cat:
        folder = cat.folder_by_path(library / "videos") or cat.add_folder(library / "videos")
        for i in range(len(cat.files()), len(cat.files()) + count):
            cat.upsert_pending(folder.id, f"{library}/videos/{i:04d}.mp4", 1, 1.0, f"hash{i}")


def _file_count(db) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM files").fetchone()[0]
    finally:
        conn.close()


def _damage(db) -> None:
    """Scribble over the pages after the first (the schema's stays, so the file still opens as SQLite)."""
    data = bytearray(db.read_bytes())
    data[4096:4096 * 3] = os.urandom(4096 * 2)
    db.write_bytes(bytes(data))
    for side in ("-wal", "-shm"):
        db.with_name(db.name + side).unlink(missing_ok=True)


def _age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_copy_is_kept_at_most_once_a_day_and_only_when_the_catalog_changed(tmp_path):
    library = tmp_path / "lib"
    _catalog_with_files(library, 3)
    db = library / "catalog.sqlite"
    assert keep_copy(db) and _file_count(copy_path(db)) == 3
    _catalog_with_files(library, 2)
    assert not keep_copy(db)                            # a copy of today is there
    _age(copy_path(db), 25 * 3600)
    assert keep_copy(db) and _file_count(copy_path(db)) == 5
    _age(copy_path(db), 25 * 3600)
    for side in ("", "-wal", "-shm"):                   # nothing written since the copy
        if db.with_name(db.name + side).exists():
            _age(db.with_name(db.name + side), 26 * 3600)
    assert not keep_copy(db)
    assert sorted(p.name for p in library.iterdir() if p.name.startswith("catalog.sqlite.copy")) == [
        "catalog.sqlite.copy.bak"]                      # checking a copy leaves no -wal or -shm beside it


def test_a_damaged_catalog_never_replaces_the_good_copy(tmp_path):
    library = tmp_path / "lib"
    _catalog_with_files(library, 300)
    db = library / "catalog.sqlite"
    assert keep_copy(db)
    good = copy_path(db).read_bytes()
    _damage(db)
    assert check_file(db) is not None
    _age(copy_path(db), 25 * 3600)
    assert not keep_copy(db)
    assert copy_path(db).read_bytes() == good


def test_the_newest_copy_is_put_back_and_the_damaged_file_is_kept(tmp_path):
    library = tmp_path / "lib"
    _catalog_with_files(library, 300)
    db = library / "catalog.sqlite"
    older = db.with_name("catalog.sqlite.v3.bak")         # as a schema upgrade leaves one
    keep_copy(db)
    os.replace(copy_path(db), older)
    _age(older, 3 * 24 * 3600)
    _catalog_with_files(library, 10)
    keep_copy(db)
    assert latest_copy(db).path == copy_path(db)
    _damage(db)
    damaged = db.read_bytes()
    with pytest.raises(DamagedCatalogError) as refused:
        Catalog.open(library, check_integrity=True)
    assert refused.value.copy == latest_copy(db).describe()
    assert "`clipseek restore-catalog`" in str(refused.value)
    carried = pickle.loads(pickle.dumps(refused.value))        # as it would come back from a worker process
    assert (str(carried), carried.problem, carried.copy) == (str(refused.value), refused.value.problem,
                                                             refused.value.copy)

    chosen, kept = restore_latest_copy(db)
    assert chosen.path == copy_path(db) and kept.read_bytes() == damaged
    assert kept.name.startswith("catalog.sqlite.damaged-")
    with Catalog.open(library, check_integrity=True) as cat:
        assert len(cat.files()) == 310


def test_restoring_refuses_when_no_good_copy_is_there(tmp_path):
    library = tmp_path / "lib"
    _catalog_with_files(library, 300)
    db = library / "catalog.sqlite"
    with pytest.raises(CatalogError, match="no copy of .* was kept"):
        restore_latest_copy(db)
    with pytest.raises(DamagedCatalogError, match="restore it from a backup of your own") as refused:
        _damage(db)
        Catalog.open(library, check_integrity=True)
    assert refused.value.copy is None
    copy_path(db).write_bytes(db.read_bytes())          # a copy as damaged as the catalog
    with pytest.raises(CatalogError, match="is damaged too"):
        restore_latest_copy(db)
    assert db.exists() and not list(library.glob("catalog.sqlite.damaged-*"))


@pytest.mark.parametrize("lost", ["missing", "empty"])
def test_a_lost_catalog_with_a_copy_beside_it_is_not_started_again_empty(tmp_path, lost):
    library = tmp_path / "lib"
    _catalog_with_files(library, 5)
    db = library / "catalog.sqlite"
    keep_copy(db)
    db.unlink()
    if lost == "empty":
        db.write_bytes(b"")
    with pytest.raises(DamagedCatalogError, match=f"is damaged \\(the file is {lost}\\); put back the copy") as refused:
        Catalog.open(library)
    assert refused.value.copy == latest_copy(db).describe()
    chosen, kept = restore_latest_copy(db)
    assert chosen.path == copy_path(db) and (kept is None) == (lost == "missing")
    with Catalog.open(library, check_integrity=True) as cat:
        assert len(cat.files()) == 5
    other = tmp_path / "new library"                    # no copy: a new, empty catalog, as always
    with Catalog.open(other) as cat:
        assert cat.files() == []
