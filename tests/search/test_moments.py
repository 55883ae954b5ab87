"""Merging scored segments into moments."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.search.moments import ScoredSegment, merge_margin, merge_segments


def seg(i, file_id, start, end, score):
    return ScoredSegment(i, file_id, start, end, score, row=None)


def test_touching_segments_of_one_file_with_close_scores_merge():
    segs = [seg(1, 1, 0, 5, 0.90), seg(2, 1, 5, 10, 0.88), seg(3, 1, 10, 15, 0.20), seg(4, 2, 0, 5, 0.5)]
    moments = merge_segments(segs, margin=0.05)
    assert (moments[0].start, moments[0].end, moments[0].segment_ids) == (0, 10, (1, 2))
    assert moments[0].score == 0.90
    assert [m.segment_ids for m in moments[1:]] == [(4,), (3,)]


def test_gap_or_other_file_never_merges():
    segs = [seg(1, 1, 0, 5, 0.9), seg(2, 1, 6, 10, 0.9), seg(3, 2, 5, 10, 0.9)]
    assert sorted(len(m.segment_ids) for m in merge_segments(segs, margin=1.0)) == [1, 1, 1]


def test_margin_adapts_to_the_score_spread():
    assert merge_margin(np.array([1.0, 0.5, 0.5, 0.5]), 0.25) == 0.125
    assert merge_margin(np.array([0.3]), 0.25) == 0.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 3), st.integers(0, 20), st.floats(0, 1)), min_size=1, max_size=30,
                unique_by=lambda t: (t[0], t[1])))
def test_every_segment_lands_in_exactly_one_moment(items):
    segs = [seg(i, f, 2.0 * k, 2.0 * k + 2, s) for i, (f, k, s) in enumerate(items)]
    moments = merge_segments(segs)
    ids = [i for m in moments for i in m.segment_ids]
    assert sorted(ids) == list(range(len(segs)))
    assert [m.score for m in moments] == sorted((m.score for m in moments), reverse=True)
    for m in moments:
        members = [s for s in segs if s.segment_id in m.segment_ids]
        assert m.start == min(s.start for s in members) and m.end == max(s.end for s in members)
        assert m.score == max(s.score for s in members)
