"""A one-line label that cuts its text with "…" to fit its width, the whole text in its tooltip."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy


class ElidedLabel(QLabel):
    """``text()`` is the whole text; what is drawn is as much of it as fits, cut in the middle by default (a path
    keeps its last folder, a results header its count and its end). ``setText(text, cuttable=part,
    droppable=part)``: the droppable part (a hint at the end) is left out first, then the cuttable part (a results
    header's query) is cut, keeping the rest whole while it fits."""

    def __init__(self, text: str = "", mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle, parent=None) -> None:
        super().__init__(parent)
        self._full = ""
        self._cuttable: str | None = None
        self._droppable: str | None = None
        self._mode = mode
        self.setTextFormat(Qt.TextFormat.PlainText)    # it shows paths and queries: a "<b>" in one is text
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str, cuttable: str | None = None,  # noqa: N802 - Qt's name
                droppable: str | None = None) -> None:
        self._full = text
        self._droppable = droppable if droppable and droppable in text else None
        self._cuttable = cuttable if cuttable and cuttable in self._without_droppable(text) else None
        self._fit()

    def text(self) -> str:
        return self._full

    def shown_text(self) -> str:
        return super().text()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(0, super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit()

    def _fit(self) -> None:
        metrics, width = self.fontMetrics(), max(0, self.contentsRect().width())
        shown = self._full
        if metrics.horizontalAdvance(shown) > width and self._droppable is not None:
            shown = self._without_droppable(shown)
        if metrics.horizontalAdvance(shown) > width:
            shown = self._cut_inside(shown, metrics, width) or metrics.elidedText(shown, self._mode, width)
        if shown != super().text():
            super().setText(shown)
        self.setToolTip(self._full if shown != self._full else "")

    def _without_droppable(self, text: str) -> str:
        if self._droppable is None:
            return text
        at = text.rindex(self._droppable)
        return text[:at] + text[at + len(self._droppable):]

    def _cut_inside(self, text: str, metrics, width: int) -> str | None:
        """``text`` with its cuttable part cut short at its end to fit; None when even a letter of it would not."""
        if self._cuttable is None:
            return None
        at = text.index(self._cuttable)
        head, tail = text[:at], text[at + len(self._cuttable):]
        room = width - metrics.horizontalAdvance(head + tail)
        if room < metrics.horizontalAdvance(self._cuttable[0] + "…"):
            return None
        return head + metrics.elidedText(self._cuttable, Qt.TextElideMode.ElideRight, room) + tail
