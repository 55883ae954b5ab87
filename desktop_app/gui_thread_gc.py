"""Python's cyclic garbage collection, moved onto the GUI thread.

Automatic collection runs in whichever thread happens to allocate when a threshold is crossed: in the
window that is often a search, preview or indexing thread. A cycle that holds a Qt object (a closed window
or dialog and the lambdas connected to its signals) collected there deletes that object off the GUI
thread, and Qt crashes ("Fatal Python error: Segmentation fault ... Garbage-collecting" in a pool thread).
So while the window runs, automatic collection is off and the GUI thread collects on a timer, each
generation as often as the usual thresholds ask for it.
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_MS = 250


class GuiThreadGarbageCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_MS) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def check(self) -> int | None:
        """Collect the oldest generation whose count passed its threshold; returns it (None: none did)."""
        generation = None
        for gen, (count, threshold) in enumerate(zip(gc.get_count(), self._thresholds)):
            if threshold and count > threshold:
                generation = gen
        if generation is not None:
            gc.collect(generation)
        return generation

    def stop(self) -> None:
        """Collect everything here, on the GUI thread, and give collection back to Python."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
