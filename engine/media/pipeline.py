"""One pass over a video: probe, sample, detect shots, segment.

``iter_segments`` yields each segment with its frames as soon as it is final, holding only
the frames of the current shot (at most SPLIT_AHEAD x max_len seconds of them, plus a few of
look-ahead for the shot detector). ``analyse`` collects everything for short videos and tests.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterator

from engine.errors import MediaError
from engine.media.decode import FrameSampler
from engine.media.hw_decode import hwaccel_for
from engine.media.segment import Segmenter
from engine.media.shots import CutDecision, ShotDetector, frame_histogram
from engine.media.types import DecodeStats, MediaInfo, SampledFrame, Segment, SegmentFrames
from engine.settings import Settings


class SegmentStream:
    """Iterate to get SegmentFrames in time order; single use.

    ``info`` is known before iterating (with the probe's warnings); ``warnings`` (decoding
    only) and ``stats`` fill in while iterating;
    ``peak_frames_held`` tells how many frames were in memory at most.
    Raises MediaError when the file cannot be opened or no frame decodes at all.
    """

    def __init__(self, path: str | Path, settings: Settings, short_side: int, **sampler_options):
        self.settings = settings
        sampler_options.setdefault("hwaccel", hwaccel_for(settings.device))
        self.sampler = FrameSampler(path, settings.sample_fps, short_side, **sampler_options)
        self.info: MediaInfo = self.sampler.info
        self.peak_frames_held = 0

    @property
    def warnings(self) -> list[str]:
        return self.sampler.warnings

    @property
    def stats(self) -> DecodeStats:
        return self.sampler.stats

    def __iter__(self) -> Iterator[SegmentFrames]:
        detector = ShotDetector(self.settings.shot_threshold)
        segmenter = Segmenter(self.settings.max_segment_seconds, self.settings.min_segment_seconds)
        held: dict[int, SampledFrame] = {}

        def emit(decisions: list[CutDecision]) -> Iterator[SegmentFrames]:
            for decision in decisions:
                for seg in segmenter.push(decision.index, decision.time, decision.cut_time):
                    yield SegmentFrames(seg, tuple(held.pop(i) for i in seg.frame_indices))

        for index, frame in enumerate(self.sampler):
            held[index] = frame
            self.peak_frames_held = max(self.peak_frames_held, len(held))
            yield from emit(detector.push(frame.time, frame_histogram(frame.rgb)))
        yield from emit(detector.finish())
        if segmenter.last_time is None:
            reasons = "; ".join(self.warnings) or "the decoder returned nothing"
            raise MediaError(f"{self.sampler.path}: truncated or corrupt: no video frame could be decoded "
                             f"({reasons}); copy the file again from its source or re-encode it")
        # A truncated file ends where its frames end, not where its headers say.
        end = self.info.duration
        if self.sampler.ended_early_at is not None:
            end = segmenter.last_time + self.sampler.clock.interval
        for seg in segmenter.finish(end):
            yield SegmentFrames(seg, tuple(held.pop(i) for i in seg.frame_indices))


def iter_segments(path: str | Path, settings: Settings, short_side: int = 224, **sampler_options) -> SegmentStream:
    """Segments of ``path`` with their frames, yielded as each is complete (see SegmentStream)."""
    return SegmentStream(path, settings, short_side, **sampler_options)


def analyse(path: str | Path, settings: Settings, short_side: int = 224,
            **sampler_options) -> tuple[MediaInfo, list[SampledFrame], list[Segment]]:
    """Probe, sample, detect shots and segment in one pass; all frames are kept in memory.

    The returned MediaInfo carries the decoding warnings too. For long videos use iter_segments.
    """
    stream = SegmentStream(path, settings, short_side, **sampler_options)
    frames: list[SampledFrame] = []
    segments: list[Segment] = []
    for item in stream:
        frames.extend(item.frames)
        segments.append(item.segment)
    info = dataclasses.replace(stream.info, warnings=stream.info.warnings + tuple(stream.warnings))
    return info, frames, segments
