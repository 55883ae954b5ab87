"""The Problems view: files that failed or were skipped, with reasons, and retry."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableView, \
    QVBoxLayout, QWidget

from desktop_app import theme
from desktop_app.models.problems_model import ProblemsModel
from desktop_app.models.roles import ItemRole


class ProblemsView(QWidget):
    """Signal: ``retry_requested(list[int] file_ids)``; an empty list means every problem file."""

    retry_requested = Signal(list)

    def __init__(self, model: ProblemsModel, parent=None) -> None:
        super().__init__(parent)
        self.model = model
        title = QLabel("Problems")
        title.setObjectName("EmptyTitle")
        self.summary = QLabel("")
        self.summary.setObjectName("StatusText")
        self.retry_selected = QPushButton("Retry selected")
        self.retry_selected.clicked.connect(self._on_retry_selected)
        self.retry_all = QPushButton("Retry all")
        self.retry_all.setProperty("primary", True)
        self.retry_all.clicked.connect(lambda: self.retry_requested.emit([]))

        self.table = QTableView()
        self.table.setModel(model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(34)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Interactive)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update())
        model.modelReset.connect(self._update)

        self.empty = QLabel("No problems: every file was indexed.")
        self.empty.setObjectName("EmptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

        top = QHBoxLayout()
        top.addWidget(title)
        top.addSpacing(12)
        top.addWidget(self.summary, 1)
        top.addWidget(self.retry_selected)
        top.addWidget(self.retry_all)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(12)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty, 1)
        self.refresh_icons()
        self._update()

    def refresh_icons(self) -> None:
        self.retry_selected.setIcon(theme.icon("refresh", size=16))
        self.retry_all.setIcon(theme.icon("refresh", theme.current().accent_text, size=16))

    def _selected_ids(self) -> list[int]:
        return [index.data(ItemRole).file_id for index in self.table.selectionModel().selectedRows()]

    def _on_retry_selected(self) -> None:
        ids = self._selected_ids()
        if ids:
            self.retry_requested.emit(ids)

    def _update(self) -> None:
        count = self.model.rowCount()
        failed = sum(1 for p in self.model.problems() if p.status.value == "failed")
        parts = [f"{n} {label}" for n, label in ((failed, "failed"), (count - failed, "skipped")) if n]
        self.summary.setText(" · ".join(parts))
        self.table.setVisible(count > 0)
        self.empty.setVisible(count == 0)
        self.retry_all.setEnabled(count > 0)
        self.retry_all.setVisible(count > 0)
        self.retry_selected.setVisible(count > 0)
        self.retry_selected.setEnabled(bool(self.table.selectionModel().selectedRows()))
