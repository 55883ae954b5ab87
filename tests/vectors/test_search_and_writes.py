from __future__ import annotations

import threading

import numpy as np
import pytest

from engine.errors import DimensionMismatch
from engine.vectors import HnswParams, VectorIndex

from .conftest import DIM, FP, fill


def _unit(rng, n):
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def empty_index(tmp_path, catalog):
    index = VectorIndex.open(tmp_path / "vectors", DIM, FP, catalog, HnswParams(initial_capacity=64))
    yield index
    index.close(save=False)


def test_search_with_fewer_items_than_k(empty_index):
    vectors = _unit(np.random.default_rng(0), 3)
    empty_index.add([10, 11, 12], vectors)
    ids, scores = empty_index.search(vectors[1], 10)
    assert ids.shape == (1, 3) and ids.dtype == np.int64 and scores.dtype == np.float32
    assert ids[0, 0] == 11 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    assert np.all(np.diff(scores[0]) <= 1e-6)
    empty_index.delete([10, 11])
    ids, _ = empty_index.search(vectors, 10)
    assert ids.tolist() == [[12], [12], [12]]


def test_heavy_deletion_still_returns_what_is_left(empty_index):
    rng = np.random.default_rng(1)
    empty_index.add(np.arange(500), _unit(rng, 500))
    empty_index.delete(range(495))
    ids, _ = empty_index.search(_unit(rng, 4), 10)
    assert ids.shape == (4, 5) and set(ids.ravel().tolist()) == set(range(495, 500))


def test_filtered_search_exact_and_approximate(tmp_path, catalog):
    rng = np.random.default_rng(2)
    vectors = _unit(rng, 2000)
    index = VectorIndex.open(tmp_path / "v", DIM, FP, catalog, HnswParams(exact_below=50))
    index.add(np.arange(2000), vectors)
    queries = _unit(rng, 10)

    small = set(range(0, 2000, 97))                          # 21 ids: answered exactly
    ids, scores = index.search(queries, 5, allowed_ids=small)
    allowed = np.array(sorted(small))
    truth = allowed[np.argsort(-(queries @ vectors[allowed].T), axis=1)[:, :5]]
    assert ids.tolist() == truth.tolist()
    np.testing.assert_allclose(scores, np.take_along_axis(queries @ vectors.T, ids, axis=1), atol=1e-5)

    large = np.arange(0, 2000, 2)                            # 1000 ids: hnswlib's filter
    ids, _ = index.search(queries, 10, allowed_ids=large)
    assert ids.shape == (10, 10) and np.all(ids % 2 == 0)
    truth = large[np.argsort(-(queries @ vectors[large].T), axis=1)[:, :10]]
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids.tolist(), truth.tolist())]) >= 0.9

    index.delete([0, 97])
    ids, _ = index.search(queries, 50, allowed_ids=small | {999_999})
    assert ids.shape == (10, 19) and not {0, 97, 999_999} & set(ids.ravel().tolist())
    assert index.search(queries[0], 5, allowed_ids=[])[0].shape == (1, 0)
    index.close(save=False)


def test_repeated_add_and_delete_do_not_grow_the_index(tmp_path, catalog):
    rng = np.random.default_rng(3)
    index = VectorIndex.open(tmp_path / "v", DIM, FP, catalog, HnswParams(initial_capacity=64))
    same_ids = np.arange(100)
    for _ in range(15):                                      # the same ids again and again
        index.add(same_ids, _unit(rng, 100))
        index.delete(same_ids)
    index.add(same_ids, _unit(rng, 100))
    assert (index.count, index.element_count) == (100, 100)
    for round_ in range(15):                                 # fresh ids each time, as re-indexing makes
        fresh = np.arange(1000 + round_ * 100, 1100 + round_ * 100)
        index.add(fresh, _unit(rng, 100))
        index.delete(fresh)
    assert index.count == 100 and index.element_count <= 200 and index.capacity <= 400
    index.save()
    size = (tmp_path / "v" / "index.bin").stat().st_size
    for round_ in range(10):
        fresh = np.arange(5000 + round_ * 100, 5100 + round_ * 100)
        index.add(fresh, _unit(rng, 100))
        index.delete(fresh)
    index.save()
    assert (tmp_path / "v" / "index.bin").stat().st_size == size
    index.close()


def test_re_adding_a_live_id_replaces_its_vector(empty_index):
    rng = np.random.default_rng(4)
    first, second = _unit(rng, 2)
    empty_index.add([7], first[None])
    empty_index.add([7, 8], np.stack([second, first]))
    assert empty_index.count == 2 and empty_index.element_count == 2
    ids, scores = empty_index.search(second, 1)
    assert ids[0, 0] == 7 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_the_index_grows_past_its_initial_capacity(empty_index):
    empty_index.add(np.arange(300), _unit(np.random.default_rng(5), 300))
    assert empty_index.count == 300 and empty_index.capacity >= 300


def test_wrong_dimensions_are_refused(empty_index):
    with pytest.raises(DimensionMismatch, match="32-dimensional"):
        empty_index.search(np.ones(DIM + 1), 3)
    with pytest.raises(DimensionMismatch):
        empty_index.add([1], np.ones((1, DIM - 1)))


def test_concurrent_searches_and_writes_do_not_crash(tmp_path, catalog):
    fill(catalog, 10, 50)
    index = VectorIndex.open(tmp_path / "v", DIM, FP, catalog)
    rng = np.random.default_rng(6)
    queries = _unit(rng, 8)
    errors: list[BaseException] = []
    stop = threading.Event()

    def searcher(seed: int) -> None:
        try:
            local = np.random.default_rng(seed)
            while not stop.is_set():
                ids, scores = index.search(queries[local.integers(8)], 10,
                                           allowed_ids=None if seed % 2 else np.arange(0, 20000, 3))
                assert ids.shape[1] <= 10 and np.all(np.isfinite(scores))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def writer() -> None:
        try:
            for round_ in range(20):
                fresh = np.arange(10_000 + round_ * 50, 10_050 + round_ * 50)
                index.add(fresh, _unit(rng, 50))
                index.delete(fresh[:25])
                if round_ % 5 == 0:
                    index.save()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            stop.set()

    threads = [threading.Thread(target=searcher, args=(s,)) for s in range(4)] + [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert index.count == 500 + 20 * 25
    index.close()


def test_a_deep_search_does_not_leave_its_wide_beam_to_the_searches_after_it(empty_index):
    rng = np.random.default_rng(3)
    empty_index.add(np.arange(1500), _unit(rng, 1500))
    base = empty_index.params.ef_search
    assert empty_index.ef == base
    ids, _ = empty_index.search(_unit(rng, 1)[0], 600)       # a deep page of the window's results: ef 1,200
    assert ids.shape == (1, 600) and empty_index.ef == base and empty_index._index.ef == base


def test_the_beam_never_drops_below_what_a_running_search_asked_for(empty_index):
    empty_index.add(np.arange(50), _unit(np.random.default_rng(4), 50))
    raw, base = empty_index._index, empty_index.params.ef_search
    shallow, deep, other = empty_index._beam(raw, base), empty_index._beam(raw, 1200), empty_index._beam(raw, 400)
    shallow.__enter__()
    deep.__enter__()
    other.__enter__()
    assert empty_index.ef == 1200
    shallow.__exit__(None, None, None)
    assert empty_index.ef == 1200                             # deep still runs
    deep.__exit__(None, None, None)
    assert empty_index.ef == 400                              # down to what the one left asked for
    other.__exit__(None, None, None)
    assert empty_index.ef == base and raw.ef == base
