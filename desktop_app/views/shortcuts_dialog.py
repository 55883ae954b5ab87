"""The list of keyboard shortcuts (F1 or ?)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout

SHORTCUTS = (
    ("Ctrl+F, Ctrl+L", "Go to the search field"),
    ("Enter", "Search now (in the search field); play the moment (in the results)"),
    ("Esc", "Empty the search field; leave full screen"),
    ("Down", "From the search field to the results"),
    ("Alt+Left, Alt+Right", "Back to the search before, forward again (also the mouse's side buttons)"),
    ("Arrow keys", "Move between results; Shift+arrows select several"),
    ("Ctrl+C", "Copy the selected moments' paths and times, or the selected problems"),
    ("Menu, Shift+F10", "The menu of the selected moments"),
    ("Ctrl+plus, Ctrl+minus, Ctrl+wheel", "Bigger or smaller result cards"),
    ("Space", "Play or pause"),
    ("J, L", "5 seconds back, 5 seconds forward"),
    (", and .", "Pause, and one frame back or forward"),
    ("M", "Mute or unmute"),
    ("F", "Full screen, and back"),
    ("Left, Right, Home, End", "On the seek bar: 5 seconds back or forward, the moment's start or end"),
    ("Ctrl+,", "Settings"),
    ("F1, ?", "This list"),
)


class ShortcutsDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.table = QTableWidget(len(SHORTCUTS), 2)
        self.table.setAccessibleName("Keyboard shortcuts")
        self.table.setHorizontalHeaderLabels(["Keys", "What they do"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setShowGrid(False)
        self.table.setWordWrap(True)
        for row, (keys, action) in enumerate(SHORTCUTS):
            self.table.setItem(row, 0, QTableWidgetItem(keys))
            self.table.setItem(row, 1, QTableWidgetItem(action))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.resizeRowsToContents()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 14)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(680, 600)
        self._fit_rows()

    def _fit_rows(self) -> None:
        """Tall enough to show every row without scrolling, when the screen has room."""
        self.table.resizeRowsToContents()
        rows = sum(self.table.rowHeight(row) for row in range(self.table.rowCount()))
        wanted = rows + self.table.horizontalHeader().height() + 2 * self.table.frameWidth() + 4
        screen = self.screen().availableGeometry().height() if self.screen() else 900
        self.table.setMinimumHeight(min(wanted, int(screen * 0.7)))
