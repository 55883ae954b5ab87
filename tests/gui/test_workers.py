"""TaskRunner: work on a pool, its reports and its answer back on the GUI thread, in order."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

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


_RUNNER_KEPT_BY_ITS_CALLBACKS = """
import gc
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication
from desktop_app.workers import TaskRunner

app = QApplication([])
gc.disable()                                  # as in the window: only the GUI thread's timer collects
got = []

def start_and_forget():
    runner = TaskRunner(max_threads=1)        # no parent: its Python object owns it
    runner.run(lambda: 42, got.append, got.append)
    runner.wait()
    QCoreApplication.sendPostedEvents(None, 0)          # the answer; its callback deletes the signals later

start_and_forget()
assert got == [42], got
QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
print("deleted once")
"""


def test_a_runner_kept_only_by_its_finished_tasks_callbacks_is_deleted_once():
    # The callbacks connected to a finished task's signals can be all that keeps a runner (here one without a parent
    # whose function has returned). Deleting those signals frees the callbacks, and with them the runner; had the
    # signals been the runner's child, the runner would delete them a second time: "shared QObject was deleted
    # directly", then a segmentation fault (the rare crash of tests/gui at this file's first test). In a process of
    # its own, so that a crash fails this test alone.
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(repo))
    done = subprocess.run([sys.executable, "-c", _RUNNER_KEPT_BY_ITS_CALLBACKS], capture_output=True, text=True,
                          env=env, cwd=repo, timeout=120)
    assert done.returncode == 0 and "deleted once" in done.stdout, done.stderr[-3000:]
    assert "deleted directly" not in done.stderr
