"""A worker process made slow from outside, and a video long enough to take it a while."""
from __future__ import annotations

import os
import signal
import threading

from videogen import ShotSpec, make_video


class Stretcher:
    """Stretches a process's work in time: stopped STOP seconds, running RUN, over and over (a slow laptop)."""
    STOP, RUN = 1.0, 0.2

    def __init__(self, pid: int) -> None:
        self.pid, self.stopping = pid, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            if not self._signal(signal.SIGSTOP):
                return   # the pool killed it
            self.stopping.wait(self.STOP)
            self._signal(signal.SIGCONT)
            self.stopping.wait(self.RUN)

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


def long_video(path):
    """240 s of 4-s shots: a worker tells its progress after each, 60 times."""
    return make_video(path, shots=[ShotSpec(4.0, shape="circle" if i % 2 else "square", pattern="texture")
                                   for i in range(60)]).path
