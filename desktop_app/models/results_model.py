"""The ranked moments of one search, as a list model for the results grid."""
from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QPixmap, QPixmapCache

from desktop_app.formatting import moment_reference, moment_title, time_range
from desktop_app.models.moment_drag import MOMENTS_MIME, moments_mime_data
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

    def grow(self, moments: list[Moment]) -> bool:
        """Add the rows of a longer answer to the same search, if it begins with the rows shown (the usual case:
        more results rank below them). False, and nothing changed, when it does not."""
        shown = len(self._moments)
        if len(moments) < shown or [moment_key(m) for m in moments[:shown]] != [moment_key(m) for m in self._moments]:
            return False
        if len(moments) > shown:
            self.beginInsertRows(QModelIndex(), shown, len(moments) - 1)
            self._moments.extend(moments[shown:])
            self.endInsertRows()
        return True

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
        if role == Qt.ItemDataRole.AccessibleTextRole:      # what a screen reader says of a card
            return f"{moment_title(moment)}, {time_range(moment.start, moment.end)}, score {moment.score:.3f}"
        if role == Qt.ItemDataRole.DecorationRole:
            return _thumbnail(moment.thumbnail)
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list", "text/plain", MOMENTS_MIME]

    def mimeData(self, indexes) -> QMimeData:
        rows = sorted({index.row() for index in indexes if index.isValid()})
        return moments_mime_data([self._moments[row] for row in rows])


def moment_key(moment: Moment) -> tuple:
    return moment.path, round(moment.start, 3), round(moment.end, 3)


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
