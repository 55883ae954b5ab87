"""Neighbouring segments merge into moments the same way however many results are asked for."""
from __future__ import annotations

import numpy as np
import pytest

from engine.search.moments import merge_margin
from tests.search.stage1_library import stage1_searcher

DIM = 8


@pytest.fixture
def searcher(tmp_path):
    """12 files of 30 touching one-second segments whose vectors drift slowly, so neighbours look alike and merge."""
    rng = np.random.default_rng(7)
    files = []
    for _ in range(12):
        walk = np.cumsum(rng.standard_normal((30, DIM)) * 0.4, axis=0) + rng.standard_normal(DIM)
        files.append((walk / np.linalg.norm(walk, axis=1, keepdims=True)).astype(np.float32))
    with stage1_searcher(tmp_path / "lib", files, step=1.0, length=1.0, rerank_depth=20, exact=True) as searcher:
        yield searcher


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
