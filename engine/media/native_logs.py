"""Keep OpenCV's and its bundled FFmpeg's own log lines off the terminal.

A file that cannot be read already becomes a MediaError with a reason, recorded against that file; the
native libraries would also print lines such as "moov atom not found" or "[ WARN:0] ... can't be used to
capture by name" into the middle of the CLI's progress bar. PyAV keeps FFmpeg quiet by default.
A variable the user has set (OPENCV_LOG_LEVEL, OPENCV_FFMPEG_LOGLEVEL) is left as it is, for debugging.
"""
from __future__ import annotations

import os

import cv2

FFMPEG_QUIET = "-8"  # AV_LOG_QUIET; OpenCV reads the variable when its FFmpeg backend first opens a file


def quiet_native_logs() -> None:
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", FFMPEG_QUIET)
    if "OPENCV_LOG_LEVEL" not in os.environ:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
