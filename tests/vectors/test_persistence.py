"""Open, close, reopen: the index survives, catches up with the catalog, and rebuilds what it cannot trust."""
from __future__ import annotations

import json

import numpy as np
import pytest

from engine.catalog import MediaInfo
from engine.vectors import INDEX_FILE, MANIFEST_FILE, Manifest, VectorIndex

from .conftest import DIM, FP, fill, random_segments, recall_at_k


def _open(tmp_path, catalog, fingerprint=FP):
    return VectorIndex.open(tmp_path / "lib" / "vectors", DIM, fingerprint, catalog)


def test_recall_after_close_and_reopen(tmp_path, catalog):
    fill(catalog, 100, 30)
    index = _open(tmp_path, catalog)
    assert index.count == 3000 and index.notices == []
    index.close()
    reopened = _open(tmp_path, catalog)
    assert reopened.notices == [] and reopened.count == 3000
    assert reopened.synced_through == catalog.last_change_seq()
    queries = np.random.default_rng(1).standard_normal((50, DIM)).astype(np.float32)
    assert recall_at_k(catalog, reopened, queries, k=10) >= 0.95
    reopened.close()


def test_first_open_of_an_empty_library_is_silent(tmp_path, catalog):
    index = _open(tmp_path, catalog)
    assert (index.count, index.notices) == (0, [])
    assert (tmp_path / "lib" / "vectors" / INDEX_FILE).exists()
    ids, scores = index.search(np.ones(DIM, np.float32), 5)
    assert ids.shape == scores.shape == (1, 0)
    index.close()


def test_changes_made_while_closed_are_replayed(tmp_path, catalog):
    ids = fill(catalog, 10, 10)
    _open(tmp_path, catalog).close()
    gone = catalog.delete_file(catalog.file_by_path("/videos/f0.mp4").id)
    row = catalog.upsert_pending(catalog.folder_by_path("/videos").id, "/videos/new.mp4", 1, 1.0, None)
    new_segments = random_segments(np.random.default_rng(7), 3)
    new_ids = catalog.record_indexed(row.id, MediaInfo(3.0, 25.0, 64, 64), new_segments, FP)

    index = _open(tmp_path, catalog)
    assert index.notices == []                               # replayed, not rebuilt
    assert index.count == len(ids) - len(gone) + 3
    assert index.synced_through == catalog.last_change_seq()
    for seg_id, seg in zip(new_ids, new_segments):
        found, scores = index.search(seg.vector, 1)
        assert found[0, 0] == seg_id and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    found, _ = index.search(np.random.default_rng(3).standard_normal((20, DIM)), 50)
    assert not set(found.ravel().tolist()) & set(gone)
    index.close()
    assert json.loads((tmp_path / "lib" / "vectors" / MANIFEST_FILE).read_text())["count"] == index.count


def test_sync_applies_and_saves_with_the_watermark_last(tmp_path, catalog):
    fill(catalog, 5, 10)
    index = _open(tmp_path, catalog)
    row = catalog.upsert_pending(catalog.folder_by_path("/videos").id, "/videos/x.mp4", 1, 1.0, None)
    catalog.record_indexed(row.id, MediaInfo(3.0, 25.0, 64, 64), random_segments(np.random.default_rng(2), 4), FP)
    assert index.sync(catalog) == 4
    manifest = Manifest.load(tmp_path / "lib" / "vectors" / MANIFEST_FILE)
    assert (manifest.count, manifest.synced_through) == (54, catalog.last_change_seq())
    assert manifest.index_bytes == (tmp_path / "lib" / "vectors" / INDEX_FILE).stat().st_size
    assert sorted(p.name for p in (tmp_path / "lib" / "vectors").iterdir()) == [INDEX_FILE, MANIFEST_FILE]
    index.close()


@pytest.mark.parametrize("damage", ["truncated index", "garbage index", "garbage manifest", "missing manifest",
                                    "missing index", "wrong count"])
def test_damaged_files_are_rebuilt_with_a_notice(tmp_path, catalog, damage):
    fill(catalog, 20, 20)
    _open(tmp_path, catalog).close()
    vectors_dir = tmp_path / "lib" / "vectors"
    index_file, manifest_file = vectors_dir / INDEX_FILE, vectors_dir / MANIFEST_FILE
    if damage == "truncated index":
        index_file.write_bytes(index_file.read_bytes()[: index_file.stat().st_size // 3])
    elif damage == "garbage index":
        index_file.write_bytes(np.random.default_rng(0).bytes(index_file.stat().st_size))
    elif damage == "garbage manifest":
        manifest_file.write_text("{not json")
    elif damage == "missing manifest":
        manifest_file.unlink()
    elif damage == "missing index":
        index_file.unlink()
    else:
        data = json.loads(manifest_file.read_text())
        manifest_file.write_text(json.dumps({**data, "count": data["count"] - 7}))

    index = _open(tmp_path, catalog)
    assert len(index.notices) == 1 and "rebuilt from the catalog" in index.notices[0]
    assert index.count == 400
    queries = np.random.default_rng(5).standard_normal((20, DIM)).astype(np.float32)
    assert recall_at_k(catalog, index, queries) >= 0.95
    index.close()
    assert _open(tmp_path, catalog).notices == []            # the rebuilt index was saved


def test_another_models_index_is_rebuilt_for_the_current_model(tmp_path, catalog):
    fill(catalog, 5, 10, fingerprint=FP)
    fill(catalog, 3, 10, seed=1, fingerprint="fp-b", prefix="b")
    _open(tmp_path, catalog).close()
    index = _open(tmp_path, catalog, fingerprint="fp-b")
    assert index.count == 30 and "another model" in index.notices[0]
    found, _ = index.search(np.ones(DIM), 100)
    assert set(found.ravel().tolist()) <= set(catalog.segment_ids(fingerprint="fp-b").tolist())
    index.close()


def test_trimmed_change_log_forces_a_rebuild(tmp_path, catalog):
    fill(catalog, 5, 10)
    _open(tmp_path, catalog).close()
    catalog.delete_file(catalog.file_by_path("/videos/f1.mp4").id)
    catalog.trim_changes(catalog.last_change_seq())
    index = _open(tmp_path, catalog)
    assert index.count == 40 and "change log" in index.notices[0]
    index.close()


def test_a_long_backlog_is_rebuilt_without_a_notice(tmp_path, catalog):
    from engine.vectors import HnswParams

    _open(tmp_path, catalog).close()
    fill(catalog, 30, 10)
    index = VectorIndex.open(tmp_path / "lib" / "vectors", DIM, FP, catalog, HnswParams(replay_limit=100))
    assert (index.count, index.notices, index.synced_through) == (300, [], catalog.last_change_seq())
    index.close()


def test_reindexing_one_file_again_and_again_keeps_the_index_small(tmp_path, catalog):
    fill(catalog, 4, 25)
    index = _open(tmp_path, catalog)
    row = catalog.file_by_path("/videos/f0.mp4")
    rng = np.random.default_rng(9)
    for _ in range(12):
        catalog.record_indexed(row.id, MediaInfo(3.0, 25.0, 64, 64), random_segments(rng, 25), FP)
        index.sync(catalog)
    assert index.count == 100 and index.element_count <= 125
    index.close()


def test_an_index_ahead_of_its_catalog_is_rebuilt(tmp_path, catalog):
    fill(catalog, 3, 10)
    vectors_dir = tmp_path / "lib" / "vectors"
    _open(tmp_path, catalog).close()
    from engine.catalog import Catalog

    replaced = Catalog.open(tmp_path / "other")               # e.g. the catalog was restored from an old copy
    try:
        index = VectorIndex.open(vectors_dir, DIM, FP, replaced)
        assert index.count == 0 and "ahead of the catalog" in index.notices[0]
        index.close()
    finally:
        replaced.close()
