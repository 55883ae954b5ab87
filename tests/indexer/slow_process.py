"""A worker process made slow from outside, and a video long enough to take it a while."""
from __future__ import annotations

import os
import signal
import threading
import time

from videogen import ShotSpec, make_video


class Stretcher:
    """Stretches a process's work in time, as a slow laptop would: for its first ``at_least`` seconds the process
    runs RUN seconds in every STOP + RUN, then it runs free.

    The slices are short so that on a fast machine too a file outlasts ``at_least`` (in that time the process
    does at most ``at_least * RUN / (STOP + RUN)`` seconds of work, a few hundredths of a second a second), and the
    stops are short so that it still tells its progress every second or two.
    """
    STOP, RUN = 0.4, 0.01

    def __init__(self, pid: int, at_least: float) -> None:
        self.pid, self.at_least, self.stopping = pid, at_least, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        ends = time.monotonic() + self.at_least
        while not self.stopping.is_set() and time.monotonic() < ends:
            if not self._signal(signal.SIGSTOP):
                return   # gone: the pool killed it, or its work ended with the process
            self.stopping.wait(self.STOP)
            self._signal(signal.SIGCONT)
            self.stopping.wait(self.RUN)
        self._signal(signal.SIGCONT)

    def _signal(self, sig: int) -> bool:
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()
        self._signal(signal.SIGCONT)


def long_video(path, shots: int = 60):
    """``shots`` 4-s shots (4 minutes by default): a worker tells its progress after each."""
    return make_video(path, shots=[ShotSpec(4.0, shape="circle" if i % 2 else "square", pattern="texture")
                                   for i in range(shots)]).path
