"""Video in, frames and moments out: probe, decode + sample, shot detection, segmentation, thumbnails.

    info = probe(path)                                    # MediaInfo, or MediaError with a reason
    for frame in sample_frames(path, fps=2, short_side=224): ...
    for item in iter_segments(path, settings, short_side=224):   # bounded memory
        item.segment, item.frames, thumbnail(item.middle_frame.rgb, settings.thumbnail_width)
    info, frames, segments = analyse(path, settings, short_side=224)   # everything at once
"""
from __future__ import annotations

from engine.media.native_logs import quiet_native_logs

quiet_native_logs()

from engine.media.decode import FrameSampler, sample_frames
from engine.media.limits import DEFAULT_LIMITS, MediaLimits
from engine.media.pipeline import SegmentStream, analyse, iter_segments
from engine.media.probe import probe
from engine.media.segment import Segmenter, segment
from engine.media.shots import ShotDetector, detect_shots, frame_histogram, histogram_distance
from engine.media.thumbnail import thumbnail
from engine.media.types import DecodeStats, MediaInfo, SampledFrame, Segment, SegmentFrames

__all__ = [
    "DEFAULT_LIMITS", "DecodeStats", "FrameSampler", "MediaInfo", "MediaLimits", "SampledFrame", "Segment",
    "SegmentFrames", "SegmentStream", "Segmenter", "ShotDetector", "analyse", "detect_shots", "frame_histogram",
    "histogram_distance", "iter_segments", "probe", "sample_frames", "segment", "thumbnail",
]
