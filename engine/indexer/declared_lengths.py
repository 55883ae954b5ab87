"""The length a video file's container declares in its header, read without a decoder, for the indexing progress.

Until a worker has probed a file, the progress total guessed its length from its size at the bytes per second of
the files probed so far, which is off by a factor of two or more when bitrates differ (a phone's 1080p beside a
screen recording). Most files say their length in a few bytes of their header: MP4 and QuickTime in ``mvhd``,
Matroska and WebM in Info's Duration, AVI as frames times the time of a frame. Reading them takes one small read
(and one seek, for an MP4 whose ``moov`` follows its media) a file, in a thread beside the indexing.

Only the standard library: the ``clipseek`` process, which runs the indexer's loop, never loads a decoder.
"""
from __future__ import annotations

import io
import struct
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Protocol

MAX_BOXES = 10_000          # top-level MP4 boxes or Matroska elements looked at before giving up
MAX_HEADER_BYTES = 1 << 20  # the most read of one header list (AVI's hdrl, Matroska's Info)

_MP4_TOP = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot", b"uuid", b"meta", b"pdin", b"moof",
            b"mfra", b"styp", b"sidx"}
_EBML, _SEGMENT, _INFO, _CLUSTER = 0x1A45DFA3, 0x18538067, 0x1549A966, 0x1F43B675
_TIMESTAMP_SCALE, _DURATION = 0x2AD7B1, 0x4489


def declared_seconds(path: str | Path) -> float | None:
    """Seconds of the file's length as its MP4/QuickTime, Matroska/WebM or AVI header declares it; None for other
    containers, a header that says nothing or cannot be read, or a file that cannot be opened."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            fh.seek(0)
            if len(head) >= 8 and head[4:8] in _MP4_TOP:
                seconds = _mp4(fh)
            elif head.startswith(b"\x1a\x45\xdf\xa3"):
                seconds = _matroska(fh)
            elif head.startswith(b"RIFF") and head[8:12] == b"AVI ":
                seconds = _avi(fh)
            else:
                return None
    except (OSError, ValueError, struct.error):
        return None
    return seconds if seconds is not None and 0 < seconds < 1e7 else None


# === MP4 / QuickTime ============================================================================

def _boxes(fh: BinaryIO, start: int, end: int | None):
    """(type, payload offset, payload size) of the boxes from ``start`` to ``end`` (None: the file's end)."""
    pos = start
    for _ in range(MAX_BOXES):
        if end is not None and pos + 8 > end:
            return
        fh.seek(pos)
        header = fh.read(8)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header)
        offset = 8
        if size == 1:
            size = struct.unpack(">Q", fh.read(8))[0]
            offset = 16
        elif size == 0:               # to the end of the file (or of the parent)
            size = (end if end is not None else fh.seek(0, 2)) - pos
        if size < offset:
            return
        yield kind, pos + offset, size - offset
        pos += size


def _mp4(fh: BinaryIO) -> float | None:
    for kind, offset, size in _boxes(fh, 0, None):
        if kind != b"moov":
            continue
        for child, child_offset, child_size in _boxes(fh, offset, offset + size):
            if child != b"mvhd":
                continue
            fh.seek(child_offset)
            data = fh.read(min(child_size, 32))
            if data[0] == 1:
                timescale, duration = struct.unpack(">IQ", data[20:32])
                unknown = duration == 0xFFFF_FFFF_FFFF_FFFF
            else:
                timescale, duration = struct.unpack(">II", data[12:20])
                unknown = duration == 0xFFFF_FFFF
            return duration / timescale if timescale and not unknown else None
        return None
    return None


# === Matroska / WebM ============================================================================

def _vint(fh: BinaryIO, keep_marker: bool) -> tuple[int | None, int]:
    """An EBML variable-length integer: (value, bytes read); value None for an unknown size (all ones)."""
    first = fh.read(1)
    if not first:
        raise ValueError("end of file")
    b = first[0]
    length = 1
    while length <= 8 and not b & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        raise ValueError("not an EBML number")
    rest = fh.read(length - 1)
    if len(rest) < length - 1:
        raise ValueError("end of file")
    value = b if keep_marker else b & (0xFF >> length)
    for c in rest:
        value = (value << 8) | c
    if not keep_marker and value == (1 << (7 * length)) - 1:
        return None, length
    return value, length


def _element(fh: BinaryIO) -> tuple[int, int | None]:
    """The next element's ID and data size; the file is left at its data."""
    element_id, _ = _vint(fh, keep_marker=True)
    size, _ = _vint(fh, keep_marker=False)
    return element_id, size


def _matroska(fh: BinaryIO) -> float | None:
    element_id, size = _element(fh)
    if element_id != _EBML or size is None:
        return None
    fh.seek(size, 1)
    element_id, _ = _element(fh)
    if element_id != _SEGMENT:
        return None
    for _ in range(MAX_BOXES):
        element_id, size = _element(fh)
        if element_id == _CLUSTER or size is None:
            return None          # the media begins (or a size is unknown) before Info was found
        if element_id == _INFO:
            return _matroska_info(fh.read(min(size, MAX_HEADER_BYTES)))
        fh.seek(size, 1)
    return None


def _matroska_info(data: bytes) -> float | None:
    fh = io.BytesIO(data)
    scale, duration = 1_000_000, None          # nanoseconds a tick, by default
    while fh.tell() < len(data):
        element_id, size = _element(fh)
        if size is None:
            return None
        value = fh.read(size)
        if element_id == _TIMESTAMP_SCALE:
            scale = int.from_bytes(value, "big")
        elif element_id == _DURATION and size in (4, 8):
            duration = struct.unpack(">f" if size == 4 else ">d", value)[0]
    return duration * scale / 1e9 if duration is not None else None


# === AVI ========================================================================================

def _chunks(data: bytes):
    """(fourcc, list type or None, body) of the RIFF chunks in ``data``."""
    pos = 0
    while pos + 8 <= len(data):
        fourcc, size = struct.unpack("<4sI", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + size]
        if fourcc == b"LIST":
            yield fourcc, body[:4], body[4:]
        else:
            yield fourcc, None, body
        pos += 8 + size + (size & 1)


def _avi(fh: BinaryIO) -> float | None:
    fh.seek(12)
    header = fh.read(12)
    if len(header) < 12 or header[0:4] != b"LIST" or header[8:12] != b"hdrl":
        return None
    size = struct.unpack("<I", header[4:8])[0]
    hdrl = fh.read(min(size - 4, MAX_HEADER_BYTES))
    frame_seconds, frames = None, None
    for fourcc, kind, body in _chunks(hdrl):
        if fourcc == b"avih" and len(body) >= 20:
            micros, frames_in_first_riff = struct.unpack("<I12xI", body[:20])
            frame_seconds = micros / 1e6
            frames = frames or frames_in_first_riff
        elif kind == b"odml":            # OpenDML (files over 1 GB): avih counts the first RIFF's frames only
            for inner, _, inner_body in _chunks(body):
                if inner == b"dmlh" and len(inner_body) >= 4:
                    frames = struct.unpack("<I", inner_body[:4])[0] or frames
    return frames * frame_seconds if frames and frame_seconds else None


# === read beside the indexing ===================================================================

class _Lengthy(Protocol):
    path: str
    declared: float | None


class DeclaredLengthReader:
    """Reads, in a daemon thread, the declared length of each of ``files`` into its ``declared`` attribute, in the
    order given; ``stop()`` ends it early (the run it serves is over)."""

    def __init__(self, files: Iterable[_Lengthy]) -> None:
        self._files = list(files)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clipseek-declared-lengths", daemon=True)

    def start(self) -> "DeclaredLengthReader":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        for f in self._files:
            if self._stop.is_set():
                return
            f.declared = declared_seconds(f.path)
