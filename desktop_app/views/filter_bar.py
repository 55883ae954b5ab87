"""Moments or videos, sort, filters (folders, date, duration) and the relevance cut-off above the results."""
from __future__ import annotations

from datetime import date

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QSlider, QStyle, QStyleOptionComboBox, QVBoxLayout,
                               QWidget)

from desktop_app import theme

from desktop_app.models.search_options import DATE_PRESETS, DURATION_PRESETS, SearchOptions, days_label
from desktop_app.views.date_range_dialog import ask_date_range
from desktop_app.views.elided_label import ElidedLabel
from desktop_app.views.folder_filter import FolderFilter

CHOOSE_DATES = "Choose dates…"
_CHOOSE, _DAYS = "choose", "days"     # the date box's item data: the entry that asks, the days it asked for


class _DateBox(QComboBox):
    """A combo box as wide as its presets and the entry shown: "Choose dates…" and days chosen widen it only while
    they are shown, so the filters fit where they did."""

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        texts = [self.itemText(i) for i in range(self.count()) if self.itemData(i) is None] + [self.currentText()]
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        metrics = self.fontMetrics()
        contents = QSize(max(metrics.horizontalAdvance(t) for t in texts), metrics.height())
        size = self.style().sizeFromContents(QStyle.ContentsType.CT_ComboBox, option, contents, self)
        return QSize(size.width(), super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return self.sizeHint()


class FilterBar(QWidget):
    """``options()`` returns the current SearchOptions; ``changed`` fires on any edit.

    The date box offers "Choose dates…", which asks for two days with ``ask_dates(parent, initial)`` (a dialog;
    None when cancelled); the days chosen stay in the box, above that entry, until others are chosen.

    When the results are too narrow for the filters and the cut-off side by side, the cut-off moves to a row
    of its own, with the moments-or-videos box, so the window can shrink to half a laptop screen."""

    changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("FilterBar")
        self.summary = ElidedLabel("")
        self.summary.setObjectName("ResultsHeader")
        self.per_video = QComboBox()
        self.per_video.addItem("Every moment", "moments")
        self.per_video.addItem("One per video", "videos")
        self.per_video.setToolTip("Show every matching moment, or only the best moment of each video")
        self.per_video.setAccessibleName("Moments per video")
        self.sort = QComboBox()
        self.sort.addItem("Best match", "relevance")
        self.sort.addItem("Newest first", "date")
        self.sort.setToolTip("Sort results")
        self.sort.setAccessibleName("Sort results")
        self.folder = FolderFilter()
        self.date = _DateBox()
        self.date.addItems(list(DATE_PRESETS))
        self.date.addItem(CHOOSE_DATES, _CHOOSE)
        self.date.setToolTip("Only videos recorded (else last changed) within this time")
        self.date.setAccessibleName("Date filter")
        self.ask_dates = ask_date_range
        self._date_index = 0              # the date box's entry in use (not "Choose dates…")
        self.duration = QComboBox()
        self.duration.addItems(list(DURATION_PRESETS))
        self.duration.setToolTip("Only videos of this length")
        self.duration.setAccessibleName("Length filter")
        self.cutoff = QSlider(Qt.Orientation.Horizontal)
        self.cutoff.setRange(0, 100)
        self.cutoff.setValue(0)
        self.cutoff.setFixedWidth(80)
        self.cutoff.setToolTip("Hide results scoring below this relevance")
        self.cutoff.setAccessibleName("Minimum score")
        # A model's scores have no fixed scale (a reranker's logits, a cosine), and a text, an image and a "find
        # similar" search score on different ones. So the slider spans the scores searches of the kind now shown
        # have given; what it sets is a score, which stays put when that span grows.
        self._spans: dict[str, tuple[float, float]] = {}
        self._kind = "text"
        self._min_score: float | None = None
        self.cutoff_label = QLabel()
        self.cutoff_label.setObjectName("StatusText")
        self.cutoff_label.setMinimumWidth(self.cutoff_label.fontMetrics().horizontalAdvance("Min. score: 0.00") + 8)
        self._update_cutoff_label()

        first = QHBoxLayout()
        first.setSpacing(8)
        first.addWidget(self.summary, 1)
        first.addWidget(self.per_video)
        first.addWidget(self.sort)
        second = QHBoxLayout()
        second.setSpacing(8)
        filter_icon = QLabel()
        filter_icon.setPixmap(theme.icon("filter", theme.current().muted, 16).pixmap(16, 16))
        self._filter_icon = filter_icon
        second.addWidget(filter_icon)
        for widget in (self.folder, self.date, self.duration):
            second.addWidget(widget)
        second.addStretch(1)
        self._cutoff_box = QWidget()
        cutoff_row = QHBoxLayout(self._cutoff_box)
        cutoff_row.setContentsMargins(0, 0, 0, 0)
        cutoff_row.setSpacing(8)
        cutoff_row.addWidget(self.cutoff_label)
        cutoff_row.addWidget(self.cutoff)
        second.addWidget(self._cutoff_box)
        self._first_row = first
        self._second_row = second
        self._third_row = QHBoxLayout()
        self._third_row.addStretch(1)
        self._filters = (filter_icon, self.folder, self.date, self.duration)
        for widget in (self.per_video, self.sort, self.duration):
            widget.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.date.currentIndexChanged.connect(self._on_date_entry)
        self.folder.changed.connect(self.changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 12, 18, 6)
        layout.setSpacing(8)
        layout.addLayout(first)
        layout.addLayout(second)
        layout.addLayout(self._third_row)
        self._cutoff_below = False
        self._update_minimum_width()
        self.cutoff.valueChanged.connect(self._on_cutoff_moved)
        self.cutoff.sliderReleased.connect(self.changed)
        self.cutoff.valueChanged.connect(lambda _v: None if self.cutoff.isSliderDown() else self.changed.emit())

    def refresh_icons(self) -> None:
        self._filter_icon.setPixmap(theme.icon("filter", theme.current().muted, 16).pixmap(16, 16))
        self._update_minimum_width()

    @property
    def cutoff_below(self) -> bool:
        """Whether the cut-off has a row of its own (the bar is too narrow for it beside the filters)."""
        return self._cutoff_below

    def _filters_width(self) -> int:
        spacing = self._second_row.spacing()
        margins = self.layout().contentsMargins()
        return (sum(w.sizeHint().width() for w in self._filters) + spacing * (len(self._filters) - 1)
                + margins.left() + margins.right())

    def _update_minimum_width(self) -> None:
        # Set, not hinted: the layout alone would ask for the width of the filters and the cut-off side by side.
        self.setMinimumWidth(self._filters_width())

    def showEvent(self, event) -> None:
        self._update_minimum_width()      # the style sheet, which sets the boxes' padding, applies from here
        super().showEvent(event)

    def changeEvent(self, event) -> None:
        if event.type() in (QEvent.Type.StyleChange, QEvent.Type.FontChange):
            self._update_minimum_width()
        super().changeEvent(event)

    def resizeEvent(self, event) -> None:
        self._place_cutoff(event.size().width())
        super().resizeEvent(event)

    def _place_cutoff(self, width: int) -> None:
        side_by_side = self._filters_width() + 12 + self._cutoff_box.sizeHint().width()
        below = width < side_by_side
        if below != self._cutoff_below:
            self._cutoff_below = below
            (self._second_row if below else self._third_row).removeWidget(self._cutoff_box)
            (self._third_row if below else self._second_row).addWidget(self._cutoff_box)
            # The moments-or-videos box goes down too, leaving the summary room beside the sort.
            (self._first_row if below else self._third_row).removeWidget(self.per_video)
            if below:
                self._third_row.insertWidget(0, self.per_video)
            else:
                self._first_row.insertWidget(1, self.per_video)

    def set_folders(self, paths: list[str]) -> None:
        self.folder.set_folders(paths)

    def choices(self) -> dict[str, str]:
        """Moments or videos, the sort and the date and length filters, to be restored next time (folders, days
        chosen and the cut-off belong to one search, not to the user's habits)."""
        return {"show": self.per_video.currentData(), "sort": self.sort.currentData(),
                "date": self._date_preset(), "duration": self.duration.currentText()}

    def set_choices(self, choices: dict) -> None:
        """Restore ``choices()``; an unknown value (from another version) leaves its box as it is."""
        for box, found in ((self.per_video, self.per_video.findData(choices.get("show"))),
                           (self.sort, self.sort.findData(choices.get("sort"))),
                           (self.date, self.date.findText(str(choices.get("date")))),
                           (self.duration, self.duration.findText(str(choices.get("duration"))))):
            if found >= 0:
                box.blockSignals(True)
                box.setCurrentIndex(found)
                box.blockSignals(False)
        self._date_index = self.date.currentIndex()

    def chosen_dates(self) -> tuple[date, date] | None:
        """The days chosen with "Choose dates…", while they are the date filter in use."""
        return self._days_at(self.date.currentIndex())

    def _days_at(self, index: int) -> tuple[date, date] | None:
        data = self.date.itemData(index)
        return data[1] if isinstance(data, tuple) and data[0] == _DAYS else None

    def set_dates(self, first: date, last: date) -> None:
        """Make these days the date filter (no ``changed``), in the box above "Choose dates…"."""
        custom = len(DATE_PRESETS)
        self.date.blockSignals(True)       # items moving under the current one change its index
        if self.date.itemData(custom) != _CHOOSE:
            self.date.removeItem(custom)
        self.date.insertItem(custom, days_label(first, last), (_DAYS, (first, last)))
        self.date.setItemData(custom, "Only videos recorded (else last changed) on these days",
                              Qt.ItemDataRole.ToolTipRole)
        self.date.blockSignals(False)
        self._select_date(custom)

    def _select_date(self, index: int) -> None:
        self.date.blockSignals(True)
        self.date.setCurrentIndex(index)
        self.date.blockSignals(False)
        self._date_index = index
        self._date_resized()

    def _date_resized(self) -> None:
        """The date box is as wide as the entry it shows: the filters' row and its minimum follow."""
        self.date.updateGeometry()
        self._update_minimum_width()
        self._place_cutoff(self.width())

    def _date_preset(self) -> str:
        text = self.date.currentText()
        return text if text in DATE_PRESETS else "Any date"

    def _on_date_entry(self, index: int) -> None:
        self._date_resized()
        if self.date.itemData(index) == _CHOOSE:
            # Once the list has closed: a dialog opened inside the box's own signal would run within it.
            QTimer.singleShot(0, self, self._choose_dates)
            return
        self._date_index = index
        self.changed.emit()

    def _choose_dates(self) -> None:
        chosen = self.ask_dates(self.window(), self._days_at(len(DATE_PRESETS)))    # the days chosen last, if any
        if chosen is None:
            self._select_date(self._date_index)          # cancelled: the box shows what is in use again
            return
        self.set_dates(*chosen)
        self.changed.emit()

    def show_every_moment(self) -> None:
        """Results show every moment, not one per video, from the next search on (which this does not start)."""
        self.per_video.blockSignals(True)
        self.per_video.setCurrentIndex(self.per_video.findData("moments"))
        self.per_video.blockSignals(False)

    def min_score(self) -> float | None:
        return self._min_score

    def score_span(self, kind: str | None = None) -> tuple[float, float]:
        """The scores the slider runs over: those searches of ``kind`` (by default, the kind now shown) have
        shown since the library opened (0-1 before any)."""
        return self._spans.get(kind or self._kind, (0.0, 1.0))

    def use_scale(self, kind: str) -> None:
        """A search of ``kind`` ("text", "image", "like") comes next; from another kind, the cut-off goes back to
        any, as its score would mean something else."""
        if kind != self._kind:
            self._kind = kind
            self._reset_cutoff()

    def note_scores(self, scores, kind: str = "text") -> None:
        """Widen the span of ``kind`` to take in ``scores``, keeping the cut-off's score where it is."""
        scores = [float(s) for s in scores]
        if not scores:
            return
        low, high = min(scores), max(scores)
        if kind in self._spans:
            low, high = min(low, self._spans[kind][0]), max(high, self._spans[kind][1])
        if high - low < 1e-6:
            low, high = low - 0.5, high + 0.5
        self._spans[kind] = (low, high)
        if self._min_score is not None and kind == self._kind:
            position = round((self._min_score - low) / (high - low) * 100)
            self.cutoff.blockSignals(True)
            self.cutoff.setValue(max(1, min(100, position)))
            self.cutoff.blockSignals(False)

    def forget_scores(self) -> None:
        """Another library or model: its scores are on another scale; the cut-off goes back to any."""
        self._spans.clear()
        self._reset_cutoff()

    def _reset_cutoff(self) -> None:
        self.cutoff.blockSignals(True)
        self.cutoff.setValue(0)
        self.cutoff.blockSignals(False)
        self._min_score = None
        self._update_cutoff_label()

    def _on_cutoff_moved(self, value: int) -> None:
        low, high = self.score_span()
        if value == 0:
            self._min_score = None
        else:    # the far end is the best score itself, not a rounding error above it
            self._min_score = high if value == 100 else low + (high - low) * value / 100
        self._update_cutoff_label()

    def options(self) -> SearchOptions:
        return SearchOptions(sort=self.sort.currentData(), folders=self.folder.chosen(),
                             date_preset=self._date_preset(), dates=self.chosen_dates(),
                             duration_preset=self.duration.currentText(),
                             min_score=self.min_score(), per_video=self.per_video.currentData() == "videos")

    def _update_cutoff_label(self) -> None:
        value = self.min_score()
        self.cutoff_label.setText("Min. score: any" if value is None else f"Min. score: {value:.2f}")
