"""A full disk while the search index is saved. hnswlib's save_index reports no write error (it leaves a short
file and returns), so a save checks the file whole before it replaces the last one; where the index cannot be
saved, opening and searching go on from memory with a notice, and what was saved before stays as it was."""
from __future__ import annotations

import errno
import os
from collections import namedtuple

import hnswlib
import numpy as np
import pytest

from engine.vectors import INDEX_FILE, MANIFEST_FILE, VectorIndex, hnsw_file
from engine.vectors import index as index_module

from .conftest import DIM, FP, fill, recall_at_k
from .test_hnsw_file import saved_index

DiskUsage = namedtuple("DiskUsage", "total used free")


def fill_the_disk(patch) -> None:
    patch.setattr(hnswlib.Index, "save_index", _saving_short(hnswlib.Index.save_index))
    patch.setattr(index_module.shutil, "disk_usage", lambda folder: DiskUsage(1 << 30, 1 << 30, 0))


def test_whole_tells_a_saved_file_from_one_cut_short(tmp_path):
    path = tmp_path / INDEX_FILE
    saved_index(path, n=500)
    raw = path.read_bytes()
    assert hnsw_file.whole(path)
    header = hnsw_file.HEADER.unpack_from(raw, 0)
    level0_end = hnsw_file.HEADER.size + header[2] * header[3]
    assert level0_end < len(raw) - 500          # many elements have upper levels (M=6): their links follow
    for cut in (0, 7, hnsw_file.HEADER.size, hnsw_file.HEADER.size + 100, level0_end, level0_end + 2,
                len(raw) - 1):
        path.write_bytes(raw[:cut])
        assert not hnsw_file.whole(path), cut
    path.write_bytes(raw + bytes(4))
    assert not hnsw_file.whole(path)


def test_an_index_without_elements_is_whole(tmp_path):
    path = tmp_path / INDEX_FILE
    index = hnswlib.Index(space="ip", dim=DIM)
    index.init_index(max_elements=10)
    index.save_index(str(path))
    assert hnsw_file.whole(path)


def test_a_save_cut_short_by_a_full_disk_fails_and_keeps_the_last_files(tmp_path, catalog, monkeypatch):
    folder = tmp_path / "vectors"
    fill(catalog, 4, 50, seed=1)
    vi = VectorIndex.open(folder, DIM, FP, catalog)
    saved = {name: (folder / name).read_bytes() for name in (INDEX_FILE, MANIFEST_FILE)}
    fill(catalog, 2, 50, seed=2, prefix="g")
    vi.apply_changes()
    with monkeypatch.context() as patch:
        fill_the_disk(patch)
        with pytest.raises(OSError) as failed:
            vi.save()
    assert failed.value.errno == errno.ENOSPC
    assert {name: (folder / name).read_bytes() for name in saved} == saved
    assert sorted(os.listdir(folder)) == [INDEX_FILE, MANIFEST_FILE]      # no temporary file left behind
    vi.close(save=False)
    reopened = VectorIndex.open(folder, DIM, FP, catalog)      # the last whole pair, caught up from the change log
    assert reopened.notices == []
    assert reopened.count == 300
    assert recall_at_k(catalog, reopened, np.random.default_rng(5).standard_normal((20, DIM))) >= 0.9
    reopened.close()


def test_a_short_file_on_a_disk_with_room_is_a_failed_write(tmp_path, catalog, monkeypatch):
    fill(catalog, 1, 50)
    vi = VectorIndex.open(tmp_path / "vectors", DIM, FP, catalog)
    monkeypatch.setattr(hnswlib.Index, "save_index", _saving_short(hnswlib.Index.save_index))
    with pytest.raises(OSError) as failed:
        vi.save()
    assert failed.value.errno == errno.EIO
    vi.close(save=False)


def test_an_index_rebuilt_on_a_full_disk_is_searched_from_memory(tmp_path, catalog, monkeypatch):
    folder = tmp_path / "vectors"
    fill(catalog, 4, 50, seed=1)
    VectorIndex.open(folder, DIM, FP, catalog).close()
    fill_the_disk(monkeypatch)
    (folder / INDEX_FILE).write_bytes(b"")                  # left empty by a save before this check existed
    vi = VectorIndex.open(folder, DIM, FP, catalog)
    assert len(vi.notices) == 2
    assert "rebuilt from the catalog because index.bin has 0 bytes" in vi.notices[0]
    assert vi.notices[1] == (f"The search index could not be saved in {folder} (the disk is full); it is brought "
                             "up to date from the catalog the next time the library opens.")
    assert vi.count == 200
    assert recall_at_k(catalog, vi, np.random.default_rng(5).standard_normal((20, DIM))) >= 0.9
    assert (folder / INDEX_FILE).read_bytes() == b""        # not replaced by a short file
    vi.close()                                              # tries again, does not raise, says nothing new
    assert len(vi.notices) == 2


def _saving_short(save_in_full):
    """save_index that writes the first 4 KiB of the file, as on a disk that fills up there, and says nothing."""
    def save_short(index, path):
        save_in_full(index, path)
        with open(path, "r+b") as fh:
            fh.truncate(4096)
    return save_short
