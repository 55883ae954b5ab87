"""A seek bar that marks the moment's time range and follows the playhead."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from desktop_app import theme
from desktop_app.formatting import clock

KEY_STEP_MS = 5000


class MomentSeekBar(QWidget):
    """Shows [0, duration] with the marked range [start, end] highlighted; click or drag to seek. The
    pointer's time shows as it hovers; with focus, Left and Right step 5 s, Home and End go to the
    moment's start and end.

    Signal: ``seek_requested(int milliseconds)``.
    """

    seek_requested = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
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
        painter.setPen(QPen(QColor(c.accent), 3 if self.hasFocus() else 1))     # a thicker ring: keys move it
        painter.drawEllipse(QRectF(x - 6, self.height() / 2 - 6, 12, 12))

    def mousePressEvent(self, event) -> None:
        self._seek_to(event.position().x())

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._seek_to(event.position().x())
        if self.isEnabled() and self.duration_ms:
            QToolTip.showText(event.globalPosition().toPoint() + QPoint(0, -36),
                              clock(self.time_at(event.position().x()) / 1000), self)

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            step = KEY_STEP_MS if key == Qt.Key.Key_Right else -KEY_STEP_MS
            self.seek_requested.emit(min(max(0, self.position_ms + step), self._span()))
        elif key in (Qt.Key.Key_Home, Qt.Key.Key_End) and self.range_ms is not None:
            self.seek_requested.emit(self.range_ms[0] if key == Qt.Key.Key_Home else self.range_ms[1])
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.update()

    def time_at(self, x: float) -> int:
        """The time, in milliseconds, under the point ``x`` pixels from the left edge."""
        track_left, track_width = 7.0, max(1.0, self.width() - 14.0)
        share = min(1.0, max(0.0, (x - track_left) / track_width))
        return int(share * self._span())

    def _seek_to(self, x: float) -> None:
        self.seek_requested.emit(self.time_at(x))
