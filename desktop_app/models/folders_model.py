"""The library's folders with their file counts, as a list model for the sidebar."""
from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from desktop_app.formatting import folder_name
from desktop_app.models.roles import CountsRole, ItemRole, SubtitleRole
from engine.api.types import FolderInfo

_Index = QModelIndex | QPersistentModelIndex

STATE_TEXT = {"ok": "Up to date", "indexing": "Indexing…", "missing": "Folder not found"}


def _counts(folder: FolderInfo, separator: str) -> str:
    return separator.join(f"{count} {state}" for count, state in ((folder.indexed, "indexed"),
                          (folder.pending, "pending"), (folder.failed, "failed"), (folder.skipped, "skipped")))


def folder_state_text(folder: FolderInfo) -> str:
    if folder.state == "ok" and folder.pending:
        return "Waiting to index"
    return STATE_TEXT.get(folder.state, folder.state)


class FoldersModel(QAbstractListModel):
    """Rows are ``FolderInfo``s; an update keeps rows that did not move (selection survives)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._folders: list[FolderInfo] = []

    def set_folders(self, folders: list[FolderInfo]) -> None:
        new = list(folders)
        if [f.path for f in new] == [f.path for f in self._folders]:
            self._folders = new
            if new:
                self.dataChanged.emit(self.index(0), self.index(len(new) - 1))
            return
        self.beginResetModel()
        self._folders = new
        self.endResetModel()

    def folder(self, row: int) -> FolderInfo:
        return self._folders[row]

    def folders(self) -> list[FolderInfo]:
        return list(self._folders)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._folders)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._folders):
            return None
        folder = self._folders[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return folder_name(folder.path)
        if role == SubtitleRole:
            return folder_state_text(folder)
        if role == CountsRole:
            return {"indexed": folder.indexed, "pending": folder.pending,
                    "failed": folder.failed, "skipped": folder.skipped}
        if role == ItemRole:
            return folder
        if role == Qt.ItemDataRole.ToolTipRole:
            hint = ("\nNot found (moved, renamed, or its drive unplugged): right-click and choose Locate folder…"
                    if folder.state == "missing" else "")
            return f"{folder.path}\n{_counts(folder, ' · ')}{hint}"
        if role == Qt.ItemDataRole.AccessibleTextRole:      # what a screen reader says of a folder
            return f"{folder.path}, {folder_state_text(folder)}, {_counts(folder, ', ')}"
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
