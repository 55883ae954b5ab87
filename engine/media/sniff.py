"""Recognise a container from its first bytes, to tell "damaged video" from "not a video"."""
from __future__ import annotations

from pathlib import Path

_MP4_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"}


def sniff_container(head: bytes) -> str | None:
    """The container family ``head`` (the file's first bytes) starts like, or None."""
    if len(head) >= 8 and head[4:8] in _MP4_BOXES:
        return "MP4/QuickTime"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "Matroska/WebM"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "AVI"
    if head.startswith(b"\x00\x00\x01\xba") or head.startswith(b"\x00\x00\x01\xb3"):
        return "MPEG"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return "MPEG-TS"
    if head.startswith(b"FLV"):
        return "FLV"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "ASF/WMV"
    if head.startswith(b"OggS"):
        return "Ogg"
    return None


def sniff_file(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            return sniff_container(fh.read(512))
    except OSError:
        return None
