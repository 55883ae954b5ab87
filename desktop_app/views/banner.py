"""A one-line message over the content that hides itself: confirmations and errors."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from desktop_app import theme
from desktop_app.formatting import sentence


class Banner(QWidget):
    """Signal: ``visibility_changed(bool)`` so a host can collapse with it."""

    visibility_changed = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.text = QLabel("")
        self.text.setTextFormat(Qt.TextFormat.PlainText)     # messages quote paths and queries, never markup
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton()
        self.close_button.setToolTip("Close this message")
        self.close_button.setAccessibleName("Close message")
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 8, 8, 8)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.close_button)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.kind = "info"
        self.hide()

    def show_message(self, text: str, kind: str = "info", seconds: float = 6.0) -> None:
        """``kind`` is "info" or "error"; errors stay until closed."""
        c = theme.current()
        self.kind = kind
        color = c.danger if kind == "error" else c.accent
        self.setStyleSheet(f"Banner {{ background: {c.surface}; border: 1px solid {color};"
                           f" border-left: 4px solid {color}; border-radius: 8px; }}")
        self.close_button.setIcon(theme.icon("close", c.muted, 14))
        self.text.setText(sentence(text))
        self.show()
        if kind == "error":
            self._timer.stop()
        else:
            self._timer.start(int(seconds * 1000))

    def setVisible(self, visible: bool) -> None:
        super().setVisible(visible)
        self.visibility_changed.emit(visible)
