"""A short video as a search query: a few frames spread evenly over it."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.errors import MediaError
from engine.media.decode import sample_frames
from engine.media.probe import probe
from engine.media.sampling import target_size
from engine.media.seek import frames_at

SEEK_LONGER_THAN = 60.0   # seconds: a longer query video is not read through, its frames are sought


def query_frames(path: str | Path, count: int, short_side: int, fps: float) -> np.ndarray:
    """Up to ``count`` RGB frames [n, H, W, 3] at equal steps over the whole of ``path``, at most ``fps`` a second
    (as the library samples its videos: a short clip then gives the frames a moment of it would have). A video
    longer than SEEK_LONGER_THAN gives the keyframes at (or up to a keyframe interval before) the centres of
    ``count`` equal parts, found by seeking, so that a film costs a few seeks and a few decoded pictures instead of
    a read through it. Raises MediaError when none can be decoded."""
    info = probe(path)
    duration = max(info.duration, 1e-3)
    frames: list[np.ndarray] = []
    if duration > SEEK_LONGER_THAN and info.backend != "opencv":
        times = [(k + 0.5) * duration / count for k in range(count)]
        size = target_size(info.width, info.height, short_side, info.sample_aspect)
        frames = frames_at(path, info, times, size, keyframes=True)
    if len(frames) < count:   # short, or a file that cannot seek
        fps = max(min(fps, count / duration), 1.0 / duration)
        frames = [f.rgb for f in sample_frames(path, fps, short_side, max_frames=count, info=info)] or frames
    if not frames:
        raise MediaError(f"{path}: no frame could be decoded")
    return np.stack(frames)
