"""One file through the model: decode, segment, encode frames and clips, write thumbnails.

Runs inside a worker process. Only the frames a segment keeps for the model
(at most T, spread evenly over the segment) are encoded.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from engine.media import iter_segments, thumbnail
from engine.settings import Settings
from engine.util.atomic import atomic_write_bytes

THUMB_MIN_SHORT_SIDE = 224


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


def pick_frames(n: int, t: int) -> np.ndarray:
    """Indices of at most ``t`` frames spread evenly over ``n``."""
    if n <= t:
        return np.arange(n)
    return np.round(np.linspace(0, n - 1, t)).astype(int)


def embed_file(path: str, model, settings: Settings, thumbs_dir: Path, thumb_key: str,
               on_probe: Callable[[object], None] | None = None,
               on_progress: Callable[[float], None] | None = None) -> FileResult:
    t = model.info.frames_per_clip
    short_side = max(model.info.image_size, THUMB_MIN_SHORT_SIDE)
    stream = iter_segments(path, settings, short_side)
    info = stream.info
    if on_probe:
        on_probe(info)
    segments: list[SegmentResult] = []
    pending: list[tuple[object, list, np.ndarray]] = []

    def flush() -> None:
        if not pending:
            return
        feats = np.zeros((len(pending), t, model.info.embed_dim), np.float32)
        mask = np.zeros((len(pending), t), np.float32)
        for row, (_seg, frames, _thumb) in enumerate(pending):
            enc = model.encode_frames(np.stack([f.rgb for f in frames]))
            feats[row, : len(frames)] = enc
            mask[row, : len(frames)] = 1.0
        clips = model.encode_clips(feats, mask)
        for row, (seg, frames, thumb_rgb) in enumerate(pending):
            index = len(segments)
            thumb_path = Path(thumbs_dir) / thumb_key[:2] / f"{thumb_key}_{index}.jpg"
            atomic_write_bytes(thumb_path, thumbnail(thumb_rgb, settings.thumbnail_width))
            segments.append(SegmentResult(
                start=float(seg.start), end=float(seg.end), frame_count=len(frames),
                thumbnail=str(thumb_path), vector=clips.vector[row].astype(np.float32),
                clip_tokens=clips.clip_tokens[row].astype(np.float16),
                frame_tokens=clips.frame_tokens[row].astype(np.float16),
                frame_mask=mask[row].astype(np.uint8)))
        if on_progress:
            on_progress(float(pending[-1][0].end))
        pending.clear()

    for item in stream:
        frames = item.frames
        chosen = [frames[i] for i in pick_frames(len(frames), t)]
        pending.append((item.segment, chosen, item.middle_frame.rgb))
        if len(pending) >= 8:
            flush()
    flush()
    return FileResult(duration=float(info.duration), fps=float(info.fps), width=int(info.width),
                      height=int(info.height), rotation=int(info.rotation), segments=segments,
                      warnings=list(info.warnings) + list(stream.warnings))
