"""The installed Qt binding keeps Python's reference counts: a window that runs for hours makes millions of calls."""
from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel

pytestmark = pytest.mark.gui

CALLS = 2_000


def test_calls_that_return_nothing_leave_nones_reference_count_alone(qapp):
    # PySide6 6.12.0 on Python 3.11 dropped one reference to None at each such call: None's count reached zero
    # after a few hundred thousand of them and Python aborted ("deallocating None"). From 3.12 None is immortal.
    label, owner = QLabel(), QObject()
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        label.setText("x")
        label.setEnabled(True)
        owner.setObjectName("owner")
    lost = before - sys.getrefcount(None)
    assert lost < CALLS // 10, f"{lost} references to None lost in {3 * CALLS} calls (PySide6 {_version()})"


def _version() -> str:
    import PySide6

    return PySide6.__version__
