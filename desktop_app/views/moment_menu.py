"""The context menu of a result, and the desktop actions behind it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMenu, QWidget

from desktop_app import theme
from desktop_app.formatting import folder_name, moment_reference
from engine.api.types import Moment


class MomentActions(QObject):
    """Signals for the actions that need the window: ``play``, ``open`` (in the chosen player), ``similar``,
    ``export`` (each with the Moment), ``export_many`` and ``similar_many`` (with a list of them), ``search_in``
    (with the moment's folder) and ``search_in_video`` (with its file). The desktop-only actions (reveal, copy)
    are done here."""

    play = Signal(object)
    open = Signal(object)
    similar = Signal(object)
    export = Signal(object)
    export_many = Signal(list)
    similar_many = Signal(list)
    search_in = Signal(str)
    search_in_video = Signal(str)

    def menu(self, moment: Moment, parent: QWidget) -> QMenu:
        menu = QMenu(parent)
        menu.addAction(theme.icon("play", size=16), "Play", lambda: self.play.emit(moment))
        menu.addAction(theme.icon("external", size=16), "Open in player", lambda: self.open.emit(moment))
        menu.addAction(theme.icon("folder", size=16), "Show in file manager", lambda: reveal_in_file_manager(moment.path))
        menu.addAction(theme.icon("copy", size=16), "Copy path and time", lambda: copy_reference(moment))
        menu.addSeparator()
        menu.addAction(theme.icon("similar", size=16), "Find similar moments", lambda: self.similar.emit(moment))
        folder = os.path.dirname(moment.path)
        menu.addAction(theme.icon("search", size=16), f"Search only in “{folder_name(folder)}”",
                       lambda: self.search_in.emit(folder))
        menu.addAction(theme.icon("film", size=16), "Search only in this video", lambda: self.search_in_video.emit(moment.path))
        menu.addAction(theme.icon("export", size=16), "Export moment as video…", lambda: self.export.emit(moment))
        return menu

    def selection_menu(self, moments: list[Moment], parent: QWidget) -> QMenu:
        """The menu of several selected results: what can be done to all of them at once."""
        menu = QMenu(parent)
        count = len(moments)
        menu.addAction(theme.icon("copy", size=16), f"Copy {count} paths and times",
                       lambda: copy_references(moments))
        menu.addSeparator()
        menu.addAction(theme.icon("similar", size=16), "Find moments like these",
                       lambda: self.similar_many.emit(list(moments)))
        menu.addAction(theme.icon("export", size=16), f"Export {count} moments as videos…",
                       lambda: self.export_many.emit(list(moments)))
        return menu


def open_with_system(path: str) -> bool:
    """Open the file with the program the system opens it with; False when it has none."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def reveal_in_file_manager(path: str) -> None:
    """Select the file in Explorer/Finder; elsewhere open its folder."""
    if sys.platform == "win32":
        subprocess.Popen(["explorer", "/select,", os.path.normpath(path)])
    elif sys.platform == "darwin":
        subprocess.Popen(["open", "-R", path])
    else:
        QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))


def copy_reference(moment: Moment) -> str:
    return copy_references([moment])


def copy_references(moments: list[Moment]) -> str:
    """One 'path @ start – end' line per moment on the clipboard."""
    text = "\n".join(moment_reference(m) for m in moments)
    QGuiApplication.clipboard().setText(text)
    return text


def time_mark(seconds: float) -> str:
    """A time for a file name (no colons, which Windows refuses): 72.5 -> '1m12s'."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


# RealMedia clips are made again as H.264 (its packets do not survive being copied), which goes in an MP4.
MADE_AGAIN_AS_MP4 = {".rm", ".rmvb"}


def export_file_name(moment: Moment) -> str:
    """'beach.mp4' at 12.0-20.5 s -> 'beach 0m12s-0m20s.mp4'."""
    stem, ext = os.path.splitext(os.path.basename(moment.path))
    if not ext or ext.lower() in MADE_AGAIN_AS_MP4:
        ext = ".mp4"
    return f"{stem} {time_mark(moment.start)}-{time_mark(moment.end)}{ext}"


def frame_file_name(path: str, seconds: float) -> str:
    """The frame of 'beach.mp4' at 72.5 s -> 'beach 1m12s.png'."""
    return f"{os.path.splitext(os.path.basename(path))[0]} {time_mark(seconds)}.png"


def export_targets(moments: list[Moment], folder: str | Path) -> list[Path]:
    """Where each of ``moments`` is exported in ``folder``: its export_file_name, with ' (2)', ' (3)'... added
    when a file of that name is already there or an earlier moment of the list takes it. Nothing is replaced."""
    folder = Path(folder)
    taken: set[str] = set()
    targets = []
    for moment in moments:
        stem, ext = os.path.splitext(export_file_name(moment))
        name, n = stem + ext, 1
        while name.casefold() in taken or (folder / name).exists():
            n += 1
            name = f"{stem} ({n}){ext}"
        taken.add(name.casefold())
        targets.append(folder / name)
    return targets
