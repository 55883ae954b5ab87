from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from engine.api.types import FileStatus
from engine.catalog import BulkFile, MediaInfo
from engine.errors import CatalogError, DimensionMismatch, LibraryError

from .conftest import MEDIA, D, K, T, make_segments


def _indexed_file(catalog, folder, name: str, n: int, seed: int = 0, fp: str = "fp-a"):
    row = catalog.upsert_pending(folder.id, f"{folder.path}/{name}", 100, 1.0, f"hash-{name}")
    ids = catalog.record_indexed(row.id, MEDIA, make_segments(n, seed), fp)
    return row, ids


def test_add_folder_is_idempotent_and_counts_files_by_status(catalog, folder):
    assert catalog.add_folder(folder.path).id == folder.id
    a, _ = _indexed_file(catalog, folder, "a.mp4", 2)
    b = catalog.upsert_pending(folder.id, f"{folder.path}/b.mp4", 5, 2.0, "hb")
    c = catalog.upsert_pending(folder.id, f"{folder.path}/c.mp4", 5, 2.0, "hc")
    catalog.mark_failed(b.id, "decoder crashed")
    catalog.mark_skipped(c.id, "no video stream")
    catalog.upsert_pending(folder.id, f"{folder.path}/d.mp4", 5, 2.0, "hd")
    [row] = catalog.folders()
    assert (row.path, row.indexed, row.pending, row.failed, row.skipped) == (folder.path, 1, 1, 1, 1)
    assert [f.path for f in catalog.files(status=FileStatus.FAILED)] == [f"{folder.path}/b.mp4"]
    assert catalog.file_by_id(b.id).error == "decoder crashed"
    assert catalog.file_by_id(c.id).error == "no video stream"


def test_remove_folder_returns_segment_ids_and_logs_deletions(catalog, folder, tmp_path):
    other = catalog.add_folder(tmp_path / "other")
    _, ids_a = _indexed_file(catalog, folder, "a.mp4", 3)
    _, ids_b = _indexed_file(catalog, folder, "b.mp4", 2, seed=1)
    _, kept = _indexed_file(catalog, other, "c.mp4", 2, seed=2)
    seq = catalog.last_change_seq()
    removed = catalog.remove_folder(folder.path)
    assert sorted(removed) == sorted(ids_a + ids_b)
    assert sorted(c.segment_id for c in catalog.changes_since(seq) if c.op == "del") == sorted(removed)
    assert [f.path for f in catalog.folder_rows()] == [other.path]
    assert catalog.files(folder=folder.path) == []
    assert [s.id for s in catalog.segments(kept + removed)] == kept
    with pytest.raises(LibraryError, match="not a folder of this library"):
        catalog.remove_folder(folder.path)


def test_record_indexed_replaces_segments_and_logs_changes(catalog, folder):
    row, first = _indexed_file(catalog, folder, "a.mp4", 3)
    assert [c.op for c in catalog.changes_since(0)] == ["add"] * 3
    seq = catalog.last_change_seq()
    second = catalog.record_indexed(row.id, MEDIA, make_segments(2, seed=5), "fp-a")
    assert min(second) > max(first)                          # ids are never reused
    changes = catalog.changes_since(seq)
    assert [(c.segment_id, c.op) for c in changes] == [(i, "del") for i in first] + [(i, "add") for i in second]
    f = catalog.file_by_id(row.id)
    assert (f.status, f.duration, f.fps, f.width, f.height, f.rotation, f.model_fingerprint) == \
        ("indexed", 12.5, 25.0, 640, 360, 90, "fp-a")
    assert f.indexed_at is not None and f.error is None
    assert [s.id for s in catalog.segments_of_file(row.id)] == second


def test_segments_are_joined_with_file_and_folder_in_requested_order(catalog, folder):
    row, ids = _indexed_file(catalog, folder, "a.mp4", 3)
    rows = catalog.segments([ids[2], 999_999, ids[0]])
    assert [r.id for r in rows] == [ids[2], ids[0]]
    assert (rows[0].start, rows[0].end, rows[0].path, rows[0].folder, rows[0].file_date, rows[0].duration) == \
        (2.0, 3.0, row.path, folder.path, 1.0, 12.5)
    assert rows[0].thumbnail == "/thumbs/0_2.jpg" and rows[0].fingerprint == "fp-a" and rows[0].frame_count == T


def test_segment_embeddings_round_trip_in_order(catalog, folder):
    segs = make_segments(3, seed=7)
    row = catalog.upsert_pending(folder.id, f"{folder.path}/a.mp4", 1, 1.0, "h")
    ids = catalog.record_indexed(row.id, MEDIA, segs, "fp-a")
    got = catalog.segment_embeddings([ids[2], 123456, ids[0]])
    assert got.ids.tolist() == [ids[2], ids[0]]
    assert got.vectors.dtype == np.float32 and got.vectors.shape == (2, D)
    assert got.clip_tokens.shape == (2, K, D) and got.frame_tokens.shape == (2, T, D)
    assert got.frame_mask.shape == (2, T) and got.frame_mask.dtype == np.float32
    np.testing.assert_array_equal(got.vectors[0], segs[2].vector)
    np.testing.assert_allclose(got.clip_tokens[1], segs[0].clip_tokens, rtol=1e-3, atol=1e-3)   # float16 storage
    np.testing.assert_allclose(got.frame_tokens[0], segs[2].frame_tokens, rtol=1e-3, atol=1e-3)


def test_segment_embeddings_pad_shorter_frame_tokens_with_mask_zero(catalog, folder):
    row = catalog.upsert_pending(folder.id, f"{folder.path}/a.mp4", 1, 1.0, "h")
    ids = catalog.record_indexed(row.id, MEDIA, make_segments(1, seed=1, t=2) + make_segments(1, seed=2, t=4),
                                 "fp-a")
    got = catalog.segment_embeddings(ids)
    assert got.frame_tokens.shape == (2, 4, D)
    assert got.frame_mask.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1]]
    assert not got.frame_tokens[0, 2:].any()


def test_wrong_shapes_are_refused_before_anything_is_written(catalog, folder):
    row = catalog.upsert_pending(folder.id, f"{folder.path}/a.mp4", 1, 1.0, "h")
    bad = make_segments(2)
    bad[1] = bad[1].__class__(**{**bad[1].__dict__, "clip_tokens": np.zeros((K, D + 1), np.float32)})
    with pytest.raises(DimensionMismatch, match="clip_tokens"):
        catalog.record_indexed(row.id, MEDIA, bad, "fp-a")
    assert catalog.live_segment_count() == 0 and catalog.file_by_id(row.id).status == "pending"


def test_upsert_pending_failures_and_retry(catalog, folder):
    row = catalog.upsert_pending(folder.id, f"{folder.path}/a.mp4", 10, 1.0, "h1")
    assert (row.status, row.attempts) == ("pending", 0)
    catalog.mark_failed(row.id, "boom")
    catalog.mark_failed(row.id, "boom again")
    assert catalog.file_by_id(row.id).attempts == 2
    same = catalog.upsert_pending(folder.id, row.path, 10, 1.0, "h1")   # unchanged content keeps the count
    assert (same.id, same.status, same.error, same.attempts) == (row.id, "pending", None, 2)
    changed = catalog.upsert_pending(folder.id, row.path, 11, 2.0, "h2")
    assert (changed.id, changed.attempts, changed.content_hash) == (row.id, 0, "h2")
    catalog.mark_failed(row.id, "boom")
    assert catalog.reset_to_pending([row.id]) == 1
    again = catalog.file_by_id(row.id)
    assert (again.status, again.error, again.attempts) == ("pending", None, 0)
    with pytest.raises(CatalogError, match="not in the catalog"):
        catalog.mark_failed(424242, "x")


def test_move_file_keeps_segments_and_embeddings(catalog, folder, tmp_path):
    row, ids = _indexed_file(catalog, folder, "a.mp4", 2)
    elsewhere = catalog.add_folder(tmp_path / "elsewhere")
    seq = catalog.last_change_seq()
    assert catalog.move_file(row.id, f"{elsewhere.path}/renamed.mp4", elsewhere.id, 5.0) == []
    moved = catalog.file_by_id(row.id)
    assert (moved.path, moved.folder_id, moved.mtime, moved.status) == \
        (f"{elsewhere.path}/renamed.mp4", elsewhere.id, 5.0, "indexed")
    assert [s.path for s in catalog.segments(ids)] == [moved.path] * 2
    # Vector stores keeping folder and date beside each vector refresh them: an add, never a delete.
    assert [(c.segment_id, c.op) for c in catalog.changes_since(seq)] == [(i, "add") for i in ids]
    assert catalog.files_by_hash("hash-a.mp4")[0].id == row.id
    seq = catalog.last_change_seq()
    catalog.touch_file(row.id, 9.0)
    assert catalog.file_by_id(row.id).mtime == 9.0
    assert [(c.segment_id, c.op) for c in catalog.changes_since(seq)] == [(i, "add") for i in ids]
    seq = catalog.last_change_seq()
    catalog.touch_file(row.id, 9.0)                          # nothing changed: nothing to refresh
    catalog.upsert_pending(folder.id, f"{folder.path}/unindexed.mp4", 1, 1.0, None)
    assert catalog.changes_since(seq) == []


def test_a_pending_copy_of_an_indexed_file_takes_its_moments(catalog, folder, tmp_path):
    original, original_ids = _indexed_file(catalog, folder, "a.mp4", 3, seed=4)
    backup = catalog.add_folder(tmp_path / "backup")
    copy = catalog.upsert_pending(backup.id, f"{backup.path}/a.mp4", 100, 7.0, "hash-a.mp4")
    resized = catalog.upsert_pending(backup.id, f"{backup.path}/a-resized.mp4", 101, 7.0, "hash-a.mp4")
    other = catalog.upsert_pending(backup.id, f"{backup.path}/b.mp4", 100, 7.0, "hash-b.mp4")
    assert catalog.pending_twins("fp-a") == [copy.id]     # same hash and size, indexed by this model
    assert catalog.pending_twins("fp-b") == []
    assert catalog.copy_from_twin(copy.id, "fp-b") is None    # indexed by another model: decoded again
    assert catalog.copy_from_twin(resized.id, "fp-a") is None
    assert catalog.copy_from_twin(other.id, "fp-a") is None

    seq = catalog.last_change_seq()
    ids = catalog.copy_from_twin(copy.id, "fp-a")
    assert len(ids) == 3 and min(ids) > max(original_ids)
    assert [(c.segment_id, c.op) for c in catalog.changes_since(seq)] == [(i, "add") for i in ids]
    copied = catalog.file_by_id(copy.id)
    assert (copied.status, copied.model_fingerprint, copied.mtime, copied.claimed_by) == ("indexed", "fp-a", 7.0, None)
    assert (copied.duration, copied.fps, copied.width, copied.height, copied.rotation) == (12.5, 25.0, 640, 360, 90)
    rows, originals = catalog.segments(ids), catalog.segments(original_ids)
    assert [r.path for r in rows] == [copied.path] * 3
    assert [(r.start, r.end, r.thumbnail) for r in rows] == [(r.start, r.end, r.thumbnail) for r in originals]
    mine, theirs = catalog.segment_embeddings(ids), catalog.segment_embeddings(original_ids)
    for a, b in [(mine.vectors, theirs.vectors), (mine.clip_tokens, theirs.clip_tokens),
                 (mine.frame_tokens, theirs.frame_tokens), (mine.frame_mask, theirs.frame_mask)]:
        np.testing.assert_array_equal(a, b)
    assert catalog.copy_from_twin(copy.id, "fp-a") is None    # indexed now: nothing more to do
    assert catalog.pending_twins("fp-a") == []


def test_a_copy_claimed_by_another_indexer_is_left_to_it(catalog, folder, tmp_path):
    _indexed_file(catalog, folder, "a.mp4", 2)
    backup = catalog.add_folder(tmp_path / "backup")
    copy = catalog.upsert_pending(backup.id, f"{backup.path}/a.mp4", 100, 7.0, "hash-a.mp4")
    [claimed] = catalog.claim_pending("host:1:other", 1, 120.0)
    assert claimed.id == copy.id
    assert catalog.copy_from_twin(copy.id, "fp-a", owner="host:2:mine") is None
    assert catalog.file_by_id(copy.id).status == "pending"
    assert len(catalog.copy_from_twin(copy.id, "fp-a", owner="host:1:other")) == 2


def test_a_folder_added_over_library_folders_takes_their_files_with_their_segments(catalog, tmp_path):
    holidays = catalog.add_folder(tmp_path / "videos" / "holidays")
    work = catalog.add_folder(tmp_path / "videos" / "work")
    beside = catalog.add_folder(tmp_path / "music videos")
    a, ids_a = _indexed_file(catalog, holidays, "a.mp4", 2)
    b = catalog.upsert_pending(work.id, f"{work.path}/b.mp4", 5, 2.0, "hb")
    catalog.mark_failed(b.id, "decoder crashed")
    _, ids_c = _indexed_file(catalog, beside, "c.mp4", 1, seed=1)
    seq = catalog.last_change_seq()
    videos = catalog.add_folder_over(tmp_path / "videos", [holidays.path, work.path])
    assert [f.path for f in catalog.folder_rows()] == sorted([beside.path, videos.path])
    [row] = [f for f in catalog.folders() if f.id == videos.id]
    assert (row.indexed, row.failed, row.pending) == (1, 1, 0)         # the same files, in their states
    assert catalog.file_by_id(a.id).folder_id == videos.id and catalog.file_by_id(b.id).error == "decoder crashed"
    assert {s.folder for s in catalog.segments(ids_a)} == {videos.path}
    assert [s.folder for s in catalog.segments(ids_c)] == [beside.path]
    assert [(c.segment_id, c.op) for c in catalog.changes_since(seq)] == [(i, "add") for i in ids_a]
    with pytest.raises(LibraryError, match="is a folder of this library"):
        catalog.add_folder_over(tmp_path / "all", [videos.path, str(tmp_path / "never added")])
    assert catalog.folder_by_path(tmp_path / "all") is None                     # nothing was written


def test_segment_ids_under_a_folder_or_file_match_whole_names_in_their_case(catalog, folder):
    ids = {name: _indexed_file(catalog, folder, name, 2, seed=i)[1]
           for i, name in enumerate(["trip/a.mp4", "trip/b_%.mp4", "trip 2/c.mp4", "Trip/d.mp4", "e.mp4"])}
    def under(*places):
        return sorted(catalog.segment_ids(under=[f"{folder.path}/{p}" for p in places]).tolist())
    assert under("trip") == sorted(ids["trip/a.mp4"] + ids["trip/b_%.mp4"])
    assert under("trip/b_%.mp4") == sorted(ids["trip/b_%.mp4"])
    assert under("trip/b__.mp4", "tri") == []
    assert under("Trip", "e.mp4") == sorted(ids["Trip/d.mp4"] + ids["e.mp4"])
    assert len(catalog.segment_ids(under=[folder.path], limit=3)) == 3


def test_move_onto_a_stale_row_removes_the_stale_row(catalog, folder):
    a, ids_a = _indexed_file(catalog, folder, "a.mp4", 2)
    b, ids_b = _indexed_file(catalog, folder, "b.mp4", 1, seed=3)
    assert catalog.move_file(a.id, b.path, folder.id, 3.0) == ids_b
    assert catalog.file_by_path(b.path).id == a.id
    assert [s.id for s in catalog.segments(ids_a + ids_b)] == ids_a


def test_delete_file_returns_ids_and_cascades_embeddings(catalog, folder):
    row, ids = _indexed_file(catalog, folder, "a.mp4", 3)
    assert catalog.delete_file(row.id) == ids
    assert catalog.file_by_id(row.id) is None
    assert catalog.segment_embeddings(ids).ids.size == 0
    assert catalog.integrity_check() == "ok"


def test_iter_vectors_pages_by_fingerprint(catalog, folder):
    _, a = _indexed_file(catalog, folder, "a.mp4", 5, fp="fp-a")
    _, b = _indexed_file(catalog, folder, "b.mp4", 2, seed=1, fp="fp-b")
    pages = list(catalog.iter_vectors("fp-a", batch=2))
    assert [len(ids) for ids, _ in pages] == [2, 2, 1]
    assert np.concatenate([ids for ids, _ in pages]).tolist() == a
    assert all(v.shape[1] == D and v.dtype == np.float32 for _, v in pages)
    got_ids, vectors = catalog.segment_vectors(a + b, "fp-b")
    assert got_ids.tolist() == b and vectors.shape == (2, D)
    assert catalog.live_segment_count("fp-a") == 5 and catalog.live_segment_count() == 7
    assert catalog.fingerprints_in_use() == {"fp-a": 5, "fp-b": 2}


def test_purge_fingerprint_sends_files_back_to_pending(catalog, folder):
    a, ids_a = _indexed_file(catalog, folder, "a.mp4", 3, fp="old")
    b, ids_b = _indexed_file(catalog, folder, "b.mp4", 2, seed=1, fp="new")
    seq = catalog.last_change_seq()
    assert sorted(catalog.purge_fingerprint("old")) == ids_a
    assert [c.segment_id for c in catalog.changes_since(seq)] == ids_a
    assert catalog.file_by_id(a.id).status == "pending" and catalog.file_by_id(a.id).model_fingerprint is None
    assert catalog.file_by_id(b.id).status == "indexed"
    assert catalog.fingerprints_in_use() == {"new": 2}


def test_stats_meta_and_segment_filters(catalog, folder, tmp_path):
    _indexed_file(catalog, folder, "a.mp4", 3)
    other = catalog.add_folder(tmp_path / "other")
    _, ids_other = _indexed_file(catalog, other, "b.mp4", 2, seed=1)
    catalog.upsert_pending(folder.id, f"{folder.path}/c.mp4", 1, 1.0, None)
    stats = catalog.stats()
    assert stats.files == {"pending": 1, "indexed": 2, "skipped": 0, "failed": 0}
    assert (stats.segments, stats.seconds_indexed) == (5, 25.0)
    assert catalog.segment_ids(folder=other.path).tolist() == ids_other
    assert catalog.segment_ids(min_duration=13.0).size == 0
    assert catalog.get_meta("missing", "dflt") == "dflt"
    catalog.set_meta("model", "tiny")
    catalog.set_meta("model", "base")
    assert catalog.get_meta("model") == "base"


def test_change_log_trim_keeps_sequence(catalog, folder):
    _indexed_file(catalog, folder, "a.mp4", 4)
    assert catalog.trim_changes(4) == 4
    assert catalog.changes_since(0) == [] and catalog.last_change_seq() == 4
    assert catalog.changes_trimmed_through() == 4
    _indexed_file(catalog, folder, "b.mp4", 1, seed=2)
    assert [c.seq for c in catalog.changes_since(0)] == [5]


def test_bulk_add_indexed(catalog, folder):
    files = [BulkFile(f"{folder.path}/{i}.mp4", 10, 1.0, f"h{i}", MediaInfo(4.0, 30.0, 320, 240),
                      make_segments(4, seed=i)) for i in range(20)]
    ids = catalog.bulk_add_indexed(folder.id, files, "fp-a")
    assert len(ids) == 80 and ids == sorted(set(ids))
    assert [c.op for c in catalog.changes_since(0)] == ["add"] * 80
    assert catalog.stats().files["indexed"] == 20
    np.testing.assert_array_equal(catalog.segment_embeddings([ids[-1]]).vectors[0], files[-1].segments[-1].vector)
    with pytest.raises(CatalogError, match="already in the catalog"):
        catalog.bulk_add_indexed(folder.id, files[:1], "fp-a")
    assert catalog.live_segment_count() == 80


def test_threads_write_and_read_concurrently(catalog, folder):
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for i in range(8):
                row = catalog.upsert_pending(folder.id, f"{folder.path}/{worker}_{i}.mp4", 1, 1.0, None)
                catalog.record_indexed(row.id, MEDIA, make_segments(2, seed=i), "fp-a")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(30):
                catalog.folders()
                catalog.segment_embeddings(catalog.segment_ids()[:10])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert catalog.stats().files["indexed"] == 24 and catalog.live_segment_count() == 48
    assert len(catalog.changes_since(0)) == 48


def test_closed_catalog_refuses_calls(open_catalog):
    cat = open_catalog()
    cat.close()
    with pytest.raises(CatalogError, match="closed"):
        cat.folders()


def test_cascading_deletes_are_logged_too(catalog, folder):
    _, ids = _indexed_file(catalog, folder, "a.mp4", 3)
    seq = catalog.last_change_seq()
    with catalog.tx() as s:                                   # a raw delete relying on ON DELETE CASCADE
        s.connection().exec_driver_sql("DELETE FROM folders")
    assert [(c.segment_id, c.op) for c in catalog.changes_since(seq)] == [(i, "del") for i in ids]
    assert catalog.segment_embeddings(ids).ids.size == 0


def test_a_relocated_folder_keeps_its_files_and_segments_at_the_new_path(catalog, tmp_path):
    old = catalog.add_folder(tmp_path / "videos")
    beside = catalog.add_folder(tmp_path / "videos 2")
    a, ids_a = _indexed_file(catalog, old, "a.mp4", 2)
    b = catalog.upsert_pending(old.id, f"{old.path}/trips/b.mp4", 5, 2.0, "hb")
    _, ids_c = _indexed_file(catalog, beside, "c.mp4", 1, seed=1)
    seq = catalog.last_change_seq()
    moved = catalog.relocate_folder(old.path, tmp_path / "drive" / "videos")
    assert moved.id == old.id and moved.path == str(tmp_path / "drive" / "videos")
    assert [f.path for f in catalog.folder_rows()] == sorted([beside.path, moved.path])
    assert catalog.file_by_id(a.id).path == f"{moved.path}/a.mp4"
    assert catalog.file_by_id(b.id).path == f"{moved.path}/trips/b.mp4" and catalog.file_by_id(b.id).size == 5
    assert [s.id for s in catalog.segments_of_file(a.id)] == ids_a
    assert {s.folder for s in catalog.segments(ids_a)} == {moved.path}
    assert [s.folder for s in catalog.segments(ids_c)] == [beside.path]
    # a vector store keeping each segment's folder (Milvus) is told to refresh them
    assert [(c.segment_id, c.op) for c in catalog.changes_since(seq)] == [(i, "add") for i in ids_a]
    with pytest.raises(LibraryError, match="not a folder of this library"):
        catalog.relocate_folder(old.path, tmp_path / "elsewhere")


@pytest.mark.parametrize("old, new", [("/", "/mnt/usb"), ("/media/cam", "/")])
def test_a_drive_s_root_folder_is_relocated_and_relocated_to(catalog, old, new):
    """A whole drive added as a library folder, then mounted elsewhere (on Windows: another drive letter)."""
    folder = catalog.add_folder(old)
    names = ["a.mp4", os.path.join("trips", "b.mp4")]
    rows = [catalog.upsert_pending(folder.id, os.path.join(old, name), 5, 2.0, name) for name in names]
    catalog.relocate_folder(old, new)
    assert [catalog.file_by_id(row.id).path for row in rows] == [os.path.join(new, name) for name in names]
