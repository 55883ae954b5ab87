"""`clipseek watch`: index once, then again whenever video files settle after a change."""
from __future__ import annotations

import threading
import time

from engine.indexer.scan import is_video_name

POLL_FALLBACK_SECONDS = 30.0


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

    folders = [f.path for f in lib.folders() if f.state != "missing"]
    try:
        observer = _started(Observer(), folders, Handler)
    except OSError as exc:
        # Linux gives each user a fixed number of inotify watches (one per folder; 8,192 on many systems)
        # and instances; a large tree runs out. Look for changes by listing the folders instead.
        from watchdog.observers.polling import PollingObserver

        lib.notice(f"the system's limit on watched folders was reached ({exc.strerror or exc}); ClipSeek now "
                   f"looks for changes every {POLL_FALLBACK_SECONDS:.0f} s instead. To watch instantly, raise "
                   "fs.inotify.max_user_watches (sysctl)")
        observer = _started(PollingObserver(timeout=POLL_FALLBACK_SECONDS), folders, Handler)
    stop = stop or threading.Event()
    try:
        lib.index(progress=progress)
        while not stop.wait(poll):
            if flag.take_if_quiet(lib.settings.watch_debounce_seconds):
                lib.index(progress=progress)
    finally:
        observer.stop()
        observer.join(5)


def _started(observer, folders: list[str], handler_class):
    try:
        for folder in folders:
            observer.schedule(handler_class(), folder, recursive=True)
        observer.start()
    except OSError:
        observer.stop()
        raise
    return observer
