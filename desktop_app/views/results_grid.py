"""The results grid: one card per moment, hover-scrub previews, keyboard navigation."""
from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (QColor, QDrag, QFont, QFontMetrics, QImage, QKeySequence, QPainter, QPainterPath, QPen,
                           QPixmap)
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from desktop_app import theme
from desktop_app.models.results_model import ResultsModel, moment_key
from desktop_app.models.roles import ItemRole, ScoreRole, SubtitleRole
from engine.api.types import Moment

MIN_CARD_WIDTH = 200      # cards widen to fill the row; a new column appears past this
CARD_WIDTHS = (140, 170, 200, 250, 320, 420)   # the steps of Ctrl+wheel, Ctrl+plus and Ctrl+minus
TEXT_HEIGHT = 58          # name + score lines under the thumbnail
SPACING = 12
DRAG_WIDTH = 160          # the thumbnail under the pointer while cards are dragged


class ResultCardDelegate(QStyledItemDelegate):
    """Paints a rounded card: thumbnail (or the hover-scrub frame), time chip, name, score bar."""

    def __init__(self, grid: "ResultsGrid") -> None:
        super().__init__(grid)
        self._grid = grid

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return self._grid.card_size

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        c = theme.current()
        moment: Moment = index.data(ItemRole)
        half = SPACING // 2
        rect = QRect(option.rect).adjusted(half, half, -half, -half)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)

        card = QPainterPath()
        card.addRoundedRect(QRectF(rect), 12, 12)
        painter.fillPath(card, QColor(c.accent_soft if selected else (c.hover if hovered else c.card)))
        if selected:
            # Among several selected cards, the one playing (the current one) has the stronger edge.
            playing = index == self._grid.currentIndex() and len(self._grid.selectionModel().selectedIndexes()) > 1
            painter.setPen(QPen(QColor(c.accent), 2.5 if playing else 1.0))
            painter.drawPath(card)

        thumb_rect = QRect(rect.left() + 6, rect.top() + 6, rect.width() - 12,
                           rect.height() - TEXT_HEIGHT)
        clip = QPainterPath()
        clip.addRoundedRect(QRectF(thumb_rect), 8, 8)
        painter.fillPath(clip, QColor(c.player))
        pixmap = self._grid.scrub_pixmap(moment) if hovered else None
        if pixmap is None:
            pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        painter.setClipPath(clip)
        if pixmap is not None and not pixmap.isNull():
            scaled = pixmap.scaled(thumb_rect.size(), Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                                   Qt.TransformationMode.SmoothTransformation)
            x = thumb_rect.left() + (thumb_rect.width() - scaled.width()) // 2
            y = thumb_rect.top() + (thumb_rect.height() - scaled.height()) // 2
            painter.drawPixmap(x, y, scaled)
        else:
            theme.icon("film", c.muted, 36).paint(painter, thumb_rect)
        if hovered:
            self._paint_scrub_bar(painter, thumb_rect, moment, c)
        painter.setClipping(False)

        self.paint_chip(painter, thumb_rect, index.data(SubtitleRole))

        title_font = QFont(option.font)
        title_font.setPixelSize(13)
        title_font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(title_font)
        painter.setPen(QColor(c.text))
        text_rect = QRect(rect.left() + 10, thumb_rect.bottom() + 8, rect.width() - 20, 18)
        title = QFontMetrics(title_font).elidedText(index.data(Qt.ItemDataRole.DisplayRole),
                                                    Qt.TextElideMode.ElideMiddle, text_rect.width())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)

        score = float(index.data(ScoreRole) or 0.0)
        meta_font = QFont(option.font)
        meta_font.setPixelSize(11)
        painter.setFont(meta_font)
        painter.setPen(QColor(c.muted))
        meta_rect = QRect(text_rect.left(), text_rect.bottom() + 4, text_rect.width(), 16)
        painter.drawText(meta_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         f"score {score:.3f}")
        bar = QRectF(meta_rect.right() - 70, meta_rect.center().y() - 2, 70, 4)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(c.border))
        painter.drawRoundedRect(bar, 2, 2)
        share = self._grid.score_share(score)
        painter.setBrush(QColor(c.accent))
        painter.drawRoundedRect(QRectF(bar.left(), bar.top(), max(4.0, bar.width() * share), 4), 2, 2)
        painter.restore()

    def paint_chip(self, painter: QPainter, thumb_rect: QRect, text: str) -> None:
        """The dark rounded label at the bottom right of a thumbnail: a card's times, a drag's count."""
        font = QFont(painter.font())
        font.setPixelSize(11)
        font.setWeight(QFont.Weight.DemiBold)
        metrics = QFontMetrics(font)
        width = metrics.horizontalAdvance(text) + 12
        chip = QRectF(thumb_rect.right() - width - 6, thumb_rect.bottom() - 24, width, 18)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 170))
        painter.drawRoundedRect(chip, 5, 5)
        painter.setFont(font)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_scrub_bar(self, painter: QPainter, thumb_rect: QRect, moment: Moment, c) -> None:
        share = self._grid.scrub_share(moment)
        if share is None:
            return
        y = thumb_rect.bottom() - 3
        painter.fillRect(QRect(thumb_rect.left(), y, thumb_rect.width(), 3), QColor(255, 255, 255, 70))
        painter.fillRect(QRect(thumb_rect.left(), y, int(thumb_rect.width() * share), 3), QColor(c.accent))


def _pixmap(jpeg: bytes) -> QPixmap | None:
    image = QImage.fromData(jpeg)
    return None if image.isNull() else QPixmap.fromImage(image)


class ResultsGrid(QListView):
    """Signals: ``moment_selected(Moment)`` when the current card changes, ``moment_activated(Moment)``
    on Enter or double-click, ``preview_wanted(Moment)`` when the pointer rests on a card whose
    scrub frames are not loaded, ``context_menu_wanted(Moment, QPoint global)`` for one card,
    ``selection_menu_wanted(list[Moment], QPoint global)`` for a right-click inside a selection of several
    (Ctrl- and Shift-click select several; the current card is the one that plays), ``end_reached()`` when
    the last row comes into view (scrolled to the bottom, or every card fits)."""

    moment_selected = Signal(object)
    moment_activated = Signal(object)
    preview_wanted = Signal(object)
    context_menu_wanted = Signal(object, QPoint)
    selection_menu_wanted = Signal(list, QPoint)
    end_reached = Signal()
    card_width_changed = Signal(int)

    def __init__(self, model: ResultsModel, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ResultsGrid")
        self.setModel(model)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSpacing(0)
        self.setViewportMargins(SPACING // 2, SPACING // 2, 0, 0)
        self.min_card_width = MIN_CARD_WIDTH
        self.card_size = QSize(MIN_CARD_WIDTH, MIN_CARD_WIDTH * 9 // 16 + TEXT_HEIGHT)
        self.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        # Cards drag out as their files (to a file manager or an editor), or onto the search field.
        self.setDragEnabled(True)
        self.setDragDropMode(QListView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setMouseTracking(True)
        self.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setItemDelegate(ResultCardDelegate(self))
        self._frames: dict[tuple, list[QPixmap]] = {}
        self._frames_due: dict[tuple, int] = {}    # stills still coming for a card, counted with those come
        self._requested: set[tuple] = set()
        self._hover: tuple[tuple, float] | None = None      # (moment key, 0..1 across the card)
        self._hover_rect: QRect | None = None
        self._score_span = (0.0, 1.0)
        self._given_span: tuple[float, float] | None = None
        self.selectionModel().currentChanged.connect(self._on_current_changed)
        self.activated.connect(lambda index: self.moment_activated.emit(index.data(ItemRole)))
        self.customContextMenuRequested.connect(self._on_context_menu)
        self._end_check = QTimer(self)           # a child: it goes with the grid, unlike a pending singleShot
        self._end_check.setSingleShot(True)
        self._end_check.setInterval(0)
        self._end_check.timeout.connect(self._check_end)
        model.modelReset.connect(self._on_model_reset)
        model.rowsInserted.connect(self._on_rows_inserted)
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(lambda _v: self._check_end())
        bar.rangeChanged.connect(lambda _low, _high: self._check_end())
        self._keeping_place = False

    def replace_keeping_place(self, query: str, moments: list[Moment]) -> None:
        """Show ``moments`` instead, leaving the scroll position, the current card and the selected ones (those
        still there) as they were, without announcing the current card again."""
        model: ResultsModel = self.model()
        current = self.current_moment()
        selected = {moment_key(m) for m in self.selected_moments()}
        position = self.verticalScrollBar().value()
        self._keeping_place = True
        try:
            model.set_results(query, moments)
        finally:
            self._keeping_place = False
        self.executeDelayedItemsLayout()
        self.verticalScrollBar().setValue(position)
        self.mark_cards(moment_key(current) if current is not None else None, selected)

    def mark_cards(self, current: tuple | None, selected: set | frozenset) -> Moment | None:
        """Make the card whose ``moment_key`` is ``current`` the current one and select those in ``selected``
        (the ones shown), without announcing it and without scrolling; returns the current card's moment."""
        model: ResultsModel = self.model()
        keys = [moment_key(model.moment(row)) for row in range(model.rowCount())]
        selection = self.selectionModel()
        selection.blockSignals(True)
        try:
            if current is not None and current in keys:
                self.setCurrentIndex(model.index(keys.index(current)))
            for row, key in enumerate(keys):
                if key in selected:
                    selection.select(model.index(row), QItemSelectionModel.SelectionFlag.Select)
        finally:
            selection.blockSignals(False)
        self.viewport().update()
        return self.current_moment() if current in keys else None

    def selected_moments(self) -> list[Moment]:
        """The selected cards' moments, in the grid's order."""
        rows = sorted(index.row() for index in self.selectionModel().selectedIndexes())
        model = self.model()
        return [model.index(row).data(ItemRole) for row in rows]

    def startDrag(self, _actions) -> None:
        indexes = sorted(self.selectionModel().selectedIndexes(), key=lambda index: index.row())
        if not indexes:
            return
        drag = QDrag(self)
        drag.setMimeData(self.model().mimeData(indexes))
        drag.setPixmap(self._drag_pixmap(indexes[0].data(Qt.ItemDataRole.DecorationRole), len(indexes)))
        drag.setHotSpot(QPoint(DRAG_WIDTH // 2, DRAG_WIDTH * 9 // 32))
        drag.exec(Qt.DropAction.CopyAction)

    def _drag_pixmap(self, thumbnail: QPixmap | None, count: int) -> QPixmap:
        """The first card's thumbnail, small, with the number of cards when there are several."""
        size = QSize(DRAG_WIDTH, DRAG_WIDTH * 9 // 16)
        pixmap = QPixmap(size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        clip = QPainterPath()
        clip.addRoundedRect(QRectF(pixmap.rect()), 8, 8)
        painter.setClipPath(clip)
        painter.fillRect(pixmap.rect(), QColor(theme.current().border))
        if thumbnail is not None and not thumbnail.isNull():
            scaled = thumbnail.scaled(size, Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                                      Qt.TransformationMode.SmoothTransformation)
            painter.drawPixmap((size.width() - scaled.width()) // 2, (size.height() - scaled.height()) // 2, scaled)
        if count > 1:
            self.itemDelegate().paint_chip(painter, pixmap.rect(), f"{count} moments")
        painter.end()
        return pixmap

    def _check_end(self) -> None:
        self.executeDelayedItemsLayout()
        bar = self.verticalScrollBar()
        if self.model().rowCount() and bar.value() >= bar.maximum():
            self.end_reached.emit()

    # --- scrub frames -------------------------------------------------------------------------
    def set_preview_frames(self, moment: Moment, jpegs: list[bytes]) -> None:
        """The stills across ``moment``, all of them: scrubbing shows them over the card's width."""
        key = moment_key(moment)
        self._frames[key] = [pixmap for pixmap in map(_pixmap, jpegs) if pixmap is not None]
        self._frames_due.pop(key, None)
        self.viewport().update()

    def add_preview_frame(self, moment: Moment, jpeg: bytes, due: int) -> None:
        """The next of the ``due`` stills across ``moment``, as soon as it is made: scrubbing shows the part of
        the card's width it stands for, and past the stills there are so far, the last of them."""
        key = moment_key(moment)
        pixmap = _pixmap(jpeg)
        if pixmap is None:
            return
        self._frames.setdefault(key, []).append(pixmap)
        self._frames_due[key] = due
        if self._hover is not None and self._hover[0] == key:
            self.viewport().update()

    def scrub_pixmap(self, moment: Moment) -> QPixmap | None:
        key = moment_key(moment)
        frames = self._frames.get(key)
        if not frames or self._hover is None or self._hover[0] != key:
            return None
        due = max(len(frames), self._frames_due.get(key, 0))
        return frames[min(len(frames) - 1, int(self._hover[1] * due))]

    def scrub_share(self, moment: Moment) -> float | None:
        if self._hover is None or self._hover[0] != moment_key(moment):
            return None
        return self._hover[1]

    def set_score_span(self, span: tuple[float, float] | None) -> None:
        """Score bars run over ``span`` (the cut-off slider's), so a bar means the same from search to search;
        None: over the scores shown."""
        self._given_span = span
        self._update_score_span()
        self.viewport().update()

    def score_share(self, score: float) -> float:
        low, high = self._score_span
        return 1.0 if high <= low else max(0.0, min(1.0, (score - low) / (high - low)))

    def current_moment(self) -> Moment | None:
        index = self.currentIndex()
        return index.data(ItemRole) if index.isValid() else None

    # --- events -------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        self._lay_out_cards(event.size().width())
        super().resizeEvent(event)

    def set_card_width(self, width: int) -> None:
        """The narrowest a card may be (cards widen to fill a row): bigger or smaller thumbnails."""
        width = min(CARD_WIDTHS, key=lambda step: abs(step - int(width)))
        if width != self.min_card_width:
            self.min_card_width = width
            self._lay_out_cards(self.width())
            self.card_width_changed.emit(width)

    def zoom(self, steps: int) -> None:
        at = CARD_WIDTHS.index(self.min_card_width)
        self.set_card_width(CARD_WIDTHS[max(0, min(len(CARD_WIDTHS) - 1, at + steps))])

    def _lay_out_cards(self, grid_width: int) -> None:
        # Leave room for the scroll bar always, so that its appearing does not re-flow the cards.
        available = grid_width - SPACING // 2 - self.verticalScrollBar().sizeHint().width() - 4
        columns = max(1, available // (self.min_card_width + SPACING))
        width = available // columns
        thumb_height = int((width - SPACING - 12) * 9 / 16)
        size = QSize(width, thumb_height + TEXT_HEIGHT + 6 + SPACING)
        if size != self.card_size:
            self.card_size = size
            self.setGridSize(size)

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            if event.angleDelta().y():
                self.zoom(1 if event.angleDelta().y() > 0 else -1)
            event.accept()
            return
        super().wheelEvent(event)
    def keyPressEvent(self, event) -> None:
        # The menu key and Shift+F10 open the current card's menu (or the selection's), where a mouse would.
        menu_key = event.key() == Qt.Key.Key_Menu or (
            event.key() == Qt.Key.Key_F10 and event.modifiers() == Qt.KeyboardModifier.ShiftModifier)
        if menu_key and self.currentIndex().isValid():
            self._on_context_menu(self.visualRect(self.currentIndex()).center())
            event.accept()
            return
        if event.matches(QKeySequence.StandardKey.ZoomIn) or event.matches(QKeySequence.StandardKey.ZoomOut):
            self.zoom(1 if event.matches(QKeySequence.StandardKey.ZoomIn) else -1)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Menu:
            event.accept()      # handled on press: no second menu synthesised from the release
            return
        super().keyReleaseEvent(event)

    def mouseMoveEvent(self, event) -> None:
        super().mouseMoveEvent(event)
        index = self.indexAt(event.position().toPoint())
        if not index.isValid():
            self._set_hover(None)
            return
        moment: Moment = index.data(ItemRole)
        rect = self.visualRect(index)
        share = (event.position().x() - rect.left()) / max(1, rect.width())
        self._set_hover((moment_key(moment), max(0.0, min(0.999, share))), rect)
        key = moment_key(moment)
        if key not in self._frames and key not in self._requested:
            self._requested.add(key)
            self.preview_wanted.emit(moment)

    def leaveEvent(self, event) -> None:
        self._set_hover(None)
        super().leaveEvent(event)

    def _set_hover(self, hover: tuple[tuple, float] | None, rect: QRect | None = None) -> None:
        if hover == self._hover:
            return
        # Repaint only the cards that change: the one left and the one under the pointer.
        if self._hover_rect is not None:
            self.viewport().update(self._hover_rect)
        self._hover = hover
        self._hover_rect = rect
        if rect is not None:
            self.viewport().update(rect)

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.moment_selected.emit(current.data(ItemRole))

    def _on_context_menu(self, pos: QPoint) -> None:
        index = self.indexAt(pos)
        if not index.isValid():
            return
        where = self.viewport().mapToGlobal(pos)
        if self.selectionModel().isSelected(index) and len(self.selectionModel().selectedIndexes()) > 1:
            self.selection_menu_wanted.emit(self.selected_moments(), where)
            return
        self.setCurrentIndex(index)
        self.context_menu_wanted.emit(index.data(ItemRole), where)

    def _on_model_reset(self) -> None:
        self._frames.clear()
        self._frames_due.clear()
        self._requested.clear()
        self._hover = None
        self._hover_rect = None
        self._update_score_span()
        if not self._keeping_place:
            self.scrollToTop()
        self._check_end_once_laid_out()

    def _on_rows_inserted(self, *_args) -> None:
        self._update_score_span()
        self._check_end_once_laid_out()

    def _check_end_once_laid_out(self) -> None:
        # With every card in view there is no scrolling to tell that the end was reached.
        self._end_check.start()

    def _update_score_span(self) -> None:
        if self._given_span is not None:
            self._score_span = self._given_span
            return
        model: ResultsModel = self.model()
        scores = [m.score for m in model.moments()]
        self._score_span = (min(scores), max(scores)) if scores else (0.0, 1.0)
        if len(scores) > 1 and self._score_span[0] == self._score_span[1]:
            self._score_span = (0.0, 1.0)
