"""Write RGB frames to a video file with PyAV (FFmpeg bundled in the wheel), or OpenCV as a fallback.

The application must not need a system ffmpeg, so nothing here calls one. With PyAV the output is
byte-identical for identical frames and settings (bitexact muxing, a fixed encoder thread count).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.errors import ClipSeekError

# (codec, container) pairs that the shapes world writes; both OpenCV and FFmpeg read them.
FORMATS = (("h264", "mp4"), ("mpeg4", "mp4"), ("mpeg4", "avi"), ("mpeg4", "mkv"))
X264_PRESETS = ("ultrafast", "superfast", "veryfast")
QUALITY_RANGE = {"h264": (18, 36), "mpeg4": (2, 12)}   # x264 CRF, MPEG-4 qscale: lower is better
ENCODER_THREADS = 2          # fixed, because x264's output depends on its thread count

_PYAV_CODEC = {"h264": "libx264", "mpeg4": "mpeg4"}
_PYAV_FORMAT = {"mp4": "mp4", "avi": "avi", "mkv": "matroska"}
_OPENCV_FOURCC = {"h264": "avc1", "mpeg4": "mp4v"}


@dataclass(frozen=True)
class EncodeSettings:
    codec: str = "h264"          # "h264" (H.264) or "mpeg4" (MPEG-4 Part 2)
    container: str = "mp4"       # "mp4", "avi" or "mkv"
    quality: int = 23            # x264 CRF or MPEG-4 qscale; lower is better
    preset: str = "veryfast"     # x264 preset (ignored by mpeg4)
    gop: int = 60                # frames between key frames

    def validate(self) -> EncodeSettings:
        if (self.codec, self.container) not in FORMATS:
            choices = ", ".join(f"{c} in .{k}" for c, k in FORMATS)
            raise ClipSeekError(f"cannot write {self.codec} in .{self.container}; choose one of: {choices}")
        return self


class FrameWriter(Protocol):
    def write(self, frame: np.ndarray) -> None: ...     # [h, w, 3] uint8 RGB
    def close(self) -> None: ...


class PyAVWriter:
    def __init__(self, path: Path, width: int, height: int, fps: Fraction, settings: EncodeSettings):
        import av

        self._av = av
        self._container = av.open(str(path), mode="w", format=_PYAV_FORMAT[settings.container])
        self._container.flags |= av.container.Flags.bitexact.value
        stream = self._container.add_stream(_PYAV_CODEC[settings.codec], rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        context = stream.codec_context
        context.thread_count = ENCODER_THREADS
        context.gop_size = settings.gop
        if settings.codec == "h264":
            stream.options = {"crf": str(settings.quality), "preset": settings.preset}
        else:
            context.qscale = settings.quality
            context.flags |= av.codec.context.Flags.bitexact.value
        self._stream = stream
        self._count = 0

    def write(self, frame: np.ndarray) -> None:
        video_frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        video_frame.pts = self._count
        self._count += 1
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)

    def close(self) -> None:
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        finally:
            self._container.close()


class OpenCVWriter:
    """Fallback without PyAV: quality, preset and GOP are OpenCV's defaults."""

    def __init__(self, path: Path, width: int, height: int, fps: Fraction, settings: EncodeSettings):
        import cv2

        self._cv2 = cv2
        fourcc = cv2.VideoWriter_fourcc(*_OPENCV_FOURCC[settings.codec])
        self._writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, fourcc, float(fps), (width, height))
        if not self._writer.isOpened():
            raise ClipSeekError(f"OpenCV cannot write {settings.codec} in .{settings.container} to {path}; "
                                "install PyAV (`pip install av`) or choose mpeg4")

    def write(self, frame: np.ndarray) -> None:
        self._writer.write(self._cv2.cvtColor(frame, self._cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        self._writer.release()


def pyav_available() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def open_writer(path: Path, width: int, height: int, fps: Fraction, settings: EncodeSettings,
                encoder: str = "auto") -> FrameWriter:
    """``encoder``: "pyav", "opencv", or "auto" (PyAV when installed)."""
    settings.validate()
    if encoder == "auto":
        encoder = "pyav" if pyav_available() else "opencv"
    if encoder == "pyav":
        return PyAVWriter(path, width, height, fps, settings)
    if encoder == "opencv":
        return OpenCVWriter(path, width, height, fps, settings)
    raise ClipSeekError(f"unknown encoder {encoder!r}; choose auto, pyav or opencv")


def partial_path(path: Path) -> Path:
    """Where a video is written before it is moved into place (keeps the extension for OpenCV)."""
    return path.with_name(f".{path.stem}.partial{path.suffix}")


def finish_file(partial: Path, path: Path) -> None:
    with open(partial, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(partial, path)
