"""hnsw_file.load: the mapped fast path opens exactly what hnswlib's load_index opens, and leaves
files it does not take (deletions, damage) to load_index."""
from __future__ import annotations

import numpy as np
import pytest

import hnswlib
from engine.vectors import VectorIndex, hnsw_file

from .conftest import DIM, FP, fill, recall_at_k


def saved_index(path, n=3000, M=6, capacity=4000, deleted=()):
    """Small M gives many elements upper levels (1/M of them), so the link-list section is exercised."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((n, DIM)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    index = hnswlib.Index(space="ip", dim=DIM)
    index.init_index(max_elements=capacity, M=M, ef_construction=60, allow_replace_deleted=True, random_seed=3)
    labels = np.arange(n) * 7 + 11                         # labels unlike internal ids
    index.add_items(data, labels, num_threads=1)
    for label in deleted:
        index.mark_deleted(int(label))
    index.save_index(str(path))
    return data, labels


def slow_load(path):
    index = hnswlib.Index(space="ip", dim=DIM)
    index.load_index(str(path), max_elements=0, allow_replace_deleted=True)
    return index


def test_fast_path_opens_what_load_index_opens(tmp_path):
    path = tmp_path / "index.bin"
    data, labels = saved_index(path)
    fast, reuses_deleted = hnsw_file.load(path, "ip", DIM)
    slow = slow_load(path)
    assert reuses_deleted is False
    assert (fast.element_count, fast.get_max_elements()) == (slow.element_count, slow.get_max_elements()) == (3000, 4000)
    assert sorted(fast.get_ids_list()) == sorted(slow.get_ids_list()) == sorted(labels.tolist())
    queries = np.random.default_rng(1).standard_normal((40, DIM)).astype(np.float32)
    for index in (fast, slow):
        index.set_ef(50)
    got, want = fast.knn_query(queries, 20), slow.knn_query(queries, 20)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_allclose(np.array(fast.get_items(labels[:50])), data[:50], atol=1e-6)
    # It saves the same file again, so the next open reads the same graph.
    fast.save_index(str(tmp_path / "again.bin"))
    assert (tmp_path / "again.bin").read_bytes() == path.read_bytes()


def test_an_index_opened_fast_takes_new_vectors_and_deletions(tmp_path):
    path = tmp_path / "index.bin"
    saved_index(path, capacity=3000)                     # full: adding needs a resize
    index, _ = hnsw_file.load(path, "ip", DIM)
    extra = np.random.default_rng(5).standard_normal((10, DIM)).astype(np.float32)
    index.resize_index(3010)
    index.add_items(extra, np.arange(10) + 10**6, replace_deleted=False)
    index.mark_deleted(11)
    index.set_ef(50)
    found, _ = index.knn_query(extra, 1)
    assert found[:, 0].tolist() == (np.arange(10) + 10**6).tolist()
    assert 11 not in index.knn_query(np.random.default_rng(6).standard_normal((30, DIM)), 30)[0]


def test_files_with_deleted_elements_go_through_load_index(tmp_path):
    path = tmp_path / "index.bin"
    saved_index(path, deleted=(11, 18, 25))
    index, reuses_deleted = hnsw_file.load(path, "ip", DIM)
    assert reuses_deleted is True
    index.add_items(np.ones((1, DIM), np.float32), [5], replace_deleted=True)   # reuses a deleted slot
    assert index.element_count == 3000


@pytest.mark.parametrize("damage", ["garbage", "truncated", "header only", "empty"])
def test_damaged_files_fail_as_load_index_fails(tmp_path, damage):
    path = tmp_path / "index.bin"
    saved_index(path, n=300)
    raw = path.read_bytes()
    raw = {"garbage": np.random.default_rng(0).bytes(len(raw)), "truncated": raw[: len(raw) // 2],
           "header only": raw[:hnsw_file.HEADER.size], "empty": b""}[damage]
    path.write_bytes(raw)
    with pytest.raises(RuntimeError):
        hnsw_file.load(path, "ip", DIM)


def test_vector_index_reuses_deleted_slots_again_after_the_next_open(tmp_path, catalog):
    ids = fill(catalog, 20, 20)
    directory = tmp_path / "lib" / "vectors"
    VectorIndex.open(directory, DIM, FP, catalog).close()
    index = VectorIndex.open(directory, DIM, FP, catalog)     # no deletions in the file: the fast path
    gone = catalog.delete_file(catalog.file_by_path("/videos/f0.mp4").id)
    fill(catalog, 2, 20, seed=4, prefix="new")
    index.apply_changes()
    assert index.count == len(ids) - len(gone) + 40
    queries = np.random.default_rng(2).standard_normal((30, DIM)).astype(np.float32)
    assert recall_at_k(catalog, index, queries) >= 0.95
    index.close()
    index = VectorIndex.open(directory, DIM, FP, catalog)     # deletions in the file: load_index
    size_before = index.element_count
    catalog.delete_file(catalog.file_by_path("/videos/f1.mp4").id)
    fill(catalog, 1, 20, seed=9, prefix="later")
    index.apply_changes()
    assert index.element_count == size_before    # the 20 new vectors took deleted slots
    assert recall_at_k(catalog, index, queries) >= 0.95
    index.close()


def test_a_pickle_format_this_loader_does_not_know_falls_back(tmp_path, monkeypatch):
    path = tmp_path / "index.bin"
    saved_index(path, n=300)
    monkeypatch.setattr(hnsw_file, "PICKLE_VERSION", 99)     # as if hnswlib had moved on
    index, reuses_deleted = hnsw_file.load(path, "ip", DIM)
    assert reuses_deleted is True and index.element_count == 300
