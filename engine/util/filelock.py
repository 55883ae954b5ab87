"""An inter-process lock on a file: one indexer per library at a time; a shared one while a library is open.

The operating system drops the lock when the process dies, so a killed indexer
never leaves a library locked.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

POLL_SECONDS = 0.05            # how often a waiting acquire tries again


class FileLock:
    """Exclusive; with ``shared``, held by any number of holders at once but never beside an exclusive holder.
    (On Windows a shared lock is not taken: a file open there cannot be renamed or replaced anyway.)"""

    def __init__(self, path: Path, shared: bool = False) -> None:
        self.path = Path(path)
        self.shared = shared
        self._fd: int | None = None
        self._thread_lock = threading.Lock()

    @property
    def held_by_us(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float | None = 0.0) -> bool:
        """Take the lock; False if another process (or thread) still holds it after ``timeout`` seconds.

        ``timeout`` 0 tries once without waiting; None waits as long as it takes.
        """
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        if not self._thread_lock.acquire(timeout=-1 if deadline is None else max(timeout, 0.0)):
            return False
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        # Polled rather than a blocking call: Windows has no blocking lock without a retry limit.
        while True:
            try:
                _lock(fd, self.shared)
                break
            except OSError:
                if deadline is not None and time.monotonic() >= deadline:
                    os.close(fd)
                    self._thread_lock.release()
                    return False
                left = POLL_SECONDS if deadline is None else deadline - time.monotonic()
                time.sleep(max(0.0, min(POLL_SECONDS, left)))
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                _unlock(fd)
            finally:
                os.close(fd)
                self._thread_lock.release()


if os.name == "nt":  # pragma: no cover - exercised on Windows builds only
    import msvcrt

    def _lock(fd: int, shared: bool) -> None:
        if not shared:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        try:
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass        # a shared lock, never taken
else:
    import fcntl

    def _lock(fd: int, shared: bool) -> None:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
