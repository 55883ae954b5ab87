"""`clipseek watch`: index once, then again whenever video files settle after a change."""
from __future__ import annotations

import threading
import time

from engine.indexer.scan import is_video_name


class _ChangeFlag:
    """Set by file-system events; read after a quiet period (debounce)."""

    def __init__(self) -> None:
        self.last_change = 0.0
        self.lock = threading.Lock()
        self.dirty = False

    def touch(self) -> None:
        with self.lock:
            self.last_change = time.monotonic()
            self.dirty = True

    def take_if_quiet(self, quiet: float) -> bool:
        with self.lock:
            if self.dirty and time.monotonic() - self.last_change >= quiet:
                self.dirty = False
                return True
            return False


def watch_library(lib, progress=None, stop: threading.Event | None = None, poll: float = 0.5) -> None:
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    flag = _ChangeFlag()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event):
            paths = [getattr(event, "src_path", ""), getattr(event, "dest_path", "")]
            if event.is_directory or any(is_video_name(str(p)) for p in paths if p):
                flag.touch()

    observer = Observer()
    for folder in lib.folders():
        if folder.state != "missing":
            observer.schedule(Handler(), folder.path, recursive=True)
    observer.start()
    stop = stop or threading.Event()
    try:
        lib.index(progress=progress)
        while not stop.wait(poll):
            if flag.take_if_quiet(lib.settings.watch_debounce_seconds):
                lib.index(progress=progress)
    finally:
        observer.stop()
        observer.join(5)
