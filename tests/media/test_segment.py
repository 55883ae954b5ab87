from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.media import Segmenter, segment
from engine.media.segment import SPLIT_AHEAD, cuts_per_frame


def _grid(duration: float, rate: float = 2.0) -> list[float]:
    return [k / rate for k in range(int(duration * rate))]


def _bounds(segments):
    return [(round(s.start, 3), round(s.end, 3)) for s in segments]


def test_no_cuts_equal_pieces():
    segs = segment(_grid(25), [], max_len=10, min_len=1, duration=25)
    assert _bounds(segs) == [(0, 8.333), (8.333, 16.667), (16.667, 25)]
    assert [len(s.frame_indices) for s in segs] == [17, 17, 16]


def test_cuts_become_boundaries():
    segs = segment(_grid(12), [4.25, 7.75], max_len=10, min_len=1, duration=12)
    assert _bounds(segs) == [(0, 4.25), (4.25, 7.75), (7.75, 12)]
    assert segs[1].frame_indices == tuple(range(9, 16))


def test_short_shots_merge_with_the_previous_one():
    segs = segment(_grid(10), [3.25, 3.75, 6.25], max_len=10, min_len=1, duration=10)
    assert _bounds(segs) == [(0, 3.75), (3.75, 6.25), (6.25, 10)]


def test_short_first_and_last_shots_merge_inward():
    segs = segment(_grid(10), [0.25, 9.25], max_len=10, min_len=1, duration=10)
    assert _bounds(segs) == [(0, 10)]


def test_a_video_shorter_than_min_len_is_one_segment():
    segs = segment([0.0, 0.25], [0.1], max_len=10, min_len=1, duration=0.4)
    assert _bounds(segs) == [(0, 0.4)] and segs[0].frame_indices == (0, 1)


def test_frames_past_the_stated_duration_extend_the_end():
    segs = segment([0.0, 0.5, 1.0, 1.5], [], max_len=10, min_len=1, duration=1.2)
    assert segs[-1].end == 1.5 and segs[-1].frame_indices == (0, 1, 2, 3)


def test_no_frames_no_segments():
    assert segment([], [], max_len=10, min_len=1, duration=5) == []


def test_sparse_frames_still_give_every_segment_a_frame():
    times = [0.0, 12.0, 24.0, 36.0]    # sampling every 12 s with max_len 5
    segs = segment(times, [], max_len=5, min_len=1, duration=40)
    assert [s.frame_indices for s in segs] == [(0,), (1,), (2,), (3,)]
    assert segs[0].start == 0 and segs[-1].end == 40
    assert all(a.end == b.start for a, b in zip(segs, segs[1:]))


def test_long_shot_is_cut_while_running_to_bound_memory():
    segmenter = Segmenter(max_len=10, min_len=1)
    emitted, peak = [], 0
    for index, t in enumerate(_grid(3600)):   # one hour, one shot, 2 fps
        emitted += segmenter.push(index, t)
        peak = max(peak, len(segmenter.buffer))
    emitted += segmenter.finish(3600)
    assert peak <= SPLIT_AHEAD * 10 * 2 + 2
    assert max(s.duration for s in emitted) <= 10 + 1e-9
    assert sum(len(s.frame_indices) for s in emitted) == 7200
    assert emitted[-1].end == 3600


def test_times_must_increase():
    with pytest.raises(ValueError):
        segment([0.0, 1.0, 1.0], [], max_len=10, min_len=1, duration=2)


def test_cuts_are_mapped_to_the_frame_after_them():
    assert cuts_per_frame([0, 1, 2, 3], [0.5, 0.7, 2.0, 9.0, -1]) == [None, 0.5, 2.0, None]


@st.composite
def _videos(draw):
    max_len = draw(st.floats(1.0, 20.0))
    min_len = draw(st.floats(0.0, 5.0))
    gaps = draw(st.lists(st.floats(0.01, max_len / 3), min_size=1, max_size=300))
    times = list(np.cumsum([draw(st.floats(0.0, max_len / 3))] + gaps[:-1]))
    times = [float(t) for t in times]
    duration = times[-1] + draw(st.floats(0.0, max_len / 3))
    cut_frames = draw(st.lists(st.integers(1, len(times) - 1), max_size=40)) if len(times) > 1 else []
    fractions = draw(st.lists(st.floats(0.05, 1.0), min_size=len(cut_frames), max_size=len(cut_frames)))
    cuts = sorted({times[i - 1] + f * (times[i] - times[i - 1]) for i, f in zip(set(cut_frames), fractions)})
    return times, cuts, max_len, min_len, duration


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_videos())
def test_segmentation_invariants(video):
    times, cuts, max_len, min_len, duration = video
    segs = segment(times, cuts, max_len, min_len, duration)
    effective_min = min(min_len, max_len / 2)
    end = max(duration, times[-1])
    # coverage: from 0 to the end without gaps or overlaps
    assert segs[0].start == 0 and segs[-1].end == pytest.approx(end)
    assert all(a.end == b.start for a, b in zip(segs, segs[1:]))
    # every frame in exactly one segment, in order, inside its segment
    assert [i for s in segs for i in s.frame_indices] == list(range(len(times)))
    for s in segs:
        assert s.frame_indices
        assert all(s.start <= times[i] for i in s.frame_indices)
        assert all(times[i] < s.end for i in s.frame_indices if s is not segs[-1])
    # lengths
    assert all(s.duration <= max_len + 1e-9 for s in segs)
    if end >= effective_min:
        assert all(s.duration >= effective_min - 1e-9 for s in segs)
    # segments follow shots: a cut with long enough shots on both sides is a boundary
    shot_bounds = [0.0, *cuts, end]
    starts = {s.start for s in segs}
    for k in range(1, len(shot_bounds) - 1):
        before, after = shot_bounds[k] - shot_bounds[k - 1], shot_bounds[k + 1] - shot_bounds[k]
        if before >= effective_min and after >= effective_min:
            assert shot_bounds[k] in starts
