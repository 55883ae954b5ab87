"""The ranked moments of one search, as a list model for the results grid."""
from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QPixmap, QPixmapCache

from desktop_app.formatting import moment_reference, moment_title, time_range
from desktop_app.models.roles import ItemRole, ScoreRole, SubtitleRole
from engine.api.types import Moment

_Index = QModelIndex | QPersistentModelIndex


class ResultsModel(QAbstractListModel):
    """Rows are ``Moment``s in the order the engine ranked (or sorted) them."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._moments: list[Moment] = []
        self.query: str = ""

    def set_results(self, query: str, moments: list[Moment]) -> None:
        self.beginResetModel()
        self.query = query
        self._moments = list(moments)
        self.endResetModel()

    def clear(self) -> None:
        self.set_results("", [])

    def moment(self, row: int) -> Moment:
        return self._moments[row]

    def moments(self) -> list[Moment]:
        return list(self._moments)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._moments)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._moments):
            return None
        moment = self._moments[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return moment_title(moment)
        if role == SubtitleRole:
            return time_range(moment.start, moment.end)
        if role == ScoreRole:
            return float(moment.score)
        if role == ItemRole:
            return moment
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{moment_reference(moment)}\nscore {moment.score:.3f}"
        if role == Qt.ItemDataRole.DecorationRole:
            return _thumbnail(moment.thumbnail)
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


def _thumbnail(path: str | None) -> QPixmap | None:
    if not path:
        return None
    pixmap = QPixmapCache.find(path)
    if pixmap is None or pixmap.isNull():
        pixmap = QPixmap(path)
        if pixmap.isNull():
            return None
        QPixmapCache.insert(path, pixmap)
    return pixmap
