"""Cut a video into segments (moments) that follow its shots.

Rules, applied left to right by one streaming ``Segmenter`` (so the batch ``segment`` and the
streaming ``iter_segments`` give the same answer):
- a cut is a segment boundary unless the shot after it, or the stretch since the last boundary,
  is shorter than ``min_len``: a short shot merges with the one before it (the first one with
  the one after it);
- a stretch between two boundaries longer than ``max_len`` is split into equal pieces <= max_len;
- a shot still running ``SPLIT_AHEAD`` x max_len after its last boundary gives off pieces of
  exactly max_len, so memory stays bounded for a long shot without cuts (an hour of dashcam);
- segments cover [0, duration] without gaps, and each holds at least one sampled frame. When
  frames are further apart than max_len (a sampling interval above max_len), a piece without
  frames is merged with its neighbour, the only case a segment can exceed max_len.
``min_len`` is capped at max_len / 2, the smallest piece an equal split can make.
"""
from __future__ import annotations

import math
from typing import Sequence

from engine.media.types import Segment

SPLIT_AHEAD = 3   # a running shot is cut into max_len pieces once it exceeds this many max_len


class Segmenter:
    """Push sampled frames in order (with the cut before each, if any), collect finished segments."""

    def __init__(self, max_len: float, min_len: float):
        if not max_len > 0:
            raise ValueError(f"max_len must be positive, not {max_len}")
        self.max_len = float(max_len)
        self.min_len = max(0.0, min(float(min_len), self.max_len / 2))
        self.span_start = 0.0                        # last committed boundary
        self.buffer: list[tuple[int, float]] = []    # (index, time) of frames since span_start
        self.pending_cut: float | None = None        # a cut whose next shot may still prove short
        self.last_time: float | None = None

    def push(self, index: int, time: float, cut: float | None = None) -> list[Segment]:
        if self.last_time is not None and time <= self.last_time:
            raise ValueError(f"frame times must increase: {time} after {self.last_time}")
        out: list[Segment] = []
        if cut is not None:
            if self.pending_cut is not None and cut - self.pending_cut >= self.min_len:
                out += self._close_span(self.pending_cut)
            self.pending_cut = cut if cut - self.span_start >= self.min_len else None
        self.buffer.append((index, time))
        self.last_time = time
        if self.pending_cut is not None and time - self.pending_cut >= self.min_len:
            out += self._close_span(self.pending_cut)
        while (self.pending_cut is None and len(self.buffer) >= 2
               and time - self.span_start > SPLIT_AHEAD * self.max_len):
            out.append(self._cut_piece())
        return out

    def finish(self, duration: float) -> list[Segment]:
        """Close the video at ``duration`` (or at the last frame, if later)."""
        if not self.buffer:
            return []
        end = max(float(duration), self.last_time or 0.0)
        out: list[Segment] = []
        if self.pending_cut is not None and end - self.pending_cut >= self.min_len:
            out += self._close_span(self.pending_cut)
        self.pending_cut = None
        out += self._split(self.span_start, end, self.buffer)
        self.buffer = []
        self.span_start = end
        return out

    def _close_span(self, boundary: float) -> list[Segment]:
        inside = [f for f in self.buffer if f[1] < boundary]
        self.buffer = self.buffer[len(inside):]
        out = self._split(self.span_start, boundary, inside)
        self.span_start = boundary
        self.pending_cut = None
        return out

    def _cut_piece(self) -> Segment:
        end = self.span_start + self.max_len
        if self.buffer[0][1] >= end:   # sparse frames: stretch the piece to hold one
            end = (self.buffer[0][1] + self.buffer[1][1]) / 2
        inside = [f for f in self.buffer if f[1] < end]
        self.buffer = self.buffer[len(inside):]
        piece = Segment(self.span_start, end, tuple(i for i, _ in inside))
        self.span_start = end
        return piece

    def _split(self, start: float, end: float, frames: list[tuple[int, float]]) -> list[Segment]:
        """Equal pieces <= max_len over [start, end); pieces without frames join a neighbour."""
        if not frames:
            return []
        n = max(1, math.ceil((end - start) / self.max_len - 1e-9))
        bounds = [start + (end - start) * k / n for k in range(n)] + [end]
        pieces: list[list] = []   # [start, end, indices]
        carry_start: float | None = None
        position = 0
        for k in range(n):
            last = k == n - 1
            indices = []
            while position < len(frames) and (last or frames[position][1] < bounds[k + 1]):
                indices.append(frames[position][0])
                position += 1
            piece_start = bounds[k] if carry_start is None else carry_start
            if indices:
                pieces.append([piece_start, bounds[k + 1], indices])
                carry_start = None
            elif pieces:
                pieces[-1][1] = bounds[k + 1]
            else:
                carry_start = piece_start
        return [Segment(a, b, tuple(ix)) for a, b, ix in pieces]


def cuts_per_frame(times: Sequence[float], cut_times: Sequence[float]) -> list[float | None]:
    """For each frame, the cut just before it (a cut in (t[i-1], t[i]]), or None; the first of several wins."""
    cuts = sorted(cut_times)
    out: list[float | None] = [None] * len(times)
    position = 0
    for i in range(1, len(times)):
        while position < len(cuts) and cuts[position] <= times[i - 1]:
            position += 1
        if position < len(cuts) and cuts[position] <= times[i]:
            out[i] = cuts[position]
    return out


def segment(times: Sequence[float], cut_times: Sequence[float], max_len: float, min_len: float,
            duration: float) -> list[Segment]:
    """Segments over [0, max(duration, last time)] for sampled frames at ``times`` (strictly increasing)."""
    segmenter = Segmenter(max_len, min_len)
    out: list[Segment] = []
    for index, (t, cut) in enumerate(zip(times, cuts_per_frame(times, cut_times))):
        out += segmenter.push(index, float(t), cut)
    out += segmenter.finish(duration)
    return out
