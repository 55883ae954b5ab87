"""H.264 GOPs whose P-slices refer only to I- and P-pictures are decoded without their B-pictures."""
from __future__ import annotations

import numpy as np
import pytest

from engine.media import sample_frames
from engine.media.h264_headers import B, I, P, Slice, p_slices_skip_b
from videogen import ShotSpec

SHOTS = [ShotSpec(2.0, pattern="pan", speed=30), ShotSpec(2.0, shape="square")]


def _every_frame(path) -> dict[float, np.ndarray]:
    full = sample_frames(path, 1000, 64, keyframes_only=False, skip_nonref=False, skip_b=False)
    return {round(f.time, 4): f.rgb for f in full}


@pytest.mark.parametrize("name", ["b_pyramid_ref1.mp4", "b_pyramid_ref1.ts"])
@pytest.mark.parametrize("rate", [1.0, 2.0])
@pytest.mark.parametrize("lanes", [None, False])
def test_without_b_pictures_the_kept_frames_are_the_full_decodes_frames(video_factory, name, rate, lanes):
    # x264's fastest preset keeps one reference frame: its P-slices refer to the previous I- or P-picture only
    truth = video_factory(name, fps=25, keyint=100, bframes=3, shots=SHOTS)
    sampler = sample_frames(truth.path, rate, 64, gop_lanes=lanes)
    kept = list(sampler)
    assert sampler.stats.gops_without_b == 1 and not sampler.warnings
    assert sampler.stats.gops_in_lanes == (lanes is None)
    truth_frames = _every_frame(truth.path)
    for k, frame in enumerate(kept):
        assert np.array_equal(frame.rgb, truth_frames[round(frame.time, 4)]), frame.time
        # the nearest I- or P-picture: they are at most four source frames apart
        assert abs(frame.time - k / rate) <= 2 / truth.fps + 1e-6
    assert len(kept) == round(truth.duration * rate)
    # at 25 frames/s the tick at 1 s falls between P-pictures at 0.96 and 1.12 s (the B-pyramid's P every
    # fourth frame): the nearer one, before it, is kept, and nothing after it need be decoded for it
    assert any(frame.time < k / rate for k, frame in enumerate(kept))

    with_b = sample_frames(truth.path, rate, 64, skip_b=False)
    list(with_b)
    assert with_b.stats.gops_without_b == 0
    assert sampler.stats.frames_decoded < 0.7 * with_b.stats.frames_decoded


def test_p_slices_that_may_refer_to_b_pictures_keep_them(video_factory):
    truth = video_factory("b_pyramid_ref3.mp4", fps=25, keyint=100, bframes=3, shots=SHOTS,
                          encoder_args=["-refs", "3"])
    sampler = sample_frames(truth.path, 1, 64)
    kept = list(sampler)
    assert sampler.stats.skipped_nonref and sampler.stats.gops_without_b == 0
    truth_frames = _every_frame(truth.path)
    assert all(np.array_equal(f.rgb, truth_frames[round(f.time, 4)]) for f in kept)


def test_dense_sampling_or_skip_b_false_decodes_b_pictures(video_factory):
    truth = video_factory("b_pyramid_ref1.mp4", fps=25, keyint=100, bframes=3, shots=SHOTS)
    dense = sample_frames(truth.path, 10, 64)
    list(dense)
    assert dense.stats.gops_without_b == 0 and dense.stats.frames_decoded == truth.frame_count


def _pic(kind, frame_num, reference=True, idr=False, l0=1, changes=(), unmarked=None, window=4):
    return [Slice(kind, frame_num, 16, idr, reference, 0 if kind == I else l0, tuple(changes), unmarked, window)]


def _pyramid_gop(p_changes):
    """I0 P4 B2(ref) b1 b3 P8 ...: frame_num 0, 1, 2, 3, 3, 3; P8's list 0 modifications as given."""
    return [_pic(I, 0, idr=True, l0=0), _pic(P, 1), _pic(B, 2), _pic(B, 3, reference=False),
            _pic(B, 3, reference=False), _pic(P, 3, changes=p_changes)]


def test_a_p_slice_naming_the_previous_p_picture_lets_b_pictures_go():
    assert p_slices_skip_b(_pyramid_gop([(0, 1)]))            # 3 - 2 = frame_num 1: P4


def test_a_p_slice_naming_a_b_picture_or_using_the_default_list_after_one_keeps_them():
    assert not p_slices_skip_b(_pyramid_gop([(0, 0)]))        # 3 - 1 = frame_num 2: the reference B-picture
    assert not p_slices_skip_b(_pyramid_gop([]))              # default list: the most recent reference, B2


def test_a_b_picture_unmarked_by_memory_management_leaves_the_default_list():
    gop = _pyramid_gop([])
    gop[1] = _pic(P, 1)
    gop[2] = _pic(B, 2, unmarked=())                           # adaptive marking with nothing unmarked
    gop[5] = _pic(P, 3, unmarked=(1,))                         # unmarks frame_num 2 ... only after P8 decodes
    assert not p_slices_skip_b(gop)
    gop = gop[:5] + [_pic(P, 3, changes=[(0, 1)], unmarked=(1,)), _pic(P, 4)]   # P12: default list holds P8 first
    assert p_slices_skip_b(gop)


def test_two_active_references_must_both_be_i_or_p_pictures():
    gop = _pyramid_gop([(0, 1)])
    gop[5] = _pic(P, 3, l0=2, changes=[(0, 1)])                # then the default list: B2 (frame_num 2)
    assert not p_slices_skip_b(gop)
    no_b = [_pic(I, 0, idr=True, l0=0), _pic(P, 1), _pic(P, 2, l0=2)]
    assert p_slices_skip_b(no_b)


@pytest.mark.parametrize("damage", ["not_idr", "unknown_picture", "frame_num_gap", "long_term"])
def test_anything_not_followed_keeps_b_pictures(damage):
    gop = _pyramid_gop([(0, 1)])
    if damage == "not_idr":
        gop[0] = _pic(I, 0, l0=0)
    elif damage == "unknown_picture":
        gop[3] = None
    elif damage == "frame_num_gap":
        gop[5] = _pic(P, 4, changes=[(0, 2)])
    else:
        gop[5] = _pic(P, 3, changes=[(2, 0)])
    assert not p_slices_skip_b(gop)
