"""When a video was recorded, as its container says.

A file's modification time is the date of the copy for videos taken off a phone or a camera by many
tools, so searches by date and "newest first" use the recording date where the file has one: Apple's
``com.apple.quicktime.creationdate`` (local time with its offset), else the container's or the video
stream's ``creation_time`` (UTC; MP4/MOV's mvhd, Matroska's DateUTC). Values that are no date (MP4's
epoch of 1904, 1970, anything in the future) are ignored.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Mapping

KEYS = ("com.apple.quicktime.creationdate", "creation_time")
EARLIEST = datetime(1980, 1, 1, tzinfo=timezone.utc).timestamp()   # before this, a default, not a recording


def recorded_at(*metadata: Mapping[str, str]) -> float | None:
    """Seconds since the epoch from the first of ``metadata`` (container's, then stream's) that dates the video."""
    for key in KEYS:
        for tags in metadata:
            when = parse_date(tags.get(key))
            if when is not None:
                return when
    return None


def parse_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)   # creation_time is UTC when it does not say
    seconds = when.timestamp()
    return seconds if EARLIEST <= seconds <= time.time() + 86400 else None
