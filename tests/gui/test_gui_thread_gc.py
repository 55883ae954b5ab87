"""Cyclic garbage is collected on the GUI thread only (desktop_app.gui_thread_gc)."""
from __future__ import annotations

import gc
import threading

from desktop_app.gui_thread_gc import GuiThreadGarbageCollector


class Finalised:
    """Part of a reference cycle; records the thread that finally deletes it."""

    def __init__(self, record: list) -> None:
        self.record = record
        self.me = self

    def __del__(self) -> None:
        self.record.append(threading.current_thread())


def test_garbage_made_on_the_gui_thread_is_not_collected_by_a_worker_thread(qtbot, _gui_thread_gc):
    assert not gc.isenabled()
    record: list = []
    Finalised(record)                               # unreachable now, but only the cycle collector frees it

    kept: list = []

    def allocate() -> None:                         # enough to pass every generation's threshold many times
        kept.extend({} for _ in range(50_000))
    worker = threading.Thread(target=allocate)
    worker.start()
    worker.join()
    assert record == []                             # the worker's allocations collected nothing
    qtbot.waitUntil(lambda: record == [threading.main_thread()], timeout=3000)   # the timer's collection


def test_each_generation_is_collected_as_often_as_its_threshold_asks(qapp):
    saved = gc.get_threshold()
    gc.set_threshold(50, 3, 3)
    try:
        collector = GuiThreadGarbageCollector(interval_ms=60_000)
        gc.collect()
        assert collector.check() is None            # nothing allocated since: nothing to do
        keep = [[] for _ in range(60)]
        assert collector.check() == 0
        for _ in range(4):
            keep.extend([] for _ in range(60))
            collector.check()
        assert gc.get_count()[1] == 0               # the fourth young collection took the middle one along
        collector.stop()
    finally:
        gc.set_threshold(*saved)
    assert not gc.isenabled()                       # the fixture's collector still runs; it enables gc at its end
