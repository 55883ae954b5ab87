"""GUI tests run offscreen, with their own settings file and data folder."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _hermetic(tmp_path, monkeypatch, qapp):
    monkeypatch.setenv("CLIPSEEK_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(autouse=True)
def _gui_thread_gc(qapp):
    """As in the application (desktop_app.__main__): garbage is collected on the GUI thread only, and what a
    test leaves (closed windows, dialogs) is collected there when it ends."""
    from desktop_app.gui_thread_gc import GuiThreadGarbageCollector

    collector = GuiThreadGarbageCollector()
    yield collector
    collector.stop()


@pytest.fixture
def prefs(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def themed(qapp):
    from desktop_app import theme

    theme.apply(qapp, "light")
    return qapp
