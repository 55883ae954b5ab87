"""What a worker sends back for a file it embedded.

Kept apart from embed_file so that the indexing parent can unpickle a result without importing the
decoder, OpenCV and PyAV that only the workers use.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SegmentResult:
    start: float
    end: float
    frame_count: int
    thumbnail: str | None
    vector: np.ndarray          # [D]
    clip_tokens: np.ndarray     # [K, D]
    frame_tokens: np.ndarray    # [T, D]
    frame_mask: np.ndarray      # [T]


@dataclass
class FileResult:
    duration: float
    fps: float
    width: int
    height: int
    rotation: int
    segments: list[SegmentResult]
    warnings: list[str]
    recorded_at: float | None = None   # when the video was recorded, if its container says
