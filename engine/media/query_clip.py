"""A short video as a search query: a few frames spread evenly over it."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.errors import MediaError
from engine.media.decode import sample_frames
from engine.media.probe import probe


def query_frames(path: str | Path, count: int, short_side: int, fps: float) -> np.ndarray:
    """Up to ``count`` RGB frames [n, H, W, 3] at equal steps over the whole of ``path``, at most ``fps`` a second
    (as the library samples its videos: a short clip then gives the frames a moment of it would have). Raises
    MediaError when none can be decoded."""
    info = probe(path)
    duration = max(info.duration, 1e-3)
    fps = max(min(fps, count / duration), 1.0 / duration)
    frames = [f.rgb for f in sample_frames(path, fps, short_side, max_frames=count, info=info)]
    if not frames:
        raise MediaError(f"{path}: no frame could be decoded")
    return np.stack(frames)
