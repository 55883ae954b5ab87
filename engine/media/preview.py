"""Frames across one moment for hover-scrubbing: seek near the start, decode forward."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from engine.errors import MediaError
from engine.media.probe import open_error
from engine.media.sampling import rotate_for_display
from engine.media.thumbnail import thumbnail


def moment_frames(path: str | Path, start: float, end: float, count: int, width: int) -> list[np.ndarray]:
    """``count`` RGB frames evenly spread over [start, end], each ``width`` pixels wide."""
    if count < 1:
        return []
    end = max(end, start + 1e-3)
    targets = list(np.linspace(start, end, count + 2)[1:-1]) if count > 1 else [(start + end) / 2]
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise open_error(Path(path), exc) from exc
    frames: list[np.ndarray] = []
    with container:
        if not container.streams.video:
            raise MediaError(f"{path}: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = float(stream.time_base or 0) or 1 / 90000
        container.seek(int(max(0.0, targets[0] - 0.5) / tb), stream=stream, backward=True, any_frame=False)
        height = None
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            t = frame.pts * tb
            if t + 1e-6 < targets[len(frames)]:
                continue
            if height is None:
                height = max(2, int(round(frame.height * width / max(1, frame.width))) // 2 * 2)
            rotation = 90 * round(int(getattr(frame, "rotation", 0) or 0) / 90) % 360
            rgb = rotate_for_display(frame.to_ndarray(width=width, height=height, format="rgb24"), rotation)
            frames.append(rgb)
            while len(frames) < len(targets) and t + 1e-6 >= targets[len(frames)]:
                frames.append(frames[-1])
            if len(frames) >= len(targets):
                break
    return frames


def preview_jpegs(path: str | Path, start: float, end: float, count: int = 8, width: int = 240) -> list[bytes]:
    return [thumbnail(rgb, width) for rgb in moment_frames(path, start, end, count, width)]
