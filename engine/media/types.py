"""Plain data that engine/media hands out: what a file is, sampled frames, segments."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MediaInfo:
    """What ``probe`` learned about a video file without decoding more than one frame."""
    path: str
    duration: float                   # seconds; 0.0 when neither headers nor packets say
    fps: float                        # nominal frames per second; 0.0 when unknown or implausible
    width: int                        # stored frame size in pixels, before rotation
    height: int
    rotation: int                     # degrees counter-clockwise to turn decoded frames for display: 0/90/180/270
    codec: str                        # decoder name, e.g. "h264"
    frame_count: int                  # from the header, else round(duration * fps): an estimate
    has_video: bool                   # always True for a probed file (no video raises MediaError)
    keyframe_interval: float | None   # longest gap between keyframes in the first packets, seconds; None if unknown
    container: str = ""               # demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    backend: str = "pyav"             # "pyav", or "opencv" when PyAV could not open the file
    sample_aspect: float = 1.0        # pixel aspect ratio (anamorphic video is shown wider than stored)
    warnings: tuple[str, ...] = ()    # things worth telling the user that did not stop the work
    recorded_at: float | None = None  # when it was recorded, seconds since the epoch, if the container says

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as a player shows it: pixel aspect and rotation applied."""
        width, height = round(self.width * self.sample_aspect), self.height
        return (height, width) if self.rotation in (90, 270) else (width, height)


@dataclass(frozen=True)
class SampledFrame:
    time: float          # seconds from the start of the video
    rgb: np.ndarray      # uint8 [H,W,3], rotation applied, shorter side == the requested short side


@dataclass(frozen=True)
class Segment:
    """A time range of one video [start, end) and the sampled frames inside it (at least one)."""
    start: float
    end: float
    frame_indices: tuple[int, ...]   # indices into the sequence of sampled frames, ascending

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def middle_index(self) -> int:
        """The sampled frame a thumbnail is taken from."""
        return self.frame_indices[len(self.frame_indices) // 2]


@dataclass(frozen=True)
class SegmentFrames:
    """One finished segment with its frames, as ``iter_segments`` yields them."""
    segment: Segment
    frames: tuple[SampledFrame, ...]   # frames[i] is sampled frame segment.frame_indices[i]

    @property
    def middle_frame(self) -> SampledFrame:
        return self.frames[len(self.frames) // 2]


@dataclass
class DecodeStats:
    """Where decoding time went; benchmarks read it from ``FrameSampler.stats``."""
    backend: str = ""                 # "pyav" or "opencv"
    hardware: str = ""                # the device FFmpeg decoded on ("cuda"), "" for the CPU (see engine.media.hw_decode)
    hardware_refused: str = ""        # why the device asked for could not be opened; the file was decoded on the CPU
    keyframes_only: bool = False      # only keyframes were decoded (see engine.media.decode)
    loop_filter_skipped: bool = False  # keyframes decoded alone were not deblocked (see engine.media.decode)
    skipped_nonref: bool = False      # non-reference frames were not decoded (see engine.media.decode)
    gops_without_b: int = 0           # H.264 GOPs decoded without their B-pictures (see engine.media.decode)
    gops_in_lanes: int = 0            # H.264 GOPs decoded two at a time (see engine.media.gop_lanes)
    packets_skipped: int = 0          # packets never decoded: GOP tails, H.264 non-reference packets, non-key
                                      # packets when only keyframes are decoded (see engine.media.decode)
    frames_decoded: int = 0           # frames that came out of the decoder
    frames_converted: int = 0         # frames resized + converted to RGB (the sampled ones)
    decode_seconds: float = 0.0       # demuxing + decoding, as the reading thread waits for them
    convert_seconds: float = 0.0      # swscale resize/convert + rotation
    decode_errors: int = 0            # packets the decoder refused
    corrupt_frames: int = 0           # frames the decoder flagged as corrupt
