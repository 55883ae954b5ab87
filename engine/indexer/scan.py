"""Find video files under a folder and fingerprint their content.

The content hash is a *sampled* hash (size + first, middle and last MiB, blake2b):
reading whole multi-gigabyte files just to notice a rename would make rescans slow,
and a rename or move never changes those bytes.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from engine.settings import VIDEO_EXTENSIONS

_CHUNK = 1 << 20


@dataclass(frozen=True)
class FoundFile:
    path: str
    size: int
    mtime: float


def is_video_name(name: str) -> bool:
    return name.lower().endswith(VIDEO_EXTENSIONS)


def scan_folder(folder: str | Path) -> list[FoundFile]:
    """Video files below ``folder``; follows symlinked folders once (loops are cut)."""
    found: list[FoundFile] = []
    seen_dirs: set[tuple[int, int]] = set()
    for root, dirs, files in os.walk(folder, followlinks=True, onerror=lambda _err: None):
        try:
            st = os.stat(root)
        except OSError:
            dirs[:] = []
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            dirs[:] = []
            continue
        seen_dirs.add(key)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or not is_video_name(name):
                continue
            path = os.path.join(root, name)
            try:
                fst = os.stat(path)
            except OSError:
                continue
            if not os.path.isfile(path):
                continue
            found.append(FoundFile(os.path.abspath(path), fst.st_size, fst.st_mtime))
    return found


def content_hash(path: str | Path) -> str:
    """Sampled content hash; raises OSError when the file cannot be read."""
    h = hashlib.blake2b(digest_size=20)
    size = os.path.getsize(path)
    h.update(size.to_bytes(8, "little"))
    with open(path, "rb") as fh:
        for offset in _sample_offsets(size):
            fh.seek(offset)
            h.update(fh.read(_CHUNK))
    return h.hexdigest()


def _sample_offsets(size: int) -> list[int]:
    if size <= 3 * _CHUNK:
        return [0] + ([_CHUNK, 2 * _CHUNK] if size > _CHUNK else [])
    return [0, size // 2 - _CHUNK // 2, size - _CHUNK]
