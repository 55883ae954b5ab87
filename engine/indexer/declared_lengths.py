"""The length a video file's container declares in its header, read without a decoder, for the indexing progress.

Until a worker has probed a file, the progress total guessed its length from its size at the bytes per second of
the files probed so far, which is off by a factor of two or more when bitrates differ (a phone's 1080p beside a
screen recording). Most files say their length in a few bytes of their header: MP4 and QuickTime in ``mvhd``,
Matroska and WebM in Info's Duration, AVI as frames times the time of a frame. Reading them takes one small read
(and one seek, for an MP4 whose ``moov`` follows its media) a file, in a thread beside the indexing. An MPEG
transport stream (broadcast recordings; AVCHD camcorders' .mts and .m2ts) or program stream (.mpg, DVDs' .vob)
declares no length, but its video timestamps say it: the first ones near its start, the last ones in its last
megabyte.

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
END_READ_BYTES = 1 << 20    # read at each end of an MPEG transport or program stream for its video timestamps
END_STAMPS = 64             # video timestamps at each end among which the first and last are found

_MP4_TOP = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot", b"uuid", b"meta", b"pdin", b"moof",
            b"mfra", b"styp", b"sidx"}
_EBML, _SEGMENT, _INFO, _CLUSTER = 0x1A45DFA3, 0x18538067, 0x1549A966, 0x1F43B675
_TIMESTAMP_SCALE, _DURATION = 0x2AD7B1, 0x4489


def declared_seconds(path: str | Path) -> float | None:
    """Seconds of the file's length as its MP4/QuickTime, Matroska/WebM or AVI header declares it, or as an MPEG
    transport or program stream's video timestamps span; None for other containers, a header that says nothing or
    cannot be read, or a file that cannot be opened."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(2 * 192 + 8)
            fh.seek(0)
            if len(head) >= 8 and head[4:8] in _MP4_TOP:
                seconds = _mp4(fh)
            elif head.startswith(b"\x1a\x45\xdf\xa3"):
                seconds = _matroska(fh)
            elif head.startswith(b"RIFF") and head[8:12] == b"AVI ":
                seconds = _avi(fh)
            elif _ts_packet_size(head):
                seconds = _mpegts(fh, _ts_packet_size(head))
            elif head.startswith(b"\x00\x00\x01\xba"):
                seconds = _mpeg_ps(fh)
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


# === MPEG transport and program streams =========================================================

def _ts_packet_size(head: bytes) -> int | None:
    """188 (MPEG-TS), 192 (BDAV's M2TS, AVCHD: a 4-byte arrival time before each packet), or None."""
    for size, sync in ((188, 0), (192, 4)):
        if len(head) > 2 * size + sync and head[sync:sync + 2 * size + 1:size] == b"\x47\x47\x47":
            return size
    return None


def _video_timestamps(data: bytes, size: int, pid: int | None) -> tuple[int | None, list[int]]:
    """The PID of the first video elementary stream found in ``data`` (``pid`` if given) and the PTS of its PES
    packets that start there. ``data`` may begin inside a packet."""
    stamps: list[int] = []
    start = next((i for i in range(size) if data[i:i + 2 * size + 1:size] == b"\x47\x47\x47"), None)
    if start is None:
        return pid, stamps
    for pos in range(start, len(data) - 188 + 1, size):
        packet = data[pos:pos + 188]
        if packet[0] != 0x47 or not packet[1] & 0x40:         # out of step, or no PES starts here
            continue
        packet_pid = ((packet[1] & 0x1F) << 8) | packet[2]
        if pid is not None and packet_pid != pid:
            continue
        control = (packet[3] >> 4) & 3
        pes = packet[4 + (1 + packet[4] if control & 2 else 0):] if control & 1 else b""
        pts = _pes_pts(pes[6:]) if pes[:3] == b"\x00\x00\x01" and len(pes) > 3 and 0xE0 <= pes[3] <= 0xEF else None
        if pts is not None:                                    # a video PES header with a PTS
            pid = packet_pid
            stamps.append(pts)
    return pid, stamps


def _ps_video_timestamps(data: bytes, stream_id: int | None) -> tuple[int | None, list[int]]:
    """The first video stream's ID (``stream_id`` if given) and the PTS of its PES packets in ``data``, a stretch
    of an MPEG program stream (MPEG-1 or MPEG-2 PES headers)."""
    stamps: list[int] = []
    pos = data.find(b"\x00\x00\x01")
    while 0 <= pos <= len(data) - 19:
        sid = data[pos + 3]
        if 0xE0 <= sid <= 0xEF and stream_id in (None, sid):
            pts = _pes_pts(data[pos + 6:pos + 6 + 28])
            if pts is not None:
                stream_id = sid
                stamps.append(pts)
        pos = data.find(b"\x00\x00\x01", pos + 3)
    return stream_id, stamps


def _pes_pts(header: bytes) -> int | None:
    """The PTS in a PES header after its length field, MPEG-2 or MPEG-1 style, when its marker bits hold."""
    if len(header) >= 8 and header[0] & 0xC0 == 0x80:              # MPEG-2: flags, PTS_DTS_flags, header length
        field = header[3:8] if header[1] & 0x80 else None
    else:                                                           # MPEG-1: stuffing, buffer size, then the PTS
        i = 0
        while i < 16 and i < len(header) and header[i] == 0xFF:
            i += 1
        if i + 1 < len(header) and header[i] & 0xC0 == 0x40:
            i += 2
        field = header[i:i + 5] if i + 5 <= len(header) and header[i] & 0xE0 == 0x20 else None
    if field is None or len(field) < 5 or not field[0] & field[2] & field[4] & 1:
        return None
    return ((field[0] >> 1) & 7) << 30 | field[1] << 22 | (field[2] >> 1) << 15 | field[3] << 7 | field[4] >> 1


def _mpegts(fh: BinaryIO, size: int) -> float | None:
    return _timestamps_span(fh, lambda data, pid: _video_timestamps(data, size, pid))


def _mpeg_ps(fh: BinaryIO) -> float | None:
    return _timestamps_span(fh, _ps_video_timestamps)


def _timestamps_span(fh: BinaryIO, read) -> float | None:
    """Seconds between the first video timestamps near the file's start and the last ones near its end, which
    ``read(data, stream)`` finds in a stretch of the file (``stream`` None: the first video stream found)."""
    head = fh.read(END_READ_BYTES)
    stream, first = read(head, None)
    if not first:
        return None
    end = fh.seek(0, 2)
    last = first
    if end > len(head):
        fh.seek(max(len(head), end - END_READ_BYTES))
        last = read(fh.read(END_READ_BYTES), stream)[1]
    if not last:
        return None
    # 33-bit timestamps at 90 kHz, which wrap after 26.5 hours: each is taken as the nearest in time to the first
    # (so a file may span one wrap, and up to 13 hours). The first and last few, since pictures are sent out of order.
    origin = first[0]

    def since_origin(pts: int) -> int:
        ticks = (pts - origin) % (1 << 33)
        return ticks - (1 << 33) if ticks >= 1 << 32 else ticks
    return (max(map(since_origin, last[-END_STAMPS:])) - min(map(since_origin, first[:END_STAMPS]))) / 90_000


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
