"""The Problems view: files that failed or were skipped, with reasons; retry, or leave them out."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QMenu, QPushButton, \
    QTableView, QVBoxLayout, QWidget

from desktop_app import theme
from desktop_app.models.problems_model import ProblemsModel
from desktop_app.models.roles import ItemRole
from desktop_app.views.moment_menu import reveal_in_file_manager
from engine.api.types import Problem

FOLDER_SHARE = 0.4        # of the table's width, at most, for the folder column


class _ProblemsTable(QTableView):
    """Ctrl+C copies whole rows; a plain table view copies the current cell's text."""

    def __init__(self, copy_rows) -> None:
        super().__init__()
        self._copy_rows = copy_rows

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            self._copy_rows()
            event.accept()
        else:
            super().keyPressEvent(event)


class ProblemsView(QWidget):
    """Signal: ``retry_requested(list[int] file_ids)``; an empty list means every problem file.

    A row's context menu retries it, leaves it out of the library (a file that fails however often it is
    retried), shows the file in the file manager or copies its path and reason (Ctrl+C copies the selected rows
    too); a double-click shows the file. ``leave_out_requested(list[str] paths)``."""

    retry_requested = Signal(list)
    leave_out_requested = Signal(list)     # paths

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

        self.table = _ProblemsTable(self.copy_selected)
        self.table.setAccessibleName("Files with problems")
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
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        self.table.doubleClicked.connect(lambda index: reveal_in_file_manager(index.data(ItemRole).path))
        model.modelReset.connect(self._update)
        model.modelReset.connect(self._fit_folder_column)

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

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_folder_column()

    def _fit_folder_column(self) -> None:
        """Folders as wide as their paths, up to a share of the table: the reason column stretches, and a
        folder squeezed to its default 100 px showed only '/tmp/…ideos'."""
        widest = max(self.table.sizeHintForColumn(3), self.table.horizontalHeader().sectionSizeHint(3))
        self.table.horizontalHeader().resizeSection(3, min(widest, int(self.table.viewport().width()
                                                                        * FOLDER_SHARE)))

    def refresh_icons(self) -> None:
        self.retry_selected.setIcon(theme.icon("refresh", size=16))
        self.retry_all.setIcon(theme.icon("refresh", theme.current().accent_text, size=16))

    def selected_problems(self) -> list[Problem]:
        return [index.data(ItemRole) for index in sorted(self.table.selectionModel().selectedRows(),
                                                         key=lambda index: index.row())]

    def copy_selected(self) -> str:
        """One 'path: reason' line per selected problem on the clipboard, as ``clipseek problems`` words it."""
        text = "\n".join(f"{p.path}: {p.cause}" for p in self.selected_problems())
        if text:
            QGuiApplication.clipboard().setText(text)
        return text

    def context_menu(self) -> QMenu:
        """The menu of the selected rows."""
        problems = self.selected_problems()
        menu = QMenu(self)
        several = len(problems) > 1
        menu.addAction(theme.icon("refresh", size=16), f"Retry {len(problems)} files" if several else "Retry",
                       self._on_retry_selected)
        if not several:
            menu.addAction(theme.icon("folder", size=16), "Show in file manager",
                           lambda: reveal_in_file_manager(problems[0].path))
        menu.addAction(theme.icon("copy", size=16), "Copy paths and reasons" if several else "Copy path and reason",
                       self.copy_selected)
        menu.addSeparator()
        menu.addAction(theme.icon("minus", size=16),
                       f"Leave {len(problems)} files out of the library" if several else "Leave out of the library",
                       lambda: self.leave_out_requested.emit([p.path for p in problems]))
        return menu

    def _on_context_menu(self, position: QPoint) -> None:
        index = self.table.indexAt(position)
        if not index.isValid():
            return
        if not self.table.selectionModel().isRowSelected(index.row()):
            self.table.selectRow(index.row())
        self.context_menu().exec(self.table.viewport().mapToGlobal(position))

    def _selected_ids(self) -> list[int]:
        return [problem.file_id for problem in self.selected_problems()]

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
