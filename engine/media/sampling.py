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

    A ``stand_in`` frame is one the decoding plan chose for the tick just after it, because it is
    nearer that tick than the next frame decoded (``engine.media.gop.picks``); it is kept when that
    tick is the one the clock waits for, and the clock then waits for the tick after.
    """

    def __init__(self, fps: float, source_fps: float = 0.0):
        if not fps > 0:
            raise ValueError(f"sampling rate must be positive, not {fps}")
        self.interval = 1.0 / fps
        half_source_frame = 0.45 / source_fps if source_fps > 0 else 0.02
        self.tolerance = min(half_source_frame, self.interval / 2)
        self.next_tick = 0
        self.last_time = -math.inf

    @classmethod
    def on_grid(cls, interval: float, tolerance: float) -> "SampleClock":
        """A clock with ticks ``interval`` seconds apart and this tolerance (to replay another clock's choices)."""
        clock = cls(1.0 / interval)
        clock.interval, clock.tolerance = interval, tolerance
        return clock

    def wants(self, t: float, stand_in: bool = False) -> bool:
        return t > self.last_time and (self._due(t) or (stand_in and self.tick_after(t) == self.next_tick))

    def take(self, t: float, stand_in: bool = False) -> None:
        early = stand_in and not self._due(t)
        self.last_time = t
        self.next_tick = self.tick_after(t) + early

    def tick_after(self, t: float) -> int:
        """The first tick a frame at ``t`` cannot serve in the usual way (too early for it)."""
        return math.floor((t + self.tolerance) / self.interval + 1e-6) + 1

    def _due(self, t: float) -> bool:
        return t >= self.next_tick * self.interval - self.tolerance


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
