"""One moment per video: the k best videos, each with its best moment, over both vector stores."""
from __future__ import annotations

import numpy as np
import pytest

from engine.catalog import BulkFile, Catalog, MediaInfo, SegmentRecord
from engine.search import SearchFilters, Searcher
from engine.settings import Settings
from engine.vectors import open_vector_store

DIM = 16
FP = "ef" * 32
CROWD = 600        # segments of one long video, every one nearer the query than any other video's


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def _segments(vectors):
    # Three seconds apart, so no two segments touch and each is a moment of its own.
    return [SegmentRecord(start=3.0 * i, end=3.0 * i + 2, thumbnail=None, frame_count=1, vector=v,
                          clip_tokens=v[None, :], frame_tokens=v[None, :], frame_mask=np.ones(1, np.uint8))
            for i, v in enumerate(vectors)]


@pytest.fixture
def library(tmp_path):
    """A query, and the best cosine score of each video: a long one whose every segment beats the 30 others'."""
    rng = np.random.default_rng(7)
    query = _unit(rng.standard_normal(DIM))
    catalog = Catalog.open(tmp_path / "lib")
    folder = catalog.add_folder("/videos")
    crowd = _unit(query + 0.2 * rng.standard_normal((CROWD, DIM)))
    files = [BulkFile("/videos/long.mp4", 1, 1.0, None, MediaInfo(3.0 * CROWD, 25.0, 64, 64), _segments(crowd))]
    best = {"/videos/long.mp4": float((crowd @ query).max())}
    floor = float((crowd @ query).min())
    for f in range(30):
        vectors = _unit(rng.standard_normal((5, DIM)))
        vectors = vectors[vectors @ query < floor - 0.01]
        path = f"/videos/clip{f:02d}.mp4"
        files.append(BulkFile(path, 1, 2.0 + f, None, MediaInfo(15.0, 25.0, 64, 64), _segments(vectors)))
        if len(vectors):
            best[path] = float((vectors @ query).max())
    catalog.bulk_add_indexed(folder.id, files, FP)
    yield catalog, query, best
    catalog.close()


@pytest.fixture
def searchers(library, milvus_uri, tmp_path):
    """(over hnswlib, over Milvus), stage 1 only (no model), 8 candidates deep."""
    catalog = library[0]
    stores = [open_vector_store(None, tmp_path / "lib", DIM, FP, catalog),
              open_vector_store(milvus_uri.uri, tmp_path / "lib", DIM, FP, catalog,
                                collection_prefix=milvus_uri.prefix)]
    yield [Searcher(catalog, store, None, Settings(rerank_depth=8)) for store in stores]
    for store in stores:
        store.close(save=False)


def test_the_best_moments_can_all_come_from_one_video(searchers, library):
    _, query, _ = library
    for searcher in searchers:
        assert {m.path for m in searcher.search_vector(query, 10)} == {"/videos/long.mp4"}


def test_one_moment_per_video_gives_the_best_videos_in_order(searchers, library):
    _, query, best = library
    expected = sorted(best, key=lambda p: -best[p])[:10]
    for searcher in searchers:
        moments = searcher.search_vector(query, 10, per_video=True)
        assert [m.path for m in moments] == expected
        assert [m.score for m in moments] == pytest.approx([best[p] for p in expected], abs=1e-4)


def test_asked_for_more_videos_than_there_are_it_gives_each_once(searchers, library):
    _, query, best = library
    for searcher in searchers:
        moments = searcher.search_vector(query, 60, per_video=True)
        assert sorted(m.path for m in moments) == sorted(best)


def test_one_moment_per_video_keeps_the_filters(searchers, library):
    catalog, query, best = library
    dated = SearchFilters.make(date_range=(10.0, 20.0))       # clip08 to clip18, not the long video
    expected = [p for p in sorted(best, key=lambda p: -best[p])
                if p != "/videos/long.mp4" and 10.0 <= 2.0 + int(p[-6:-4]) <= 20.0][:5]
    for searcher in searchers:
        assert [m.path for m in searcher.search_vector(query, 5, dated, per_video=True)] == expected
