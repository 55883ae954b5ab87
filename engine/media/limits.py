"""Sanity limits checked on header values before anything is allocated or decoded."""
from __future__ import annotations

import math
from dataclasses import dataclass

from engine.errors import MediaError


@dataclass(frozen=True)
class MediaLimits:
    max_side: int = 16384               # pixels, either dimension
    max_pixels: int = 8192 * 4320       # one frame: DCI 8K is the largest accepted
    max_fps: float = 1000.0             # a nominal rate above this is treated as unknown
    min_fps: float = 0.01               # below this too (one frame per 100 s)

    def check_frame_size(self, path: str, width: int, height: int) -> None:
        if width <= 0 or height <= 0:
            raise MediaError(f"{path}: truncated or corrupt: the video stream declares no frame size "
                             f"({width}x{height}); re-encode or re-copy the file")
        if max(width, height) > self.max_side or width * height > self.max_pixels:
            raise MediaError(f"{path}: frame size {width}x{height} exceeds the limit of {self.max_pixels} pixels "
                             f"(8192x4320) and {self.max_side} per side; downscale the video to index it")

    def plausible_fps(self, rate: object) -> float | None:
        """``rate`` as a float when it is a believable frame rate, else None."""
        try:
            value = float(rate)  # type: ignore[arg-type]
        except (TypeError, ValueError, ZeroDivisionError):
            return None
        if not math.isfinite(value) or not self.min_fps <= value <= self.max_fps:
            return None
        return value


DEFAULT_LIMITS = MediaLimits()
