"""A strip of preview stills across one moment, for the result list (seeks, never decodes from 0)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine.errors import MediaError
from engine.media.probe import probe
from engine.media.sampling import target_size
from engine.media.seek import iter_frames_at
from engine.media.thumbnail import thumbnail


def preview_jpegs(path: str | Path, start: float, end: float, count: int = 8, width: int = 240,
                  on_still: Callable[[bytes], None] | None = None) -> list[bytes]:
    """``count`` JPEGs, ``width`` pixels wide, at the centres of ``count`` equal parts of [start, end], in order;
    ``on_still`` is given each as soon as it is made (the result card scrubs through those it has)."""
    path = Path(path)
    if count < 1 or end < start:
        raise ValueError(f"need count >= 1 and end >= start, got count={count}, {start}-{end}")
    info = probe(path)
    times = [start + (k + 0.5) * (end - start) / count for k in range(count)]
    # Decode at a size just above the thumbnail's, whichever side is the short one.
    short_side = max(16, round(width * min(info.display_size) / max(1, info.display_size[0])))
    size = target_size(info.width, info.height, short_side, info.sample_aspect)
    stills = []
    for rgb in iter_frames_at(path, info, times, size):
        stills.append(thumbnail(rgb, width))
        if on_still is not None:
            on_still(stills[-1])
    if not stills:
        raise MediaError(f"{path}: no frame could be decoded between {start:.1f} and {end:.1f} s")
    return stills
