from __future__ import annotations

import numpy as np
import pytest

from engine.media import ShotDetector, detect_shots, frame_histogram, histogram_distance, sample_frames
from videogen import ShotSpec


def _flat(color) -> np.ndarray:
    image = np.empty((48, 64, 3), dtype=np.uint8)
    image[:] = color
    return image


def test_histogram_and_distance():
    red, blue = frame_histogram(_flat((200, 0, 0))), frame_histogram(_flat((0, 0, 200)))
    assert red.shape == (512,) and red.sum() == pytest.approx(1.0)
    assert histogram_distance(red, red) == pytest.approx(0.0)
    assert histogram_distance(red, blue) == pytest.approx(1.0)


def _decide(distances, threshold=0.35):
    """Run the detector on a sequence whose consecutive histogram distances are ``distances``."""
    detector = ShotDetector(threshold)
    # Two-bin histograms: moving mass m between bins gives distance |m2 - m1| between frames.
    mass, decisions = 0.0, []
    for i, d in enumerate([0.0, *distances]):
        mass = mass + d if mass + d <= 1 else mass - d
        decisions += detector.push(float(i), np.array([1 - mass, mass]))
    decisions += detector.finish()
    return [d.index for d in decisions if d.cut_time is not None]


def test_detector_finds_isolated_jumps_only():
    assert _decide([0.02] * 5 + [0.9] + [0.02] * 5) == [6]
    assert _decide([0.05] * 12) == []                       # slow change: never over the threshold
    assert _decide([0.5] * 12) == []                        # fast pan: every distance high, none stands out
    assert _decide([0.02] * 4 + [0.9, 0.9] + [0.02] * 4) == [5, 6]   # a one-frame shot between two cuts
    assert _decide([0.9]) == [1]                            # two frames only
    assert _decide([0.02] * 5 + [0.3] + [0.02] * 5) == []   # under the threshold


@pytest.mark.parametrize("rate", [1.0, 2.0])
def test_cuts_found_within_one_sample_interval(three_shots, rate):
    frames = list(sample_frames(three_shots.path, rate, 96))
    cuts = detect_shots(frames)
    assert len(cuts) == len(three_shots.cut_times)
    for found, true in zip(cuts, three_shots.cut_times):
        assert abs(found - true) <= 1.0 / rate


def test_no_cut_inside_a_slow_pan(video_factory):
    truth = video_factory("pan_only.mp4", shots=[ShotSpec(4.0, pattern="pan", speed=40)])
    assert detect_shots(sample_frames(truth.path, 2, 96)) == []


def test_many_shots_of_many_styles(video_factory):
    shots = [ShotSpec(1.5), ShotSpec(1.0, pattern="texture"), ShotSpec(2.0, shape="square", speed=150),
             ShotSpec(1.5, pattern="pan", speed=30), ShotSpec(1.0), ShotSpec(1.5, background=(250, 250, 250))]
    truth = video_factory("styles.mkv", codec="mpeg4", size=(320, 180), fps=20, shots=shots, seed=3)
    cuts = detect_shots(sample_frames(truth.path, 2, 96))
    assert len(cuts) == len(truth.cut_times)
    for found, true in zip(cuts, truth.cut_times):
        assert abs(found - true) <= 0.5


def test_nearly_identical_backgrounds_are_one_shot(video_factory):
    truth = video_factory("two_reds.mp4", shots=[ShotSpec(1.0, background=(200, 40, 40)),
                                                 ShotSpec(1.0, background=(205, 45, 40))])
    assert detect_shots(sample_frames(truth.path, 4, 96), threshold=0.35) == []
