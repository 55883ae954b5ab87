"""Neighbouring segments merge into moments the same way however many results are asked for."""
from __future__ import annotations

import numpy as np
import pytest

from engine.catalog import BulkFile, Catalog, MediaInfo, SegmentRecord
from engine.search import Searcher
from engine.search.moments import merge_margin
from engine.settings import Settings
from engine.vectors import open_vector_store

DIM = 8
FP = "ef" * 32


@pytest.fixture
def searcher(tmp_path):
    """Stage 1 only (no model) over 12 files of 30 touching one-second segments whose vectors drift slowly, so
    neighbours look alike and merge."""
    catalog = Catalog.open(tmp_path / "lib")
    rng = np.random.default_rng(7)
    folder = catalog.add_folder("/videos")
    files = []
    for f in range(12):
        walk = np.cumsum(rng.standard_normal((30, DIM)) * 0.4, axis=0) + rng.standard_normal(DIM)
        vectors = (walk / np.linalg.norm(walk, axis=1, keepdims=True)).astype(np.float32)
        segments = [SegmentRecord(start=float(i), end=float(i + 1), thumbnail=None, frame_count=1, vector=v,
                                  clip_tokens=v[None, :], frame_tokens=v[None, :], frame_mask=np.ones(1, np.uint8))
                    for i, v in enumerate(vectors)]
        files.append(BulkFile(f"/videos/clip{f}.mp4", 1, 1000.0 + f, None, MediaInfo(30.0, 25.0, 64, 64), segments))
    catalog.bulk_add_indexed(folder.id, files, FP)
    store = open_vector_store(None, tmp_path / "lib", DIM, FP, catalog)
    yield Searcher(catalog, store, None, Settings(rerank_depth=20))
    store.close(save=False)
    catalog.close()


def test_the_margin_that_merges_neighbours_is_the_same_however_many_results_are_asked_for(searcher, monkeypatch):
    import engine.search.searcher as searcher_module

    margins: list[float] = []
    merge = searcher_module.merge_segments

    def merge_noting_the_margin(segments, margin=None):
        if margin is None:      # what merge_segments would work out from the candidates it is given
            margin = merge_margin(np.array([s.score for s in segments]))
        margins.append(margin)
        return merge(segments, margin)

    monkeypatch.setattr(searcher_module, "merge_segments", merge_noting_the_margin)
    rng = np.random.default_rng(3)
    merged = 0
    for _ in range(12):
        query = rng.standard_normal(DIM).astype(np.float32)
        margins.clear()
        first = searcher.search_vector(query, 10)
        merged += sum(m.end - m.start > 1.5 for m in first)
        for k in (60, 200):
            searcher.search_vector(query, k)
        # Asking for more reranks more candidates (depth 40, 240, 800 here), whose median would widen the
        # margin and lengthen the moments already shown, the window's first page among them.
        assert margins[0] > 0 and margins == [margins[0]] * 3
    assert merged > 10          # the case in question: moments of several segments
