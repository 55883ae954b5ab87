"""A strip of preview stills across one moment, for the result list (seeks, never decodes from 0)."""
from __future__ import annotations

from pathlib import Path

import av

from engine.errors import MediaError
from engine.media.probe import open_error, pick_video_stream, probe
from engine.media.sampling import rotate_for_display, target_size
from engine.media.thumbnail import thumbnail


def preview_jpegs(path: str | Path, start: float, end: float, count: int = 8, width: int = 240) -> list[bytes]:
    """``count`` JPEGs, ``width`` pixels wide, at the centres of ``count`` equal parts of [start, end]."""
    path = Path(path)
    if count < 1 or end < start:
        raise ValueError(f"need count >= 1 and end >= start, got count={count}, {start}-{end}")
    info = probe(path)
    times = [start + (k + 0.5) * (end - start) / count for k in range(count)]
    # Decode at a size just above the thumbnail's, whichever side is the short one.
    short_side = max(16, round(width * min(info.display_size) / max(1, info.display_size[0])))
    size = target_size(info.width, info.height, short_side, info.sample_aspect)
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise open_error(path, exc) from exc
    out: list[bytes] = []
    with container:
        stream = pick_video_stream(container, path)
        stream.codec_context.thread_type = "AUTO"
        origin = stream.start_time or 0
        for t in times:
            rgb = _frame_at(container, stream, origin, t, size)
            if rgb is None:
                break
            out.append(thumbnail(rotate_for_display(rgb, info.rotation), width))
    if not out:
        raise MediaError(f"{path}: no frame could be decoded between {start:.1f} and {end:.1f} s")
    return out


def _frame_at(container, stream, origin: int, t: float, size: tuple[int, int]):
    """RGB of the first frame at or after ``t`` seconds (the last one before it near the end)."""
    try:
        container.seek(origin + int(t / stream.time_base), stream=stream, backward=True)
        last = None
        for frame in container.decode(stream):
            last = frame
            if frame.pts is not None and float((frame.pts - origin) * stream.time_base) >= t - 1e-3:
                break
    except av.FFmpegError:
        return None
    if last is None:
        return None
    return last.to_ndarray(width=size[0], height=size[1], format="rgb24", interpolation="AREA")
