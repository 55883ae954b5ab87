"""One file through the model: decode, segment, encode frames and clips, write thumbnails.

Runs inside a worker process. Only the frames a segment keeps for the model
(at most T, spread evenly over the segment) are encoded.

Besides one entry per segment, every two neighbouring segments also get a *pair*
entry spanning both (half of its T frames from each, as the model saw "A, then B"
clips in training), so that a query describing two events in order can find the
moment that holds both. Pairs cost one clip-encoder pass each, no extra decoding.
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

import numpy as np

from engine.indexer.prefetch import prefetch
from engine.indexer.results import FileResult, SegmentResult
from engine.media import iter_segments, thumbnail
from engine.settings import Settings
from engine.util.atomic import atomic_write_bytes

THUMB_MIN_SHORT_SIDE = 224
CLIP_BATCH_SEGMENTS = 8   # segments per clip-encoder call
PREFETCH_SEGMENTS = 3     # segments decoded ahead of the model
ENCODER_LANES = 2         # segments whose frames are encoded at the same time

T = TypeVar("T")


def pick_frames(n: int, t: int) -> np.ndarray:
    """Indices of at most ``t`` frames spread evenly over ``n``."""
    if n <= t:
        return np.arange(n)
    return np.round(np.linspace(0, n - 1, t)).astype(int)


def embed_file(path: str, model, settings: Settings, thumbs_dir: Path, thumb_key: str,
               on_probe: Callable[[object], None] | None = None,
               on_progress: Callable[[float], None] | None = None,
               on_decoded: Callable[[], None] | None = None,
               lanes: ThreadPoolExecutor | None = None) -> FileResult:
    """``on_decoded()`` is called, on the decoding thread, once the file is decoded and only the model's work on
    it is left. ``lanes``: the encoder threads (ENCODER_LANES of them), shared with other files embedded at the
    same time; by default the file's own."""
    t = model.info.frames_per_clip
    short_side = max(model.info.image_size, THUMB_MIN_SHORT_SIDE)
    stream = iter_segments(path, settings, short_side)
    info = stream.info
    if on_probe:
        on_probe(info)
    d = model.info.embed_dim
    segments: list[SegmentResult] = []
    pending: list[tuple[object, np.ndarray, str]] = []   # (segment, frame features, thumbnail path)
    previous: list[tuple[float, np.ndarray, str]] = []   # (start, frame features, thumbnail) of the last segment

    def encode(entries: list[tuple[float, float, np.ndarray, str]]) -> None:
        """entries: (start, end, frame features [n<=T, D], thumbnail path) -> SegmentResults."""
        feats = np.zeros((len(entries), t, d), np.float32)
        mask = np.zeros((len(entries), t), np.float32)
        for row, (_s, _e, f, _th) in enumerate(entries):
            feats[row, : len(f)] = f
            mask[row, : len(f)] = 1.0
        clips = model.encode_clips(feats, mask)
        for row, (start, end, f, thumb) in enumerate(entries):
            segments.append(SegmentResult(
                start=float(start), end=float(end), frame_count=len(f), thumbnail=thumb,
                vector=clips.vector[row].astype(np.float32),
                clip_tokens=clips.clip_tokens[row].astype(np.float16),
                frame_tokens=clips.frame_tokens[row].astype(np.float16),
                frame_mask=mask[row].astype(np.uint8)))

    def take(item, number: int) -> tuple[object, np.ndarray, str]:
        """Thumbnail and frame features of one segment (the ``number``-th of the file)."""
        thumb_path = Path(thumbs_dir) / thumb_key[:2] / f"{thumb_key}_{number}.jpg"
        atomic_write_bytes(thumb_path, thumbnail(item.middle_frame.rgb, settings.thumbnail_width))
        chosen = [item.frames[i] for i in pick_frames(len(item.frames), t)]
        return item.segment, model.encode_frames(np.stack([f.rgb for f in chosen])), str(thumb_path)

    def flush() -> None:
        if not pending:
            return
        singles, pairs = [], []
        for seg, feats, thumb in pending:
            singles.append((seg.start, seg.end, feats, thumb))
            if previous:
                p_start, p_feats, p_thumb = previous[0]
                half = t // 2
                pair = np.concatenate([p_feats[pick_frames(len(p_feats), half)],
                                       feats[pick_frames(len(feats), t - half)]])
                pairs.append((p_start, seg.end, pair, p_thumb))
            previous[:] = [(seg.start, feats, thumb)]
        encode(singles)
        if pairs:
            encode(pairs)
        pending.clear()

    def settle(in_flight: deque[Future], keep: int) -> None:
        """Collect finished segments, in file order, until at most ``keep`` are still being encoded."""
        while len(in_flight) > keep:
            pending.append(in_flight.popleft().result())
            if on_progress:   # each segment: the worker's time limit counts the silence between them
                on_progress(float(pending[-1][0].end))
            if len(pending) >= CLIP_BATCH_SEGMENTS:
                flush()

    # Decoding runs a few segments ahead in its own thread. The frame encoder runs in ENCODER_LANES threads
    # (onnxruntime sessions take concurrent calls): one lane alone left a core idle whenever the decoder
    # was ahead, and more intra-op threads per call cost more than they gave.
    in_flight: deque[Future] = deque()
    with _encoder_lanes(lanes) as encoders:
        for number, item in enumerate(prefetch(_then(stream, on_decoded), depth=PREFETCH_SEGMENTS)):
            in_flight.append(encoders.submit(take, item, number))
            settle(in_flight, ENCODER_LANES - 1)
        settle(in_flight, 0)
    flush()
    return FileResult(duration=float(info.duration), fps=float(info.fps), width=int(info.width),
                      height=int(info.height), rotation=int(info.rotation), segments=segments,
                      warnings=list(info.warnings) + list(stream.warnings), recorded_at=info.recorded_at)


def _encoder_lanes(shared: ThreadPoolExecutor | None):
    """``shared`` as it is (its owner shuts it down), or lanes of the file's own."""
    return nullcontext(shared) if shared else ThreadPoolExecutor(ENCODER_LANES, thread_name_prefix="clipseek-encode")


def _then(items: Iterable[T], callback: Callable[[], None] | None) -> Iterator[T]:
    """``items``, then ``callback()`` once they are all out."""
    yield from items
    if callback:
        callback()
