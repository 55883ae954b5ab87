"""Hard-cut detection by colour-histogram distance between consecutive sampled frames.

Each frame is shrunk to 64x64 and summarised as an RGB 8x8x8 histogram; the distance of two
frames is 1 - histogram intersection (0 = same colours, 1 = no colour in common). A cut is
declared before frame i when its distance d_i to frame i-1 is at least ``threshold`` AND at
least ``ratio`` times the median distance of its neighbours within ``window`` frames on each
side (the idea of PySceneDetect's AdaptiveDetector): a pan or fast motion moves every
distance up together and is not cut, a real cut stands out from its neighbours.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import cv2
import numpy as np

from engine.media.types import SampledFrame

HISTOGRAM_SIDE = 64   # frames are shrunk to this square before counting colours
HISTOGRAM_BINS = 8    # per channel: 8x8x8 = 512 bins


def frame_histogram(rgb: np.ndarray) -> np.ndarray:
    """Normalised RGB 8x8x8 histogram (sums to 1) of a uint8 [H,W,3] frame."""
    small = cv2.resize(rgb, (HISTOGRAM_SIDE, HISTOGRAM_SIDE), interpolation=cv2.INTER_AREA)
    hist = cv2.calcHist([small], [0, 1, 2], None, [HISTOGRAM_BINS] * 3, [0, 256] * 3).ravel()
    return hist / max(float(hist.sum()), 1.0)


def histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 - intersection of two normalised histograms, in [0, 1]."""
    return float(1.0 - np.minimum(a, b).sum())


@dataclass(frozen=True)
class CutDecision:
    index: int                 # sampled frame index
    time: float                # its time, seconds
    cut_time: float | None     # a cut just before this frame (midpoint with the previous frame), or None


class ShotDetector:
    """Streaming detector: push frames in order, get each frame's final decision ``window`` frames later."""

    def __init__(self, threshold: float = 0.35, window: int = 2, ratio: float = 2.5):
        if not 0 < threshold <= 1:
            raise ValueError(f"shot threshold must be in (0, 1], not {threshold}")
        self.threshold = threshold
        self.window = window
        self.ratio = ratio
        self._times: list[float] = []
        self._distances: list[float] = [0.0]   # _distances[i] = distance of frame i to frame i-1
        self._previous: np.ndarray | None = None
        self._decided = 0                      # frames [0, _decided) have been returned

    def push(self, time: float, histogram: np.ndarray) -> list[CutDecision]:
        if self._previous is not None:
            self._distances.append(histogram_distance(self._previous, histogram))
        self._previous = histogram
        self._times.append(time)
        return self._decide(upto=len(self._times) - self.window)

    def finish(self) -> list[CutDecision]:
        return self._decide(upto=len(self._times))

    def _decide(self, upto: int) -> list[CutDecision]:
        out = []
        while self._decided < upto:
            i = self._decided
            cut = (self._times[i - 1] + self._times[i]) / 2 if i > 0 and self._is_cut(i) else None
            out.append(CutDecision(i, self._times[i], cut))
            self._decided += 1
        return out

    def _is_cut(self, i: int) -> bool:
        d = self._distances[i]
        if d < self.threshold:
            return False
        n = len(self._distances)
        neighbours = [self._distances[j] for j in range(i - self.window, i + self.window + 1)
                      if j != i and 1 <= j < n]
        baseline = float(np.median(neighbours)) if neighbours else 0.0
        return d >= self.ratio * baseline


def detect_shots(frames: Iterable[SampledFrame], threshold: float = 0.35) -> list[float]:
    """Cut times (seconds, ascending) in a sequence of sampled frames; ``threshold`` is Settings.shot_threshold."""
    detector = ShotDetector(threshold)
    decisions: list[CutDecision] = []
    for frame in frames:
        decisions += detector.push(frame.time, frame_histogram(frame.rgb))
    decisions += detector.finish()
    return [d.cut_time for d in decisions if d.cut_time is not None]
