"""Disk full and broken caches: the catalog stays whole, the user is told, caches are rebuilt.

A full disk is real where the test may mount a small tmpfs (root in a container that allows
it); elsewhere those tests skip and the in-process one (ENOSPC raised by the index save) runs.
"""
from __future__ import annotations

import dataclasses
import errno
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest

from engine.api.library import Library
from engine.catalog import SCHEMA_VERSION
from engine.catalog.copies import check_file
from engine.errors import CatalogError, LibraryError
from engine.settings import Settings
from engine.vectors import hnsw_file
from reliability_helpers import clipseek, integrity, without_permission_override

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def indexed_library(tmp_path_factory, tiny_bundle, plain_videos) -> Path:
    """The twelve plain videos indexed once; tests work on copies (``library_copy``)."""
    library = tmp_path_factory.mktemp("indexed") / "library"
    with Library.open(library, model=tiny_bundle, settings=Settings(workers=2)) as lib:
        lib.add_folder(plain_videos)
        assert lib.index().indexed == 12
    return library


@pytest.fixture
def library_copy(indexed_library, tmp_path) -> Path:
    target = tmp_path / "library"
    shutil.copytree(indexed_library, target)
    return target


def statuses(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT status, count(*) FROM files GROUP BY status").fetchall())
    finally:
        conn.close()


def assert_searchable(lib: Library) -> None:
    """Every segment of the catalog is in the ANN index and found with its own vector."""
    ids = lib.catalog.segment_ids(fingerprint=lib.bundle_info.fingerprint)
    assert lib.vectors.count == len(ids) > 0
    emb = lib.catalog.segment_embeddings(ids)
    found, scores = lib.vectors.search(emb.vectors, k=5)
    assert all(i in row or s[0] > 1 - 1e-5 for i, row, s in zip(emb.ids, found, scores))


# -- a full disk ---------------------------------------------------------------------------------
@pytest.fixture
def small_disk():
    """``small_disk(path, size)`` mounts a tmpfs of ``size`` there; ``.grow(path, size)`` enlarges it."""
    mounted: list[Path] = []

    class Disk:
        def __call__(self, path: Path, size: str) -> Path:
            path.mkdir(parents=True, exist_ok=True)
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip()})")
            mounted.append(path)
            return path

        def grow(self, path: Path, size: str) -> None:
            subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True)

        def read_only(self, path: Path) -> None:
            subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)

    yield Disk()
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _index_until_full(library: Path, bundle: Path) -> subprocess.CompletedProcess:
    done = clipseek(library, bundle, "index", "--workers", "1")
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith("clipseek: ") and "Traceback" not in done.stderr
    assert "disk is full" in message and "free disk space" in message, message
    return done


@pytest.mark.parametrize("full", ["catalog", "thumbnails"])
def test_a_full_disk_stops_indexing_cleanly_and_resumes_after(tmp_path, tiny_bundle, plain_videos, small_disk, full):
    library = tmp_path / "library"
    disk = small_disk(library, "600k") if full == "catalog" else small_disk(library / "thumbs", "40k")
    assert clipseek(library, tiny_bundle, "add-folder", plain_videos).returncode == 0
    _index_until_full(library, tiny_bundle)
    assert integrity(library / "catalog.sqlite") == "ok"
    counts = statuses(library / "catalog.sqlite")
    assert set(counts) <= {"indexed", "pending"} and counts.get("pending"), counts   # nothing blamed on a file
    small_disk.grow(disk, "50m")
    done = clipseek(library, tiny_bundle, "index", "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert statuses(library / "catalog.sqlite") == {"indexed": 12}
    with Library.open(library, model=tiny_bundle) as lib:
        assert_searchable(lib)


def test_an_index_save_that_finds_no_space_tells_the_user_and_loses_nothing(library_copy, tiny_bundle,
                                                                          plain_videos, monkeypatch):
    import engine.vectors.index as vector_index

    def no_space(path, _write):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    extra = plain_videos.parent / "more"
    shutil.copytree(plain_videos, extra, dirs_exist_ok=True)
    told: list[str] = []
    with Library.open(library_copy, model=tiny_bundle, settings=Settings(workers=1)) as lib:
        lib.subscribe(lambda name, payload: told.append(payload) if name == "notice" else None)
        monkeypatch.setattr(vector_index, "atomic_write", no_space)
        lib.add_folder(extra)
        final = lib.index()
        assert final.indexed == 12 and final.state == "done"
        # said in the words a save that finds the disk full says elsewhere
        assert any(n.startswith("The search index could not be saved in ") and "(the disk is full)" in n
                   for n in lib.notices), lib.notices
        assert told == lib.notices
        monkeypatch.undo()
    assert integrity(library_copy / "catalog.sqlite") == "ok"
    with Library.open(library_copy, model=tiny_bundle) as lib:
        assert_searchable(lib)
        assert lib.status().files["indexed"] == 24


def test_a_search_index_that_does_not_fit_on_the_disk_is_searched_from_memory(library_copy, tiny_bundle,
                                                                               small_disk):
    vectors = small_disk(library_copy / "vectors", "8k")        # (hides the saved index: it is built again)
    with Library.open(library_copy, model=tiny_bundle) as lib:
        assert_searchable(lib)
        assert lib.notices == [f"The search index could not be saved in {vectors} (the disk is full); it is "
                               "brought up to date from the catalog the next time the library opens."]
    # hnswlib's save_index says nothing when the disk fills: nothing it left short replaced what was there
    assert sorted(p.name for p in vectors.iterdir()) == []
    small_disk.grow(vectors, "10m")
    with Library.open(library_copy, model=tiny_bundle) as lib:
        assert_searchable(lib)
    assert hnsw_file.whole(vectors / "index.bin")


def test_a_library_on_a_drive_mounted_read_only_says_so(tmp_path, indexed_library, tiny_bundle, small_disk):
    library = small_disk(tmp_path / "library", "20m")
    shutil.copytree(indexed_library, library, dirs_exist_ok=True)
    small_disk.read_only(library)
    for args in (["status"], ["search", "a red circle"], ["index"]):
        done = clipseek(library, tiny_bundle, *args)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.splitlines()[-1] == (
            f"clipseek: the library folder {library} is on a drive mounted read-only; ClipSeek writes there even "
            "to search, so mount the drive so that it can be written, or copy the library folder to one that can "
            "and open that copy with --library"), done.stderr


def test_a_library_on_a_network_drive_indexes_and_searches_without_a_write_ahead_log(tmp_path, tiny_bundle,
                                                                                       plain_videos, monkeypatch):
    # SQLite's write-ahead log needs shared memory that SMB and NFS do not share (the mount table is the test's).
    from engine.util import network_folders

    share = tmp_path / "nas"
    share.mkdir()
    monkeypatch.setattr(network_folders, "system_mounts", lambda: [("/", "ext4"), (str(share.resolve()), "nfs4")])
    with Library.open(share / "library", model=tiny_bundle, settings=Settings(workers=2)) as lib:
        lib.add_folder(plain_videos)
        assert lib.index().indexed == 12
        assert_searchable(lib)
        assert len(lib.search("a red circle", k=3)) == 3
    assert integrity(share / "library" / "catalog.sqlite") == "ok"
    conn = sqlite3.connect(share / "library" / "catalog.sqlite")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    finally:
        conn.close()
    assert not list((share / "library").glob("catalog.sqlite-*"))


# -- broken caches -------------------------------------------------------------------------------
def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def _garbage_same_size(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).integers(0, 256, path.stat().st_size, dtype=np.uint8).tobytes())


def _garbage_text(path: Path) -> None:
    path.write_bytes(b"\x00\xffnot json at all{")


def _other_model(path: Path) -> None:
    path.write_text(path.read_text().replace('"fingerprint": "', '"fingerprint": "0ther'))


@pytest.mark.parametrize("damage", [
    ("index.bin", _truncate), ("index.bin", Path.unlink), ("manifest.json", _truncate),
    ("manifest.json", _garbage_text), ("manifest.json", Path.unlink), ("manifest.json", _other_model),
], ids=["index-truncated", "index-missing", "manifest-truncated", "manifest-garbage", "manifest-missing",
        "manifest-other-model"])
def test_a_broken_vector_cache_is_rebuilt_with_a_notice(library_copy, tiny_bundle, damage):
    name, spoil = damage
    spoil(library_copy / "vectors" / name)
    told: list[str] = []
    with Library.open(library_copy, model=tiny_bundle) as lib:
        lib.subscribe(lambda event, payload: told.append(payload) if event == "notice" else None)
        assert_searchable(lib)
        assert len(lib.notices) == 1 and "rebuilt from the catalog" in lib.notices[0], lib.notices
        assert told == lib.notices
    with Library.open(library_copy, model=tiny_bundle) as lib:   # the rebuilt cache was saved
        assert_searchable(lib)
        assert lib.notices == []


def test_a_garbage_index_file_of_the_right_size_is_rebuilt(library_copy, tiny_bundle):
    # hnswlib reads index.bin without checksums: run it in a child so that a native crash would
    # show as a failed command here instead of killing the test run.
    _garbage_same_size(library_copy / "vectors" / "index.bin")
    done = clipseek(library_copy, tiny_bundle, "search", "a red circle", "-k", "3", "--json")
    assert done.returncode == 0, done.stderr
    with Library.open(library_copy, model=tiny_bundle) as lib:
        assert_searchable(lib)


def test_a_corrupt_catalog_gives_a_clear_error_with_what_to_do(library_copy, tiny_bundle):
    db = library_copy / "catalog.sqlite"
    data = bytearray(db.read_bytes())
    page = 4096
    data[page:page * 3] = np.random.default_rng(1).integers(0, 256, page * 2, dtype=np.uint8).tobytes()
    db.write_bytes(bytes(data))
    for wal in (library_copy / "catalog.sqlite-wal", library_copy / "catalog.sqlite-shm"):
        wal.unlink(missing_ok=True)
    with pytest.raises(CatalogError) as caught:
        with Library.open(library_copy, model=tiny_bundle) as lib:
            lib.status()
            lib.search("anything")
    message = str(caught.value)
    assert str(db) in message and "damaged" in message and "delete the library folder" in message
    done = clipseek(library_copy, tiny_bundle, "status")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("clipseek: ") and "damaged" in done.stderr and len(done.stderr.splitlines()) == 1


def _scribble_over_catalog(library: Path) -> Path:
    db = library / "catalog.sqlite"
    data = bytearray(db.read_bytes())
    data[4096:4096 * 3] = np.random.default_rng(1).integers(0, 256, 4096 * 2, dtype=np.uint8).tobytes()
    db.write_bytes(bytes(data))
    for side in (library / "catalog.sqlite-wal", library / "catalog.sqlite-shm"):
        side.unlink(missing_ok=True)
    return db


def test_the_copy_kept_after_indexing_is_put_back_over_a_damaged_catalog(library_copy, tiny_bundle):
    assert (library_copy / "catalog.sqlite.copy.bak").is_file()        # kept when the library was indexed
    done = clipseek(library_copy, tiny_bundle, "status")
    assert "\ncopy     catalog.sqlite.copy.bak, of " in done.stdout, done.stdout
    done = clipseek(library_copy, tiny_bundle, "status", "--json")
    assert json.loads(done.stdout)["catalog_copy"].startswith("catalog.sqlite.copy.bak, of ")
    done = clipseek(library_copy, tiny_bundle, "restore-catalog")
    assert done.returncode == 2 and "is whole" in done.stderr and "nothing was restored" in done.stderr

    with Library.open(library_copy, model=tiny_bundle) as lib:   # after the copy, a video leaves the library
        lib.leave_out([lib.catalog.files()[0].path])
        lib.index()
    assert statuses(library_copy / "catalog.sqlite") == {"indexed": 11}

    damaged = _scribble_over_catalog(library_copy).read_bytes()
    done = clipseek(library_copy, tiny_bundle, "status")
    assert done.returncode == 2 and "put back the copy ClipSeek kept (catalog.sqlite.copy.bak, of " in done.stderr
    assert "`clipseek restore-catalog`" in done.stderr and len(done.stderr.splitlines()) == 1
    done = clipseek(library_copy, tiny_bundle, "restore-catalog")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("put back catalog.sqlite.copy.bak, of ")
    [kept] = library_copy.glob("catalog.sqlite.damaged-*[0-9]")
    assert kept.read_bytes() == damaged and kept.name in done.stdout
    assert statuses(library_copy / "catalog.sqlite") == {"indexed": 12}      # as it was when copied
    with Library.open(library_copy, model=tiny_bundle) as lib:
        assert_searchable(lib)          # the vector index, saved after the copy, was rebuilt from it
        assert any("ahead of the catalog" in notice for notice in lib.notices), lib.notices
        assert lib.index().indexed == 0
    assert statuses(library_copy / "catalog.sqlite") == {"indexed": 11}      # what changed since, again

    (library_copy / "catalog.sqlite").unlink()          # deleted by mistake: not started again empty
    done = clipseek(library_copy, tiny_bundle, "status")
    assert done.returncode == 2 and "is damaged (the file is missing); put back the copy" in done.stderr
    done = clipseek(library_copy, tiny_bundle, "restore-catalog")
    assert done.returncode == 0 and " in the place of the missing catalog\n" in done.stdout, done.stderr
    assert statuses(library_copy / "catalog.sqlite") == {"indexed": 12}


def test_the_copy_is_not_put_back_under_a_library_open_elsewhere(library_copy, tiny_bundle):
    # Only an indexing library was seen: a window that was only searching went on writing to the damaged file,
    # kept aside, while the next open read the copy put back.
    searching = Library.open(library_copy, model=tiny_bundle)
    try:
        assert len(searching.search("a red circle", k=3)) == 3
        damaged = _scribble_over_catalog(library_copy).read_bytes()
        done = clipseek(library_copy, tiny_bundle, "restore-catalog")
        assert done.returncode == 2 and done.stderr == (
            f"clipseek: {library_copy} is open in ClipSeek (a window, or `clipseek watch`); close it first, then "
            "put the copy back\n"), done.stderr
        assert (library_copy / "catalog.sqlite").read_bytes() == damaged
        assert not list(library_copy.glob("catalog.sqlite.damaged-*"))
    finally:
        searching.close()
    done = clipseek(library_copy, tiny_bundle, "restore-catalog")
    assert done.returncode == 0 and done.stdout.startswith("put back catalog.sqlite.copy.bak, of "), done.stderr
    assert statuses(library_copy / "catalog.sqlite") == {"indexed": 12}


def test_a_library_told_to_keep_no_catalog_copy_deletes_the_one_kept_and_makes_none(library_copy, tiny_bundle,
                                                                                     plain_videos):
    copy = library_copy / "catalog.sqlite.copy.bak"
    assert copy.is_file()                                   # kept by the indexing that made the library
    extra = plain_videos.parent / "more"
    shutil.copytree(plain_videos, extra, dirs_exist_ok=True)
    with Library.open(library_copy, model=tiny_bundle, settings=Settings(workers=1)) as lib:
        lib.update_settings(dataclasses.replace(lib.settings, keep_catalog_copy=False))
        assert not copy.exists() and not lib.status().keeps_catalog_copy
        lib.add_folder(extra)
        assert lib.index().indexed == 12 and not copy.exists()
    assert json.loads((library_copy / "settings.json").read_text())["keep_catalog_copy"] is False
    status = clipseek(library_copy, tiny_bundle, "status")
    assert "copy     none: turned off (keep_catalog_copy in the library's settings.json)\n" in status.stdout
    with Library.open(library_copy, model=tiny_bundle, settings=Settings(workers=1)) as lib:
        lib.update_settings(dataclasses.replace(lib.settings, keep_catalog_copy=True))
        lib.remove_folder(extra)
        lib.index()
    assert copy.is_file() and check_file(copy) is None


def test_the_window_offers_the_kept_copy_when_the_catalog_is_damaged(library_copy, tiny_bundle):
    from desktop_app.__main__ import open_library_offering_restore
    from engine.errors import DamagedCatalogError

    db = library_copy / "catalog.sqlite"
    with open(db, "r+b") as fh:         # the schema's page, past the file header: opening finds it
        fh.seek(100)
        fh.write(bytes(range(256)) * 15)
    offered = []
    with pytest.raises(DamagedCatalogError):
        open_library_offering_restore(library_copy, str(tiny_bundle), lambda error: offered.append(error) and False)
    assert [e.copy.split(",")[0] for e in offered] == ["catalog.sqlite.copy.bak"] and offered[0].problem
    assert not list(library_copy.glob("catalog.sqlite.damaged-*"))    # declined: nothing moved
    with open_library_offering_restore(library_copy, str(tiny_bundle), lambda error: True) as lib:
        assert lib.status().files.get("indexed") == 12
        assert_searchable(lib)


def test_a_read_only_library_is_not_called_damaged(library_copy, tiny_bundle):
    prefix = without_permission_override()
    before = {p: p.read_bytes() for p in library_copy.rglob("*") if p.is_file()}
    subprocess.run(["chmod", "-R", "a-w", str(library_copy)], check=True)
    try:
        for args in (["status"], ["problems"], ["search", "a red circle"]):
            done = clipseek(library_copy, tiny_bundle, *args, prefix=prefix)
            assert done.returncode == 2 and done.stderr.startswith("clipseek: "), (args, done.stderr)
            assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
            assert f"library folder {library_copy} cannot be written" in done.stderr, done.stderr
            assert "permissions" in done.stderr and "damaged" not in done.stderr and "delete" not in done.stderr
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(library_copy)], check=True)
    assert {p: p.read_bytes() for p in library_copy.rglob("*") if p.is_file()} == before


def test_a_library_folder_that_cannot_be_made_is_one_sentence(tmp_path, tiny_bundle):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    with pytest.raises(LibraryError, match="is a file; a library is a folder"):
        Library.open(a_file, model=tiny_bundle)
    with pytest.raises(LibraryError, match="cannot make the library folder .*: Not a directory"):
        Library.open(a_file / "library", model=tiny_bundle)
    done = clipseek(a_file / "library", tiny_bundle, "add-folder", tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("clipseek: cannot make the library folder"), done.stderr
    assert len(done.stderr.splitlines()) == 1 and a_file.read_text() == "not a folder"


def _downgrade_to_schema_1(db: Path) -> None:
    """What ClipSeek's first catalog schema looked like: no attempts column, no lookup indexes."""
    conn = sqlite3.connect(db)
    try:
        conn.executescript("""
            ALTER TABLE files DROP COLUMN recorded_at;
            DROP TRIGGER files_log_refresh;
            DROP INDEX ix_files_claimed_by;
            ALTER TABLE files DROP COLUMN claimed_by;
            ALTER TABLE files DROP COLUMN claimed_at;
            DROP INDEX ix_files_content_hash;
            DROP INDEX ix_files_folder_status;
            ALTER TABLE files DROP COLUMN attempts;
            UPDATE meta SET value = '1' WHERE key = 'schema_version';
        """)
        conn.commit()
    finally:
        conn.close()


def test_an_older_library_is_migrated_after_a_backup(library_copy, tiny_bundle):
    db = library_copy / "catalog.sqlite"
    _downgrade_to_schema_1(db)
    done = clipseek(library_copy, tiny_bundle, "status", "--json")
    assert done.returncode == 0, done.stderr
    backup = library_copy / "catalog.sqlite.v1.bak"
    assert backup.is_file()
    old = sqlite3.connect(backup)
    try:
        assert old.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("1",)
        assert old.execute("SELECT count(*) FROM segments").fetchone()[0] > 0
    finally:
        old.close()
    with Library.open(library_copy, model=tiny_bundle) as lib:
        assert lib.catalog.get_meta("schema_version") == str(SCHEMA_VERSION)
        assert lib.status().files["indexed"] == 12
        assert_searchable(lib)
        assert lib.search("a red circle", k=3)
