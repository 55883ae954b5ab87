"""How many results one search may ask for: at least one, at most MAX_RESULTS, whatever the library holds."""
from __future__ import annotations

import numpy as np
import pytest

from engine.catalog import BulkFile, Catalog, MediaInfo, SegmentRecord
from engine.errors import QueryError
from engine.search import Searcher
from engine.settings import MAX_RESULTS, Settings
from engine.vectors import open_vector_store

DIM = 8
FP = "cd" * 32


@pytest.fixture
def searcher(tmp_path):
    """Stage 1 only (no model) over 40 files of 30 one-second segments: 1200 segments, more than MAX_RESULTS."""
    catalog = Catalog.open(tmp_path / "lib")
    rng = np.random.default_rng(1)
    folder = catalog.add_folder("/videos")
    files = []
    for f in range(40):
        vectors = rng.standard_normal((30, DIM)).astype(np.float32)
        segments = [SegmentRecord(start=2.0 * i, end=2.0 * i + 1, thumbnail=None, frame_count=1, vector=v,
                                  clip_tokens=v[None, :], frame_tokens=v[None, :], frame_mask=np.ones(1, np.uint8))
                    for i, v in enumerate(vectors)]
        files.append(BulkFile(f"/videos/clip{f}.mp4", 1, 1000.0 + f, None, MediaInfo(60.0, 25.0, 64, 64), segments))
    catalog.bulk_add_indexed(folder.id, files, FP)
    store = open_vector_store(None, tmp_path / "lib", DIM, FP, catalog)
    yield Searcher(catalog, store, None, Settings(rerank_depth=8))
    store.close(save=False)
    catalog.close()


def test_the_deepest_search_allowed_gives_that_many_moments(searcher):
    assert MAX_RESULTS < 1200
    moments = searcher.search_vector(np.ones(DIM, np.float32), MAX_RESULTS)
    assert len(moments) == MAX_RESULTS
    assert [m.score for m in moments] == sorted((m.score for m in moments), reverse=True)


@pytest.mark.parametrize("k, message", [(0, "ask for at least one result, not 0"),
                                        (MAX_RESULTS + 1, f"ask for at most {MAX_RESULTS} results, not {MAX_RESULTS + 1}")])
def test_a_count_outside_the_limits_is_refused_before_the_store_is_asked(searcher, monkeypatch, k, message):
    monkeypatch.setattr(searcher.vectors, "search", lambda *a, **kw: pytest.fail("the store was asked"))
    with pytest.raises(QueryError) as refused:
        searcher.search_vector(np.ones(DIM, np.float32), k)
    assert str(refused.value) == message
