"""Back and Forward through the searches of this session, at the start of the top bar."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QToolButton, QWidget

from desktop_app import theme


class TrailButtons(QWidget):
    """Signals ``back()`` and ``forward()``; ``set_possible(back, forward)`` enables the buttons."""

    back = Signal()
    forward = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.back_button = QToolButton()
        self.back_button.setToolTip("Back to the search before (Alt+Left)")
        self.back_button.setAccessibleName("Back")
        self.forward_button = QToolButton()
        self.forward_button.setToolTip("Forward to the next search (Alt+Right)")
        self.forward_button.setAccessibleName("Forward")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        for button, signal in ((self.back_button, self.back), (self.forward_button, self.forward)):
            button.setEnabled(False)
            button.clicked.connect(signal)
            layout.addWidget(button)
        self.refresh_icons()

    def set_possible(self, back: bool, forward: bool) -> None:
        self.back_button.setEnabled(back)
        self.forward_button.setEnabled(forward)

    def refresh_icons(self) -> None:
        self.back_button.setIcon(theme.icon("chevron-left", size=20))
        self.forward_button.setIcon(theme.icon("chevron-right", size=20))
