"""Find video files under a folder and fingerprint their content.

The content hash is a *sampled* hash (size + first, middle and last MiB, blake2b):
reading whole multi-gigabyte files just to notice a rename would make rescans slow,
and a rename or move never changes those bytes.
"""
from __future__ import annotations

import errno
import fnmatch
import hashlib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.settings import VIDEO_EXTENSIONS
from engine.util.file_names import printable, storable

_CHUNK = 1 << 20


@dataclass(frozen=True)
class FoundFile:
    path: str
    size: int
    mtime: float


@dataclass(frozen=True)
class RefusedFile:
    """An entry with a video's name that is never opened: not a regular file, or a name the catalog cannot hold."""
    path: str       # as the catalog holds it: a name that is not UTF-8 is written with \xNN escapes
    reason: str


@dataclass
class FolderScan:
    files: list[FoundFile] = field(default_factory=list)
    refused: list[RefusedFile] = field(default_factory=list)
    # (folder, why) for folders whose entries could not be listed or looked at: what the catalog
    # knows below them is not known to be gone.
    unreadable: list[tuple[str, str]] = field(default_factory=list)


def is_video_name(name: str) -> bool:
    return name.lower().endswith(VIDEO_EXTENSIONS)


def left_out(relative: str, patterns: Sequence[str], folder: str | os.PathLike | None = None) -> bool:
    """Whether the entry at ``relative`` (a path below a library folder) is left out of the library: a
    hidden name (starting with '.') on the way, or a match for one of ``patterns`` (the ``exclude``
    setting), compared without regard to case. A pattern without '/' matches any folder or file name on
    the way ("@eaDir", "*.tmp.mp4"); one with '/' matches the path from the library folder, or the start
    of it ("Work/raw" leaves out that folder and all below it; '*' spans folders too). A leading '/' makes
    a path of a single name ("/clip.mp4": that file of the library folder itself, not every clip.mp4).
    A pattern that starts with ``folder``, the library folder's own path, is a path from it for it alone
    ("/home/me/Camera 2019/DCIM/MVI_0001.MOV", as ``Library.leave_out`` writes them): another library folder
    may hold the same DCIM/MVI_0001.MOV."""
    parts = [p for p in relative.replace(os.sep, "/").split("/") if p and p != "."]
    if any(p.startswith(".") for p in parts):
        return True
    names = [p.casefold() for p in parts]
    own = folder_prefix(folder) if folder is not None else None
    for pattern in patterns:
        pattern = pattern.casefold()
        if own is not None and pattern.startswith(own):
            pattern = "/" + pattern[len(own):]
        anchored = pattern.startswith("/")
        pattern = pattern.strip("/")
        if "/" not in pattern and not anchored:
            if any(fnmatch.fnmatchcase(name, pattern) for name in names):
                return True
        elif any(fnmatch.fnmatchcase("/".join(names[:end]), pattern) for end in range(1, len(names) + 1)):
            return True
    return False


def folder_prefix(folder: str | os.PathLike) -> str:
    """How a leave-out pattern naming a path of ``folder`` starts: its path with '/' between names, casefolded."""
    return os.fspath(folder).replace(os.sep, "/").rstrip("/").casefold() + "/"


def scan_folder(folder: str | Path, exclude: Sequence[str] = ()) -> FolderScan:
    """Video files below ``folder``, the video-named entries refused, and the folders that could not be read.
    Hidden entries and those matching ``exclude`` (see ``left_out``) are not looked at.

    Follows symlinked folders once (loops are cut).
    """
    scan = FolderScan()

    def unreadable(path: str, exc: OSError) -> None:
        path = os.path.abspath(path)
        if all(path != known for known, _why in scan.unreadable):
            scan.unreadable.append((path, exc.strerror or str(exc)))

    seen_dirs: set[tuple[int, int]] = set()
    for root, dirs, files in os.walk(folder, followlinks=True, onerror=lambda exc: unreadable(exc.filename, exc)):
        try:
            st = os.stat(root)
        except OSError as exc:
            unreadable(root, exc)
            dirs[:] = []
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            dirs[:] = []
            continue
        seen_dirs.add(key)
        below = os.path.relpath(root, folder)
        dirs[:] = sorted(d for d in dirs if not left_out(os.path.join(below, d), exclude, folder))
        for name in sorted(files):
            if not is_video_name(name) or left_out(os.path.join(below, name), exclude, folder):
                continue
            try:
                entry = _examine(os.path.abspath(os.path.join(root, name)))
            except OSError as exc:       # listed, but its folder does not let us look at it (no search permission)
                unreadable(root, exc)
                continue
            if isinstance(entry, FoundFile):
                scan.files.append(entry)
            elif isinstance(entry, RefusedFile):
                scan.refused.append(entry)
    return scan


def _examine(path: str) -> FoundFile | RefusedFile | None:
    """What a listed entry is, from its metadata alone: a FIFO or a device would block whoever opens it.

    None: it went away since the folder was listed. Raises OSError when it cannot be looked at.
    """
    if not storable(path):
        shown = printable(path)
        return RefusedFile(shown, f"{shown}: a name that is not valid UTF-8, so the library cannot store it; "
                                  "rename it to index it")
    try:
        st = os.stat(path)
    except OSError as exc:
        if not os.path.islink(path):
            if isinstance(exc, FileNotFoundError):
                return None
            raise
        return RefusedFile(path, _broken_link_reason(path, exc))
    if stat.S_ISREG(st.st_mode):
        return FoundFile(path, st.st_size, st.st_mtime)
    what = _kind(st.st_mode)
    if os.path.islink(path):
        what = f"a link to {_link_target(path)}, {what}"
    return RefusedFile(path, f"{path}: {what}, not a video file; ClipSeek does not open it")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "something other than a regular file"


def _broken_link_reason(path: str, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return f"{path}: a symbolic link loop (following it never reaches a file)"
    if isinstance(exc, FileNotFoundError):
        return f"{path}: a link to {_link_target(path)}, which does not exist"
    return f"{path}: a link to {_link_target(path)}, which cannot be reached ({exc.strerror or exc})"


def _link_target(path: str) -> str:
    try:
        return printable(os.readlink(path))
    except OSError:
        return "a place that cannot be read"


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
