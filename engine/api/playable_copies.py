"""Playable copies of moments, kept in the user's cache folder: made once, found again, the oldest dropped."""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
import time
from pathlib import Path

from engine.api.types import Moment, PlayableCopy
from engine.errors import MediaError
from engine.paths import cache_dir

KEPT = 24                  # copies kept; each is a few MB
_NAME = re.compile(r"^(?P<key>[0-9a-f]{20})_(?P<start>\d+)_(?P<end>\d+)\.mp4$")


class PlayableCopies:
    """``copy_of(moment)``: a copy of the moment that any player shows, made the first time it is asked for."""

    def __init__(self, folder: Path | None = None, kept: int = KEPT) -> None:
        self.folder = Path(folder) if folder is not None else cache_dir() / "playable"
        self.kept = kept
        self._lock = threading.Lock()      # two asks for one moment make it once

    def copy_of(self, moment: Moment) -> PlayableCopy:
        from engine.media.playable import make_playable

        try:
            stat = os.stat(moment.path)
        except OSError as exc:
            raise MediaError(f"{moment.path}: cannot be read ({exc.strerror or exc})") from exc
        # The file's size and time are in the key: a changed file gets a new copy.
        key = hashlib.sha1(f"{os.path.abspath(moment.path)}|{stat.st_size}|{stat.st_mtime_ns}|"
                           f"{moment.start:.3f}|{moment.end:.3f}".encode()).hexdigest()[:20]
        with self._lock:
            found = self._find(key)
            if found is not None:
                return found
            made = make_playable(moment.path, moment.start, moment.end, self.folder / f"{key}.partial.mp4")
            final = self.folder / f"{key}_{round(made.start * 1000)}_{round(made.end * 1000)}.mp4"
            os.replace(made.path, final)
            self._prune()
        return PlayableCopy(str(final), made.start, made.end)

    def _find(self, key: str) -> PlayableCopy | None:
        for path in self.folder.glob(f"{key}_*.mp4"):
            match = _NAME.match(path.name)
            if match:
                with contextlib.suppress(OSError):
                    now = time.time_ns()    # the system clock's own precision, not the file system's tick
                    os.utime(path, ns=(now, now))    # used now: the last to be dropped
                return PlayableCopy(str(path), int(match["start"]) / 1000, int(match["end"]) / 1000)
        return None

    def _prune(self) -> None:
        copies = [p for p in self.folder.glob("*.mp4") if _NAME.match(p.name)]
        copies.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        for old in copies[self.kept:]:
            with contextlib.suppress(OSError):
                old.unlink()
