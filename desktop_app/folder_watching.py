"""Keeping the open library up to date while the window is open.

Its folders are watched, so videos copied in, changed or deleted are indexed (or leave the library) once they
have been quiet for the library's debounce time; and every few seconds the folders that can be reached are
compared with those the window shows, so a folder added or removed by another ClipSeek, or one whose drive was
plugged in or out, shows up. Starting and stopping a watcher, and looking at a folder on a network drive, can
take seconds: all of it runs on the window's task runner, never on the GUI thread.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, QTimer, Signal

if TYPE_CHECKING:
    from desktop_app.workers import TaskRunner
    from engine.api import Library
    from engine.indexer.watch import FolderWatcher

SETTLED_CHECK_MS = 500
FOLDERS_CHECK_MS = 5000    # how often to look for folders added or removed elsewhere, or plugged in or out


class FolderWatching(QObject):
    """``FolderWatching(runner, shown, on_error, parent=None)``.

    ``use_library(library)`` stops watching the last library's folders and checks this one's;
    ``watch(folders)`` watches these folders of it (none while watching is off in its settings); ``stop()``
    stops the watcher, ``close()`` stops everything and ``stop_unclaimed()``, after the runner has finished,
    stops the watchers that were still starting.
    ``shown()`` gives the folders the window shows as reachable, sorted.
    Signals: ``settled(folders)`` once files changed in watched folders have been quiet for the debounce time, with
    those of the folders shown (None: look in every folder);
    ``folders_changed(bool)`` when the reachable folders are no longer those shown, with whether the library
    watches its folders (then what changed is to be indexed).
    """

    settled = Signal(object)
    folders_changed = Signal(bool)

    def __init__(self, runner: "TaskRunner", shown: Callable[[], list[str]], on_error: Callable[[str], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._shown = shown
        self._on_error = on_error
        self.library: "Library" | None = None
        self.watcher: "FolderWatcher" | None = None
        self._watched: list[str] | None = None            # the folders of the watcher in use or being started
        self._unclaimed: list["FolderWatcher"] = []         # started on a worker, not yet taken up
        self._closing = False
        self._checking = False
        self.settled_timer = QTimer(self)
        self.settled_timer.setInterval(SETTLED_CHECK_MS)
        self.settled_timer.timeout.connect(self._check_settled)
        self.settled_timer.start()
        self.folders_timer = QTimer(self)
        self.folders_timer.setInterval(FOLDERS_CHECK_MS)
        self.folders_timer.timeout.connect(self.check_folders)
        self.folders_timer.start()

    def use_library(self, library: "Library") -> None:
        self.stop()
        self.library = library

    def watch(self, folders: list[str]) -> None:
        """Watch these folders (on a worker: the system adds one watch per subfolder, slow on a large tree)."""
        library = self.library
        if library is None or not library.settings.watch_folders:
            self.stop()
            return
        if self._closing or sorted(folders) == self._watched:
            return
        self.stop()
        self._watched = watched = sorted(folders)
        if watched:
            self._runner.run(lambda: self._start_watcher(library, watched),
                             lambda watcher: self._use_watcher(library, watcher), self._on_error, owner=self)

    def _start_watcher(self, library: "Library", folders: list[str]) -> "FolderWatcher":
        """On a worker. Kept in ``_unclaimed`` until the GUI thread takes it, so that one whose callback never
        comes (the window closed meanwhile) is still stopped at close."""
        watcher = library.folder_watcher(folders)
        self._unclaimed.append(watcher)
        return watcher

    def _use_watcher(self, library: "Library", watcher: "FolderWatcher") -> None:
        if watcher in self._unclaimed:
            self._unclaimed.remove(watcher)
        if self._closing or library is not self.library or watcher.folders != self._watched:
            self._runner.run(watcher.stop)   # the folders changed again while it started; a newer one is coming
            return
        if self.watcher is not None:
            self._runner.run(self.watcher.stop)
        self.watcher = watcher

    def stop(self) -> None:
        """On a worker: stopping removes every watch, tens of milliseconds on a large tree."""
        self._watched = None
        watcher, self.watcher = self.watcher, None
        if watcher is not None:
            self._runner.run(watcher.stop)

    def close(self) -> None:
        self._closing = True
        self.settled_timer.stop()
        self.folders_timer.stop()
        self.stop()

    def stop_unclaimed(self) -> None:
        """After the runner finished: watchers started while closing, whose callbacks may never run."""
        for watcher in self._unclaimed:
            watcher.stop()
        self._unclaimed.clear()

    def _check_settled(self) -> None:
        if self.watcher is not None and self.library is not None \
                and self.watcher.settled(self.library.settings.watch_debounce_seconds):
            changed = self.watcher.changed_folders()
            if changed is not None:
                # A folder removed since the watcher started is no longer shown; the folders' check sees to it.
                shown = set(self._shown())
                changed = [folder for folder in changed if folder in shown]
                if not changed:
                    return
            self.settled.emit(changed)

    def check_folders(self) -> None:
        """On a worker (a folder on an unplugged network drive can take seconds to answer): whether the folders
        that can be reached are still those shown."""
        library = self.library
        if library is None or self._closing or self._checking:
            return      # the last check is still waiting for a drive: never pile them up on the workers
        self._checking = True
        self._runner.run(library.reachable_folders, lambda found: self._on_folders_checked(library, found),
                         lambda _message: setattr(self, "_checking", False), owner=self)

    def _on_folders_checked(self, library: "Library", found: list[str]) -> None:
        self._checking = False
        if library is not self.library or self._closing:
            return
        if found != self._shown():
            self.folders_changed.emit(library.settings.watch_folders)
