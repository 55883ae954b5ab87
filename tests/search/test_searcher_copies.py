"""Copies of one video (same content hash and size: a backup folder, a second download) show each place once."""
from __future__ import annotations

import numpy as np
import pytest

from engine.catalog import BulkFile, Catalog, MediaInfo, SegmentRecord
from engine.search import SearchFilters, Searcher
from engine.settings import Settings
from engine.vectors import open_vector_store

DIM = 16
FP = "ab" * 32


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def _file(path: str, vectors: np.ndarray, content_hash: str | None, size: int) -> BulkFile:
    # Three seconds apart, so no two segments touch and each is a moment of its own.
    segments = [SegmentRecord(start=3.0 * i, end=3.0 * i + 2, thumbnail=None, frame_count=1, vector=v,
                              clip_tokens=v[None, :], frame_tokens=v[None, :], frame_mask=np.ones(1, np.uint8))
                for i, v in enumerate(vectors)]
    return BulkFile(path, size, 1000.0, content_hash, MediaInfo(3.0 * len(vectors), 25.0, 64, 64), segments)


@pytest.fixture
def library(tmp_path):
    """videos/walk.mp4 and its copy backup/walk.mp4 (segments nearest the query, best first), a file of the
    same hash but another size, and ten other videos further away."""
    rng = np.random.default_rng(3)
    query = _unit(rng.standard_normal(DIM))
    walk = _unit(query + np.array([0.02, 0.04, 0.06])[:, None] * rng.standard_normal((3, DIM)))
    walk = walk[np.argsort(-(walk @ query))]
    others = [_unit(query + 1.0 * rng.standard_normal((3, DIM))) for _ in range(10)]
    for folder in ("videos", "backup"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "walk.mp4").write_bytes(b"")     # the copies' files: one is unplugged in a test
    catalog = Catalog.open(tmp_path / "lib")
    videos, backup = catalog.add_folder(tmp_path / "videos"), catalog.add_folder(tmp_path / "backup")
    catalog.bulk_add_indexed(videos.id, [_file(f"{tmp_path}/videos/walk.mp4", walk, "h-walk", 500)]
                             + [_file(f"{tmp_path}/videos/other{i}.mp4", v, f"h-{i}", 100 + i)
                                for i, v in enumerate(others)], FP)
    catalog.bulk_add_indexed(backup.id, [_file(f"{tmp_path}/backup/walk.mp4", walk, "h-walk", 500),
                                         _file(f"{tmp_path}/backup/walk-cut.mp4", walk, "h-walk", 499)], FP)
    store = open_vector_store(None, tmp_path / "lib", DIM, FP, catalog)
    yield catalog, Searcher(catalog, store, None, Settings(rerank_depth=40)), query, tmp_path
    store.close(save=False)
    catalog.close()


def _places(moments):
    return [(m.path, m.start) for m in moments]


def test_a_place_in_a_copied_video_is_shown_once(library):
    _, searcher, query, root = library
    moments = searcher.search_vector(query, 9)
    walk = [(m.path, m.start) for m in moments if m.path.endswith("/walk.mp4")]
    assert sorted(start for _, start in walk) == [0.0, 3.0, 6.0]
    # The file of the same hash but another size is another video: its places are all there too.
    assert sorted(m.start for m in moments if m.path == f"{root}/backup/walk-cut.mp4") == [0.0, 3.0, 6.0]
    assert len(set(_places(moments))) == len(moments)


def test_the_copy_in_a_folder_that_can_be_reached_is_the_one_shown(library):
    _, searcher, query, root = library
    # Copies score the same, so whichever the store puts first, one of the two turns has to pick the other.
    for gone, reached in (("videos", "backup"), ("backup", "videos")):
        (root / gone).rename(root / "unplugged")
        shown = {m.path for m in searcher.search_vector(query, 9) if m.path.endswith("/walk.mp4")}
        assert shown == {f"{root}/{reached}/walk.mp4"}
        (root / "unplugged").rename(root / gone)


def test_one_moment_per_video_counts_copies_as_one_video(library):
    _, searcher, query, root = library
    moments = searcher.search_vector(query, 5, per_video=True)
    assert len(moments) == 5
    assert sum(m.path.endswith("/walk.mp4") for m in moments) == 1
    assert f"{root}/backup/walk-cut.mp4" in {m.path for m in moments}


def test_moments_like_one_leave_out_the_same_place_in_its_copies(library):
    catalog, searcher, query, root = library
    walk = catalog.file_by_path(f"{root}/videos/walk.mp4")
    first = next(r for r in catalog.segments_of_file(walk.id) if r.start == 0)
    places = _places(searcher.search_vector(query, 9, exclude={first.id}))
    assert (f"{root}/backup/walk.mp4", 0.0) not in places
    assert (f"{root}/videos/walk.mp4", 0.0) not in places
    assert (f"{root}/backup/walk-cut.mp4", 0.0) in places


def test_a_copy_searched_alone_is_shown(library):
    _, searcher, query, root = library
    moments = searcher.search_vector(query, 3, SearchFilters.make(under=[root / "backup"]))
    assert {m.path for m in moments} <= {f"{root}/backup/walk.mp4", f"{root}/backup/walk-cut.mp4"}
    assert f"{root}/backup/walk.mp4" in {m.path for m in moments}


@pytest.mark.parametrize("store", ["hnswlib", "milvus"])
def test_a_library_of_many_copies_still_fills_the_page(tmp_path, request, store):
    """Six copies of each video: the nearest candidates hold each place six times, and the store is asked for
    more until they hold as many places as a search without copies would rerank (Milvus, which applies the
    filters itself, too)."""
    rng = np.random.default_rng(5)
    query = _unit(rng.standard_normal(DIM))
    catalog = Catalog.open(tmp_path / "lib")
    for copy in range(6):
        folder = catalog.add_folder(f"/drive{copy}")
        catalog.bulk_add_indexed(folder.id, [
            _file(f"/drive{copy}/video{v}.mp4", _unit(query + 0.8 * np.random.default_rng(100 + v).standard_normal((3, DIM))),
                  f"h-{v}", 1000 + v) for v in range(12)], FP)
    if store == "milvus":
        milvus = request.getfixturevalue("milvus_uri")
        store = open_vector_store(milvus.uri, tmp_path / "lib", DIM, FP, catalog, collection_prefix=milvus.prefix)
        store.apply_changes(catalog)
    else:
        store = open_vector_store(None, tmp_path / "lib", DIM, FP, catalog)
    try:
        searcher = Searcher(catalog, store, None, Settings(rerank_depth=8))
        moments = searcher.search_vector(query, 8)
        assert len(moments) == 8
        places = {(m.path.split("/")[-1], m.start) for m in moments}
        assert len(places) == 8
        assert len(searcher.search_vector(query, 8, per_video=True)) == 8
    finally:
        store.close(save=False)
        catalog.close()
