"""Merge scored segments into moments: neighbouring segments of one file become one range.

A segment joins its neighbour's moment when the two touch in time and its score is
within ``margin`` of the moment's best segment. The margin adapts to the query:
a quarter of the gap between the best candidate and the median candidate, so a
model with a narrow score range does not merge everything, nor a wide one nothing.
The searcher measures it on the nearest candidates only, as many as it reranks for
any number of results, so asking for more results does not widen it.

Copies of one video (same content hash and size, e.g. a backup folder) hold the same segments;
a place in the video is shown once, from a copy whose file can be reached when one cannot.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

TOUCH_SECONDS = 0.05
SAME_SCORE = 1e-5     # copies of a video score the same up to float rounding


@dataclass
class ScoredSegment:
    segment_id: int
    file_id: int
    start: float
    end: float
    score: float
    row: object   # the catalog row, for path, thumbnail, folder, mtime, duration


@dataclass
class MergedMoment:
    file_id: int
    start: float
    end: float
    score: float
    best: ScoredSegment
    segment_ids: tuple[int, ...]


def merge_margin(scores: np.ndarray, fraction: float = 0.25) -> float:
    if len(scores) < 2:
        return 0.0
    return max(0.0, float(np.max(scores) - np.median(scores)) * fraction)


def suppress_overlaps(segments: list[ScoredSegment]) -> list[ScoredSegment]:
    """Best first, drop a candidate overlapping a better one of the same file.

    Overlapping candidates come from pair entries (two neighbouring segments indexed
    together): a one-event query should get its segment, a two-event query the pair.
    """
    kept: list[ScoredSegment] = []
    spans: dict[int, list[tuple[float, float]]] = {}
    for s in sorted(segments, key=lambda s: -s.score):
        taken = spans.setdefault(s.file_id, [])
        if any(min(s.end, e) - max(s.start, b) > TOUCH_SECONDS for b, e in taken):
            continue
        taken.append((s.start, s.end))
        kept.append(s)
    return kept


def merge_segments(segments: list[ScoredSegment], margin: float | None = None) -> list[MergedMoment]:
    if not segments:
        return []
    if margin is None:
        margin = merge_margin(np.array([s.score for s in segments]))
    segments = suppress_overlaps(segments)
    by_file: dict[int, list[ScoredSegment]] = {}
    for s in segments:
        by_file.setdefault(s.file_id, []).append(s)
    moments: list[MergedMoment] = []
    for file_segments in by_file.values():
        file_segments.sort(key=lambda s: s.start)
        used: set[int] = set()
        for seed in sorted(range(len(file_segments)), key=lambda i: -file_segments[i].score):
            if seed in used:
                continue
            best = file_segments[seed]
            lo = hi = seed
            used.add(seed)
            while lo - 1 >= 0 and lo - 1 not in used and \
                    _joins(file_segments[lo - 1], file_segments[lo], file_segments[lo - 1], best, margin):
                lo -= 1
                used.add(lo)
            while hi + 1 < len(file_segments) and hi + 1 not in used and \
                    _joins(file_segments[hi], file_segments[hi + 1], file_segments[hi + 1], best, margin):
                hi += 1
                used.add(hi)
            part = file_segments[lo: hi + 1]
            moments.append(MergedMoment(best.file_id, part[0].start, part[-1].end, best.score, best,
                                        tuple(s.segment_id for s in part)))
    moments.sort(key=lambda m: -m.score)
    return moments


def video_key(row) -> tuple:
    """Which video a catalog row's file is, however many copies of it the library holds: its content (hash and
    size) when known, else the file itself."""
    if getattr(row, "content_hash", None):
        return ("content", row.content_hash, row.size)
    return ("file", row.file_id)


def drop_copies(moments: list[MergedMoment], taken: list[tuple[tuple, int, float, float]] = (),
                reachable: Callable[[str], bool] = os.path.exists) -> list[MergedMoment]:
    """Best first, ``moments`` less those showing again what a better one shows: a moment of one copy of a video
    (a backup, a second download) overlapping a moment of another copy, or overlapping ``taken`` (video key, file
    id, start, end: what the search started from) in another copy. Between copies scored the same, one whose
    file can be reached (not on an unplugged drive) is kept."""
    blocked: dict[tuple, list[tuple[int, float, float]]] = {}
    for key, file_id, start, end in taken:
        blocked.setdefault(key, []).append((file_id, start, end))
    kept: list[MergedMoment] = []
    shown: dict[tuple, list[int]] = {}     # video key -> places in kept
    for m in moments:
        key = video_key(m.best.row)
        if any(file_id != m.file_id and _overlap(m, start, end) for file_id, start, end in blocked.get(key, ())):
            continue
        twin = next((j for j in shown.get(key, ())
                     if kept[j].file_id != m.file_id and _overlap(m, kept[j].start, kept[j].end)), None)
        if twin is None:
            shown.setdefault(key, []).append(len(kept))
            kept.append(m)
        elif (abs(kept[twin].score - m.score) <= SAME_SCORE and not reachable(kept[twin].best.row.path)
              and reachable(m.best.row.path)):
            kept[twin] = m
    return kept


def _overlap(m: MergedMoment, start: float, end: float) -> bool:
    return min(m.end, end) - max(m.start, start) > TOUCH_SECONDS


def _joins(left: ScoredSegment, right: ScoredSegment, candidate: ScoredSegment, best: ScoredSegment,
           margin: float) -> bool:
    if right.start - left.end > TOUCH_SECONDS:
        return False
    return best.score - candidate.score <= margin
