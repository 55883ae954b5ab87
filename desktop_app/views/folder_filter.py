"""The folder filter above the results: all folders, or any set of the library's folders and of folders or
videos inside them (those are listed once asked for, from a result's "Search only in")."""
from __future__ import annotations

import os

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QMenu, QToolButton, QWidgetAction

from desktop_app.formatting import folder_name
from desktop_app.models.folder_paths import is_inside, relocated

ALL_FOLDERS = "All folders"
LABEL_WIDTH = 200         # px at most for the folder names on the button; longer ones are elided in the middle
TIP = "Only results from the ticked folders"


class _StayingMenu(QMenu):
    """A menu that stays open when a checkable entry is clicked, so that several can be ticked in one go."""

    def mouseReleaseEvent(self, event) -> None:
        action = self.actionAt(event.position().toPoint())
        if action is not None and action.isCheckable() and action.isEnabled():
            action.trigger()
            return
        super().mouseReleaseEvent(event)


def _section_title(text: str, menu: QMenu) -> QWidgetAction:
    """A heading among a menu's entries. ``QMenu.addSection`` draws only a line in the Fusion style."""
    title = QWidgetAction(menu)
    title.setText(text)
    label = QLabel(text.upper())
    label.setObjectName("MenuSection")
    title.setDefaultWidget(label)
    title.setEnabled(False)          # a click on it neither does anything nor closes the menu
    return title


class FolderFilter(QToolButton):
    """``chosen()`` is the ticked folders (empty: all of them); ``changed`` fires when that changes."""

    changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("FolderFilter")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolTip(TIP)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance(ALL_FOLDERS) + 48)   # no jump as the label changes
        self._menu = _StayingMenu(self)
        self.setMenu(self._menu)
        self._all = QAction(ALL_FOLDERS, self, checkable=True, checked=True)
        self._all.triggered.connect(lambda _on: self.set_chosen(()))
        self._folders: dict[str, QAction] = {}
        self._inside: dict[str, QAction] = {}      # folders inside library folders, once asked for
        self._chosen: tuple[str, ...] = ()
        self._rebuild()

    def chosen(self) -> tuple[str, ...]:
        return self._chosen

    def set_folders(self, paths: list[str]) -> None:
        """The library's folders, as the sidebar lists them; ticked ones that left the library are dropped."""
        if list(paths) == list(self._folders):
            return      # the usual refresh while indexing: the menu, perhaps open, stays as it is
        old = self._folders
        self._folders = {path: old.pop(path, None) or self._folder_action(path) for path in paths}
        for path in [p for p in self._inside if not self._held(p)]:
            old[path] = self._inside.pop(path)
        for action in old.values():
            action.deleteLater()
        kept = tuple(p for p in self._chosen if p in self._folders or p in self._inside)
        changed = kept != self._chosen
        self._chosen = kept
        self._rebuild()
        if changed:
            self.changed.emit()

    def relocate(self, old: str, new: str) -> None:
        """The library folder ``old`` is at ``new`` now: what was ticked in it stays ticked there."""
        chosen = [relocated(p, old, new) for p in self._chosen]
        with QSignalBlocker(self):
            self.set_folders([relocated(p, old, new) for p in self._folders])
        self.set_chosen(chosen)

    def _folder_action(self, path: str, name: str | None = None) -> QAction:
        action = QAction(name or folder_name(path), self, checkable=True)
        action.setToolTip(path)
        action.triggered.connect(lambda on: self._tick(path, on))
        return action

    def set_chosen(self, paths) -> None:
        """Tick these folders alone: the library's, or folders inside them (listed from now on); others are
        left out."""
        new = [p for p in paths if p not in self._folders and p not in self._inside and self._held(p)]
        if new:
            self._inside.update((p, self._folder_action(p, self._inside_name(p))) for p in new)
            self._rebuild()
        wanted = set(paths)
        chosen = tuple(p for p in [*self._folders, *self._inside] if p in wanted)
        changed = chosen != self._chosen
        self._chosen = chosen
        self._show_ticks()      # also when unchanged: a click on a ticked "All folders" leaves it ticked
        if changed:
            self.changed.emit()

    def _held(self, path: str) -> bool:
        return any(is_inside(path, folder) for folder in self._folders)

    def _inside_name(self, path: str) -> str:
        """'Holidays/2024/Rome' for /v/Holidays/2024/Rome in the library folder /v/Holidays: a folder's own name
        alone may be its library folder's too."""
        holder = next(folder for folder in self._folders if is_inside(path, folder))
        return os.path.join(folder_name(holder), os.path.relpath(path, holder))

    def _tick(self, path: str, on: bool) -> None:
        self.set_chosen([p for p in self._chosen if p != path] + ([path] if on else []))

    def _rebuild(self) -> None:
        self._menu.clear()
        self._menu.addAction(self._all)
        if self._folders:
            self._menu.addSeparator()
        for action in self._folders.values():
            self._menu.addAction(action)
        if self._inside:
            self._menu.addSeparator()
            self._menu.addAction(_section_title("Inside them", self._menu))
        for action in self._inside.values():
            self._menu.addAction(action)
        self._menu.setToolTipsVisible(True)
        self._show_ticks()

    def _show_ticks(self) -> None:
        self._all.setChecked(not self._chosen)
        for path, action in [*self._folders.items(), *self._inside.items()]:
            action.setChecked(path in self._chosen)
        self.setText(self.fontMetrics().elidedText(self.label(), Qt.TextElideMode.ElideMiddle, LABEL_WIDTH))
        self.setToolTip("\n".join([TIP + ":", *self._chosen]) if self._chosen else TIP)

    def label(self) -> str:
        if not self._chosen:
            return ALL_FOLDERS
        if len(self._chosen) == 1:
            only = self._chosen[0]
            return self._inside[only].text() if only in self._inside else folder_name(only)
        return f"{len(self._chosen)} folders"
