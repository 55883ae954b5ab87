"""The context menu of a result, and the desktop actions behind it."""
from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMenu, QWidget

from desktop_app import theme
from desktop_app.formatting import moment_reference
from engine.api.types import Moment


class MomentActions(QObject):
    """Signals for the actions that need the window: ``play``, ``similar``, ``export`` (each with the Moment).
    The desktop-only actions (open, reveal, copy) are done here."""

    play = Signal(object)
    similar = Signal(object)
    export = Signal(object)

    def menu(self, moment: Moment, parent: QWidget) -> QMenu:
        menu = QMenu(parent)
        menu.addAction(theme.icon("play", size=16), "Play", lambda: self.play.emit(moment))
        menu.addAction(theme.icon("external", size=16), "Open in system player", lambda: open_externally(moment))
        menu.addAction(theme.icon("folder", size=16), "Show in file manager", lambda: reveal_in_file_manager(moment))
        menu.addAction(theme.icon("copy", size=16), "Copy path and time", lambda: copy_reference(moment))
        menu.addSeparator()
        menu.addAction(theme.icon("similar", size=16), "Find similar moments", lambda: self.similar.emit(moment))
        menu.addAction(theme.icon("export", size=16), "Export moment as video…", lambda: self.export.emit(moment))
        return menu


def open_externally(moment: Moment) -> bool:
    return QDesktopServices.openUrl(QUrl.fromLocalFile(moment.path))


def reveal_in_file_manager(moment: Moment) -> None:
    """Select the file in Explorer/Finder; elsewhere open its folder."""
    if sys.platform == "win32":
        subprocess.Popen(["explorer", "/select,", os.path.normpath(moment.path)])
    elif sys.platform == "darwin":
        subprocess.Popen(["open", "-R", moment.path])
    else:
        QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(moment.path)))


def copy_reference(moment: Moment) -> str:
    text = moment_reference(moment)
    QGuiApplication.clipboard().setText(text)
    return text


def export_file_name(moment: Moment) -> str:
    """'beach.mp4' at 12.0-20.5 s -> 'beach 0m12s-0m20s.mp4'."""
    stem, ext = os.path.splitext(os.path.basename(moment.path))

    def mark(seconds: float) -> str:
        minutes, secs = divmod(int(seconds), 60)
        return f"{minutes}m{secs:02d}s"

    return f"{stem} {mark(moment.start)}-{mark(moment.end)}{ext or '.mp4'}"
