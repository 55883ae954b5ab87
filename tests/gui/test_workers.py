"""TaskRunner: work on a pool, its reports and its answer back on the GUI thread, in order."""
from __future__ import annotations

import threading

import pytest

from desktop_app.workers import TaskRunner

pytestmark = pytest.mark.gui


def test_reports_reach_the_gui_thread_in_order_before_the_answer(qtbot):
    runner = TaskRunner(max_threads=1)
    heard: list[tuple[str, object, bool]] = []
    worked_on_gui_thread: list[bool] = []
    gui = threading.current_thread()

    def work(report):
        worked_on_gui_thread.append(threading.current_thread() is gui)
        for n in range(5):
            report(n)
        return "done"

    runner.run(work, lambda value: heard.append(("done", value, threading.current_thread() is gui)),
               lambda message: heard.append(("failed", message, True)),
               on_progress=lambda value: heard.append(("report", value, threading.current_thread() is gui)))
    qtbot.waitUntil(lambda: len(heard) == 6, timeout=5_000)
    runner.wait()
    assert worked_on_gui_thread == [False]
    assert heard == [("report", n, True) for n in range(5)] + [("done", "done", True)]


def test_without_on_progress_the_work_is_called_with_nothing(qtbot):
    runner = TaskRunner()
    got: list[object] = []
    runner.run(lambda: 42, got.append, got.append)
    qtbot.waitUntil(lambda: got == [42], timeout=5_000)
    runner.wait()
