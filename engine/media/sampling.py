"""Which decoded frames to keep, and at what size: shared by the PyAV and OpenCV decoders."""
from __future__ import annotations

import math

import numpy as np


class SampleClock:
    """Keeps the first frame at or just before each tick of a ``fps`` grid (0, 1/fps, 2/fps, ...).

    A frame at time t is wanted when t >= next tick - tolerance (a little under half a source
    frame, to absorb rounded timestamps), so with a constant source rate the nearest frame to
    each tick is kept, the later one on a tie. After a gap (VFR, dropped frames,
    keyframes-only decoding) one frame stands for all ticks it covers: no frame is kept twice.
    """

    def __init__(self, fps: float, source_fps: float = 0.0):
        if not fps > 0:
            raise ValueError(f"sampling rate must be positive, not {fps}")
        self.interval = 1.0 / fps
        half_source_frame = 0.45 / source_fps if source_fps > 0 else 0.02
        self.tolerance = min(half_source_frame, self.interval / 2)
        self.next_tick = 0
        self.last_time = -math.inf

    def wants(self, t: float) -> bool:
        return t > self.last_time and t >= self.next_tick * self.interval - self.tolerance

    def take(self, t: float) -> None:
        self.last_time = t
        self.next_tick = math.floor((t + self.tolerance) / self.interval + 1e-6) + 1


def target_size(width: int, height: int, short_side: int, sample_aspect: float = 1.0) -> tuple[int, int]:
    """(width, height) to scale a stored frame to so that, shown with square pixels, its shorter side is ``short_side``.

    Rotation does not change which side is shorter, so this is computed on the stored frame.
    """
    if short_side < 1:
        raise ValueError(f"short_side must be at least 1, not {short_side}")
    shown_width = width * sample_aspect
    scale = short_side / min(shown_width, height)
    return max(1, round(shown_width * scale)), max(1, round(height * scale))


def rotate_for_display(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """Turn a decoded frame ``rotation`` degrees counter-clockwise (display-matrix convention)."""
    if rotation % 360 == 0:
        return rgb
    return np.ascontiguousarray(np.rot90(rgb, k=(rotation // 90) % 4))
