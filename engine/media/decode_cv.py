"""The OpenCV decoder, for files PyAV cannot open (and to cross-check PyAV in tests).

OpenCV applies the rotation metadata itself (CAP_PROP_ORIENTATION_AUTO), so frames come out
upright; ``grab`` skips a frame without converting it, ``retrieve`` converts a kept one.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import cv2

from engine.media.probe import open_error
from engine.media.sampling import SampleClock, target_size
from engine.media.types import DecodeStats, MediaInfo, SampledFrame


def iter_opencv(path: Path, info: MediaInfo, clock: SampleClock, short_side: int,
                stats: DecodeStats, warnings: list[str]) -> Iterator[SampledFrame]:
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise open_error(path, OSError("OpenCV could not open it"))
    stats.backend = "opencv"
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    shown_width, shown_height = info.display_size
    width, height = target_size(shown_width, shown_height, short_side)
    step = 1.0 / info.fps if info.fps > 0 else 0.04
    index = -1
    try:
        while True:
            started = time.perf_counter()
            grabbed = cap.grab()
            stats.decode_seconds += time.perf_counter() - started
            if not grabbed:
                break
            index += 1
            stats.frames_decoded += 1
            msec = cap.get(cv2.CAP_PROP_POS_MSEC)
            t = msec / 1000.0 if msec and msec > 0 else index * step
            if not clock.wants(t):
                continue
            started = time.perf_counter()
            ok, bgr = cap.retrieve()
            if not ok:
                stats.decode_errors += 1
                continue
            if bgr.shape[1] != width or bgr.shape[0] != height:
                interpolation = cv2.INTER_AREA if bgr.shape[0] > height else cv2.INTER_LINEAR
                bgr = cv2.resize(bgr, (width, height), interpolation=interpolation)
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            stats.convert_seconds += time.perf_counter() - started
            stats.frames_converted += 1
            clock.take(t)
            yield SampledFrame(time=t, rgb=rgb)
    finally:
        cap.release()
    if stats.decode_errors:
        warnings.append(f"{stats.decode_errors} frame(s) could not be converted")
