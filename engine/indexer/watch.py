"""Watching a library's folders: `clipseek watch`, and the window while it is open.

``FolderWatcher`` reports when video files in the folders changed and then stayed quiet for a while (a
copy in progress changes its file many times), and in which of its folders; whoever holds it decides when to
index, and indexes only those folders: a video copied into a small folder does not wait for a large network
folder to be listed.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import Callable

# Imported with the engine, not when the first watcher starts: importing holds the GIL for about 40 ms, a
# stall of the window's thread if a worker does it while the window is in use.
import watchdog.events
import watchdog.observers
import watchdog.observers.polling

from engine.indexer.scan import is_video_name, left_out
from engine.util.network_folders import is_network_folder, system_mounts

POLL_FALLBACK_SECONDS = 30.0
NETWORK_POLL_SECONDS = 60.0     # how often a folder on a network drive is listed (its changes raise no events here)
FOLDERS_CHECK_SECONDS = 5.0     # how often `clipseek watch` looks for folders added, removed, plugged in or out
# Events that mean a file or folder changed. Not "opened" and "closed_no_write": indexing a file raises them.
FILE_CHANGES = frozenset({"created", "modified", "deleted", "moved", "closed", "attrib"})
FOLDER_CHANGES = frozenset({"created", "deleted", "moved"})


class _StopNoise(logging.Filter):
    """watchdog 7 logs "queue_events() called when the thread is inactive" as an error on every normal stop
    (its reading thread wakes once more after the watches are closed); a stop is not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "called when the thread is inactive" not in record.getMessage()


logging.getLogger("watchdog.observers.inotify").addFilter(_StopNoise())
log = logging.getLogger(__name__)


class FolderWatcher:
    """``FolderWatcher(folders, ignore=None, notice=...).start()``; poll ``settled(quiet)``, then
    ``changed_folders()``; ``stop()``.

    Changes that count: a video file created, changed, moved or deleted, and a folder created, moved or
    deleted (a folder of videos moved in or out). Not a folder's own "modified" event, which every file
    written into it raises; not a video merely opened and read (indexing does that); nothing under
    ``ignore`` (the library folder, when it lies inside a watched folder: its thumbnails and catalog
    change whenever the library indexes); nothing the scan leaves out (hidden, or matching ``exclude``).
    """

    def __init__(self, folders: list[str], ignore: str | os.PathLike | None = None,
                 notice: Callable[[str], None] = lambda text: None, exclude: Sequence[str] = ()) -> None:
        self.folders = sorted(folders)
        self._exclude = list(exclude)
        self._ignore = os.path.join(os.path.abspath(ignore), "") if ignore else None
        self._notice = notice
        self._lock = threading.Lock()
        self._last_change = 0.0
        self._dirty = False
        self._changing: set[str] | None = set()   # folders changed since the last settle (None: one not known)
        self._settled: list[str] | None = []      # those of the last settle
        self._observers: list | None = None
        self.polled: list[str] = []     # folders listed every NETWORK_POLL_SECONDS: they lie on network drives

    def start(self) -> "FolderWatcher":
        """Ask the system for change events; where it has no watches left, list the folders every 30 s instead.
        Folders on network drives, whose changes made elsewhere raise no events, are listed every minute."""
        mounts = system_mounts()
        self.polled = [folder for folder in self.folders if is_network_folder(folder, mounts)]
        local = [folder for folder in self.folders if folder not in self.polled]
        for folder in self.polled:
            log.info("%s is on a network drive: it is listed every %.0f s for changes", folder, NETWORK_POLL_SECONDS)
        observers = []
        try:
            if self.polled:
                observers.append(self._started(
                    watchdog.observers.polling.PollingObserver(timeout=NETWORK_POLL_SECONDS), self.polled))
            try:
                if local or not self.polled:
                    observers.append(self._started(watchdog.observers.Observer(), local))
            except OSError as exc:
                # Linux gives each user a fixed number of inotify watches (one per folder; 8,192 on many systems)
                # and instances; a large tree runs out.
                self._notice(f"the system's limit on watched folders was reached ({exc.strerror or exc}); "
                             f"ClipSeek now looks for changes every {POLL_FALLBACK_SECONDS:.0f} s instead. To watch "
                             "instantly, raise fs.inotify.max_user_watches (sysctl)")
                observers.append(self._started(
                    watchdog.observers.polling.PollingObserver(timeout=POLL_FALLBACK_SECONDS), local))
        except BaseException:
            _stop_all(observers)
            raise
        self._observers = observers
        return self

    @property
    def running(self) -> bool:
        return self._observers is not None

    def stop(self) -> None:
        if self._observers is not None:
            _stop_all(self._observers)
            self._observers = None

    def __enter__(self) -> "FolderWatcher":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def settled(self, quiet: float) -> bool:
        """True once after changes, when none came for ``quiet`` seconds."""
        with self._lock:
            if self._dirty and time.monotonic() - self._last_change >= quiet:
                self._dirty = False
                self._settled = None if self._changing is None else sorted(self._changing)
                self._changing = set()
                return True
            return False

    def changed_folders(self) -> list[str] | None:
        """The watched folders the changes of the last settle were in (sorted); None when one of them could not be
        placed in a folder, so every folder is to be looked at. Changes after that settle wait for the next."""
        with self._lock:
            return None if self._settled is None else list(self._settled)

    def changed(self, path: str, is_directory: bool, kind: str) -> None:
        """One file-system event (called on the observer's thread)."""
        if not path or (self._ignore and os.path.join(os.path.abspath(path), "").startswith(self._ignore)):
            return
        folder, relative = self._place_of(os.path.abspath(path))
        if relative and left_out(relative, self._exclude, folder):
            return
        if kind in FOLDER_CHANGES if is_directory else (kind in FILE_CHANGES and is_video_name(path)):
            with self._lock:
                self._last_change = time.monotonic()
                self._dirty = True
                if folder is None:
                    self._changing = None
                elif self._changing is not None:
                    self._changing.add(folder)

    def _place_of(self, path: str) -> tuple[str | None, str]:
        """The watched folder ``path`` is in and the path from there ("" for the folder itself); (None, "") for a
        path in none of them."""
        for folder in self.folders:
            inside = os.path.join(os.path.abspath(folder), "")
            if path.startswith(inside):
                return folder, path[len(inside):]
            if path == os.path.abspath(folder):
                return folder, ""
        return None, ""

    def _started(self, observer, folders: list[str]):
        watcher = self

        class Handler(watchdog.events.FileSystemEventHandler):
            def on_any_event(self, event):
                for path in (getattr(event, "src_path", ""), getattr(event, "dest_path", "")):
                    watcher.changed(os.fsdecode(path), event.is_directory, event.event_type)

        try:
            for folder in folders:
                observer.schedule(Handler(), folder, recursive=True)
            observer.start()
        except OSError:
            observer.stop()
            raise
        return observer


def _stop_all(observers) -> None:
    for observer in observers:
        observer.stop()
    for observer in observers:
        observer.join(5)


def watch_library(lib, progress=None, stop: threading.Event | None = None, poll: float = 0.5,
                  finished: Callable | None = None) -> None:
    """Index once, then again whenever video files settle after a change (looking only in the folders where
    they changed), until ``stop`` is set; ``finished`` is given each run's last ``Progress`` and the folders it
    looked in (None: every folder).

    A folder added or removed by another ClipSeek (``clipseek add-folder`` in another terminal), or a folder
    whose drive is plugged in or out, changes what is watched within FOLDERS_CHECK_SECONDS, and what is new
    is indexed then."""
    stop = stop or threading.Event()
    folders = lib.reachable_folders()
    watcher = lib.folder_watcher(folders)

    def index(changed: list[str] | None = None) -> None:
        if changed is not None:
            # A folder may have left the library since the watcher started; the folders' check sees to that.
            known = {info.path for info in lib.folders()}
            changed = [folder for folder in changed if folder in known]
            if not changed:
                return
        final = lib.index(progress=progress, folders=changed)
        if finished is not None:
            finished(final, changed)
    try:
        index()
        checked = time.monotonic()
        while not stop.wait(poll):
            if time.monotonic() - checked >= FOLDERS_CHECK_SECONDS:
                checked = time.monotonic()
                now = lib.reachable_folders()
                if now != folders:
                    watcher.stop()
                    _say_what_changed(lib, folders, now)
                    folders, watcher = now, lib.folder_watcher(now)
                    index()
                    continue
            if watcher.settled(lib.settings.watch_debounce_seconds):
                index(watcher.changed_folders())
    finally:
        watcher.stop()


def _say_what_changed(lib, before: list[str], now: list[str]) -> None:
    for folder in sorted(set(now) - set(before)):
        lib.notice(f"watching {folder} too")
    for folder in sorted(set(before) - set(now)):
        lib.notice(f"no longer watching {folder}: it left the library, or cannot be reached")
