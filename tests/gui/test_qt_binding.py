"""The installed Qt binding keeps Python's reference counts: a window that runs for hours makes millions of calls.

PySide6 6.12.0 on Python 3.11 did not: each call of a Qt method that returns nothing took a reference from None,
each emission of a signal one from True (and kept one to the value emitted, which was never freed). None's and
True's counts reached zero after some thousands to a few hundred thousand calls and Python aborted ("deallocating
None", "deallocating True or False"). From Python 3.12 None and True are immortal (the leak was not checked there).
"""
from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

pytestmark = pytest.mark.gui

CALLS = 2_000
EMISSIONS = 300        # few: on such a binding, True's count in a small test process reaches zero in some thousands


class _Emitter(QObject):
    changed = Signal(object)


def _lost(obj: object, calls, times: int = CALLS) -> int:
    before = sys.getrefcount(obj)
    for _ in range(times):
        calls()
    return before - sys.getrefcount(obj)


def test_calls_that_return_nothing_leave_nones_reference_count_alone(qapp):
    label = QLabel()

    def calls() -> None:
        label.setText("x")
        label.setEnabled(True)
        label.setObjectName("label")
    lost = _lost(None, calls)
    assert lost < CALLS // 10, f"{lost} references to None lost in {3 * CALLS} calls (PySide6 {_version()})"


def test_emitting_a_signal_leaves_the_reference_counts_of_true_false_and_the_value_alone(qapp):
    emitter, heard = _Emitter(), []
    emitter.changed.connect(heard.append)
    payload = object()
    lost = {name: _lost(value, lambda: emitter.changed.emit(payload), EMISSIONS) for name, value in
            (("True", True), ("False", False), ("the value emitted", payload))}
    assert len(heard) == 3 * EMISSIONS
    heard.clear()
    assert all(n < EMISSIONS // 10 for n in lost.values()), \
        f"references lost in {EMISSIONS} emissions each: {lost} (PySide6 {_version()})"


def _version() -> str:
    import PySide6

    return PySide6.__version__
