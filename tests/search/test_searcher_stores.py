"""The searcher over each vector store: filters applied inside Milvus give the moments hnswlib gives."""
from __future__ import annotations

import numpy as np
import pytest

from engine.catalog import BulkFile, Catalog, MediaInfo, SegmentRecord
from engine.search import SearchFilters, Searcher
from engine.settings import Settings
from engine.vectors import open_vector_store

DIM = 16
FP = "ab" * 32
FOLDERS = ("/videos", "/archive")


def _segments(rng, n):
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return [SegmentRecord(start=2.0 * i, end=2.0 * i + 2, thumbnail=None, frame_count=1, vector=v,
                          clip_tokens=v[None, :], frame_tokens=v[None, :], frame_mask=np.ones(1, np.uint8))
            for i, v in enumerate(vectors)]


@pytest.fixture
def catalog(tmp_path):
    catalog = Catalog.open(tmp_path / "lib")
    rng = np.random.default_rng(0)
    for f, folder in enumerate(FOLDERS):
        row = catalog.add_folder(folder)
        catalog.bulk_add_indexed(row.id, [
            BulkFile(f"{folder}/clip{i}.mp4", 1, 1000.0 * i, None, MediaInfo(10.0 * i, 25.0, 64, 64), _segments(rng, 6))
            for i in range(f, 10, 2)], FP)
    yield catalog
    catalog.close()


@pytest.fixture
def searchers(catalog, milvus_uri, tmp_path):
    """(over hnswlib, over Milvus), stage 1 only (no model), 8 candidates deep."""
    settings = Settings(rerank_depth=8)
    stores = [open_vector_store(None, tmp_path / "lib", DIM, FP, catalog),
              open_vector_store(milvus_uri.uri, tmp_path / "lib", DIM, FP, catalog,
                                collection_prefix=milvus_uri.prefix)]
    yield [Searcher(catalog, store, None, settings) for store in stores]
    for store in stores:
        store.close(save=False)


def _spans(moments):
    return [(m.path, m.start, m.end) for m in moments]


def _agreeing_after_replay(searchers, catalog, filters, k: int, seed: int):
    """Once both stores replayed the catalog's log: for a few queries, (query, moments) where both give the same k."""
    for searcher in searchers:
        searcher.vectors.apply_changes(catalog)
    over_hnswlib, over_milvus = searchers
    for q in np.random.default_rng(seed).standard_normal((4, DIM)).astype(np.float32):
        want = over_hnswlib.search_vector(q, k, filters)
        got = over_milvus.search_vector(q, k, filters)
        assert len(want) == k and _spans(got) == _spans(want)
        yield q, got


@pytest.mark.parametrize("filters", [
    SearchFilters.make(folders=["/archive"]),
    SearchFilters.make(date_range=(2000.0, 6000.0)),
    SearchFilters.make(duration_range=(30.0, 90.0), folders=["/videos"]),
    SearchFilters.make(folders=["/nowhere"]),
], ids=["folder", "date", "duration and folder", "nothing"])
def test_filtered_search_gives_the_same_moments_over_both_stores(searchers, filters):
    over_hnswlib, over_milvus = searchers
    assert over_milvus.vectors.supports_filters and not over_hnswlib.vectors.supports_filters
    for q in np.random.default_rng(1).standard_normal((4, DIM)).astype(np.float32):
        want = over_hnswlib.search_vector(q, 2, filters)
        got = over_milvus.search_vector(q, 2, filters)
        assert _spans(got) == _spans(want)
        np.testing.assert_allclose([m.score for m in got], [m.score for m in want], atol=1e-5)
        assert all(filters.accepts(m) for m in got)


def test_excluded_segments_stay_out(searchers, catalog):
    _, over_milvus = searchers
    own = [s.id for s in catalog.segments_of_file(catalog.file_by_path("/videos/clip0.mp4").id)]
    vector = catalog.segment_vectors(own[:1], FP)[1][0]
    moments = over_milvus.search_vector(vector, 3, exclude=set(own))
    assert len(moments) == 3 and not {i for m in moments for i in m.segment_ids} & set(own)


def test_facts_the_store_has_not_caught_up_with_are_checked_against_the_catalog(searchers, catalog):
    """A file moved to another folder: until the store replays the move, the catalog's row decides."""
    _, over_milvus = searchers
    moved = catalog.file_by_path("/videos/clip2.mp4")
    catalog.move_file(moved.id, "/archive/clip2.mp4", catalog.folder_by_path("/archive").id, 2000.0)
    vector = catalog.segment_vectors([catalog.segments_of_file(moved.id)[0].id], FP)[1][0]
    moments = over_milvus.search_vector(vector, 5, SearchFilters.make(folders=["/videos"]))
    assert moments and all(m.folder == "/videos" and m.file_id != moved.id for m in moments)


def test_a_folder_added_over_others_is_searched_as_one_in_both_stores(searchers, catalog):
    """Library folders taken in by a wider one: once the stores replay the log, filtering by the wider folder
    finds what was in them, and over Milvus as over hnswlib."""
    catalog.add_folder_over("/", list(FOLDERS))
    for q, got in _agreeing_after_replay(searchers, catalog, SearchFilters.make(folders=["/"]), 5, seed=2):
        assert {m.folder for m in got} == {"/"}
        assert {m.path for m in searchers[0].search_vector(q, 5)} == {m.path for m in got}


def test_a_relocated_folder_is_searched_at_its_new_place_in_both_stores(searchers, catalog):
    """A folder whose drive is mounted elsewhere: Milvus keeps each segment's folder, so it is told to refresh."""
    catalog.relocate_folder("/archive", "/mnt/drive/archive")
    there = SearchFilters.make(folders=["/mnt/drive/archive"])
    for q, got in _agreeing_after_replay(searchers, catalog, there, 4, seed=4):
        assert {m.path.rsplit("/", 1)[0] for m in got} == {"/mnt/drive/archive"}
        assert not searchers[1].search_vector(q, 4, SearchFilters.make(folders=["/archive"]))


def test_a_folder_inside_a_library_folder_is_checked_on_the_rows_over_both_stores(searchers, catalog):
    videos = catalog.folder_by_path("/videos")
    for name in ("clip0", "clip4"):
        row = catalog.file_by_path(f"/videos/{name}.mp4")
        catalog.move_file(row.id, f"/videos/sub/{name}.mp4", videos.id, row.mtime)
    inside = SearchFilters.make(folders=["/videos"], under=["/videos/sub"])
    for _q, got in _agreeing_after_replay(searchers, catalog, inside, 3, seed=3):
        assert {m.path.rsplit("/", 1)[0] for m in got} == {"/videos/sub"}


def test_one_video_is_searched_alone_however_far_down_the_library_its_moments_rank(searchers, catalog):
    """A video asked for alone is searched by its own segments' ids: asking the store for ever more of the
    whole library (four rounds, up to 64 times the depth) would stop short of it here."""
    rng = np.random.default_rng(4)
    videos = catalog.folder_by_path("/videos")
    catalog.bulk_add_indexed(videos.id, [BulkFile("/videos/crowd.mp4", 1, 1.0, None, MediaInfo(9e3, 25.0, 64, 64),
                                                  _segments(rng, 1200))], FP)
    target = rng.standard_normal(DIM).astype(np.float32)
    away = [SegmentRecord(start=2.0 * i, end=2.0 * i + 2, thumbnail=None, frame_count=1, vector=target,
                          clip_tokens=target[None, :], frame_tokens=target[None, :], frame_mask=np.ones(1, np.uint8))
            for i in range(3)]
    catalog.bulk_add_indexed(videos.id, [BulkFile("/videos/trip/far [1]%.mp4", 1, 1.0, None,
                                                  MediaInfo(6.0, 25.0, 64, 64), away)], FP)
    for searcher in searchers:
        searcher.vectors.apply_changes(catalog)
    for place in ("/videos/trip/far [1]%.mp4", "/videos/trip"):
        only = SearchFilters.make(folders=["/videos"], under=[place])
        for searcher in searchers:
            moments = searcher.search_vector(-target, 1, only)          # the least like the query of all
            assert [m.path for m in moments] == ["/videos/trip/far [1]%.mp4"]
    assert catalog.segment_ids(under=["/videos/trip/far [1]"]).size == 0    # a path, not a prefix of names
    assert catalog.segment_ids(under=["/videos/trip/far _1]%.mp4"]).size == 0   # no wildcards
    assert catalog.segment_ids(under=["/videos/Trip"]).size == 0                  # nor another case


def test_a_video_asked_for_alone_keeps_the_date_and_length_filters(searchers, catalog):
    videos = catalog.folder_by_path("/videos")
    row = catalog.file_by_path("/videos/clip2.mp4")                      # dated 2000, 20 s long
    catalog.move_file(row.id, "/videos/sub/clip2.mp4", videos.id, row.mtime)
    for searcher in searchers:
        searcher.vectors.apply_changes(catalog)
    q = np.random.default_rng(5).standard_normal(DIM).astype(np.float32)
    for date_range, duration_range, found in (((1500.0, float("inf")), (-float("inf"), 25.0), True),
                                              ((2500.0, 9000.0), None, False), (None, (30.0, 90.0), False)):
        only = SearchFilters.make(folders=["/videos"], under=["/videos/sub"], date_range=date_range,
                                  duration_range=duration_range)
        for searcher in searchers:
            assert bool(searcher.search_vector(q, 3, only)) == found
