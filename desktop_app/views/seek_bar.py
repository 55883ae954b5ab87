"""A seek bar that marks the moment's time range and follows the playhead."""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop_app import theme


class MomentSeekBar(QWidget):
    """Shows [0, duration] with the marked range [start, end] highlighted; click or drag to seek.

    Signal: ``seek_requested(int milliseconds)``.
    """

    seek_requested = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.duration_ms = 0
        self.position_ms = 0
        self.range_ms: tuple[int, int] | None = None

    def sizeHint(self) -> QSize:
        return QSize(300, 22)

    def set_duration(self, ms: int) -> None:
        self.duration_ms = max(0, int(ms))
        self.update()

    def set_position(self, ms: int) -> None:
        self.position_ms = max(0, int(ms))
        self.update()

    def set_range(self, start_ms: int, end_ms: int) -> None:
        self.range_ms = (int(start_ms), int(end_ms))
        self.update()

    def _span(self) -> int:
        # Before the media reports its duration, the marked range still has to fit.
        return max(self.duration_ms, self.range_ms[1] if self.range_ms else 0, 1)

    def _x_for(self, ms: int, track: QRectF) -> float:
        return track.left() + track.width() * min(1.0, ms / self._span())

    def paintEvent(self, _event) -> None:
        c = theme.current()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        track = QRectF(7, self.height() / 2 - 3, self.width() - 14, 6)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(c.hover))
        painter.drawRoundedRect(track, 3, 3)
        if self.range_ms is not None:
            x0, x1 = self._x_for(self.range_ms[0], track), self._x_for(self.range_ms[1], track)
            marked = QColor(c.accent)
            marked.setAlpha(110)
            painter.setBrush(marked)
            painter.drawRoundedRect(QRectF(x0, track.top() - 3, max(3.0, x1 - x0), track.height() + 6), 3, 3)
        x = self._x_for(self.position_ms, track)
        painter.setBrush(QColor(c.accent))
        painter.drawRoundedRect(QRectF(track.left(), track.top(), max(0.0, x - track.left()), track.height()), 3, 3)
        painter.setBrush(QColor("#ffffff"))
        painter.setPen(QColor(c.accent))
        painter.drawEllipse(QRectF(x - 6, self.height() / 2 - 6, 12, 12))

    def mousePressEvent(self, event) -> None:
        self._seek_to(event.position().x())

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._seek_to(event.position().x())

    def _seek_to(self, x: float) -> None:
        track_left, track_width = 7.0, max(1.0, self.width() - 14.0)
        share = min(1.0, max(0.0, (x - track_left) / track_width))
        self.seek_requested.emit(int(share * self._span()))
