"""How many results one search may ask for: at least one, at most MAX_RESULTS, whatever the library holds."""
from __future__ import annotations

import numpy as np
import pytest

from engine.errors import QueryError
from engine.settings import MAX_RESULTS
from tests.search.stage1_library import stage1_searcher

DIM = 8


@pytest.fixture
def searcher(tmp_path):
    """40 files of 30 one-second segments: 1200 segments, more than MAX_RESULTS."""
    rng = np.random.default_rng(1)
    files = [rng.standard_normal((30, DIM)).astype(np.float32) for _ in range(40)]
    with stage1_searcher(tmp_path / "lib", files, step=2.0, length=1.0, rerank_depth=8) as searcher:
        yield searcher


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
