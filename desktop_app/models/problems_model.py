"""Files that failed or were skipped, with their reasons, as a table model."""
from __future__ import annotations

import os

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from PySide6.QtGui import QColor

from desktop_app import theme
from desktop_app.formatting import sentence
from desktop_app.models.roles import ItemRole
from engine.api.types import FileStatus, Problem

_Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("File", "Status", "Reason", "Folder")


def reason_text(problem: Problem) -> str:
    """The reason as a sentence, without the path the row already shows."""
    return sentence(problem.cause)


class ProblemsModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._problems: list[Problem] = []

    def set_problems(self, problems: list[Problem]) -> None:
        self.beginResetModel()
        self._problems = list(problems)
        self.endResetModel()

    def problem(self, row: int) -> Problem:
        return self._problems[row]

    def problems(self) -> list[Problem]:
        return list(self._problems)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._problems)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._problems):
            return None
        problem = self._problems[index.row()]
        if role == ItemRole:
            return problem
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{problem.path}\n{problem.reason}"
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 1:
            colors = theme.current()
            return QColor(colors.danger if problem.status == FileStatus.FAILED else colors.muted)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        column = index.column()
        if column == 0:
            return os.path.basename(problem.path)
        if column == 1:
            return "Failed" if problem.status == FileStatus.FAILED else "Skipped"
        if column == 2:
            return reason_text(problem)
        if column == 3:
            return os.path.dirname(problem.path)
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
