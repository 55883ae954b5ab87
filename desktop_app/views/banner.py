"""A one-line message over the content that hides itself: confirmations and errors, each with at most one button
that does what the message leads to (show the file exported, cancel what is in the way)."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from desktop_app import theme
from desktop_app.formatting import sentence


ACTION_SECONDS = 10.0   # an information with a button stays longer, to be read and clicked
HOVER_SECONDS = 3.0     # after the pointer leaves the message, before it goes

BannerAction = tuple[str, Callable[[], None]]   # the button's text, what it does


class Banner(QWidget):
    """Signal: ``visibility_changed(bool)`` so a host can collapse with it.

    An information hides itself after some seconds, though not while the pointer is over it."""

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
        self.action_button = QPushButton()
        self.action_button.setAccessibleName("What the message offers")
        self.action_button.clicked.connect(self._act)
        self.action_button.hide()
        self._action: Callable[[], None] | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 8, 8, 8)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(self.close_button)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self._paused_ms: int | None = None    # time it had left when the pointer came over it
        self.kind = "info"
        self.hide()

    def show_message(self, text: str, kind: str = "info", seconds: float = 6.0,
                     action: BannerAction | None = None) -> None:
        """``kind`` is "info" or "error"; errors stay until closed. ``action``: a button that does it and closes the
        message."""
        c = theme.current()
        self.kind = kind
        color = c.danger if kind == "error" else c.accent
        self.setStyleSheet(f"Banner {{ background: {c.surface}; border: 1px solid {color};"
                           f" border-left: 4px solid {color}; border-radius: 8px; }}")
        self.close_button.setIcon(theme.icon("close", c.muted, 14))
        self.text.setText(sentence(text))
        self._action = action[1] if action else None
        self.action_button.setText(action[0] if action else "")
        self.action_button.setAccessibleName(action[0] if action else "What the message offers")
        self.action_button.setVisible(action is not None)
        self.show()
        self._paused_ms = None
        self._timer.stop()
        if kind != "error":
            shown_ms = int(max(seconds, ACTION_SECONDS if action else 0.0) * 1000)
            if self.underMouse():
                self._paused_ms = shown_ms      # counts from when the pointer leaves
            else:
                self._timer.start(shown_ms)

    def _act(self) -> None:
        action, self._action = self._action, None
        self.hide()
        if action is not None:
            action()

    def enterEvent(self, event) -> None:
        if self._timer.isActive():  # being read, or its button about to be clicked: it waits
            self._paused_ms = self._timer.remainingTime()
            self._timer.stop()
        super().enterEvent(event)

    def leaveEvent(self, event) -> None:
        if self._paused_ms is not None and self.isVisible():
            self._timer.start(max(self._paused_ms, int(HOVER_SECONDS * 1000)))
        self._paused_ms = None
        super().leaveEvent(event)

    def setVisible(self, visible: bool) -> None:
        super().setVisible(visible)
        self.visibility_changed.emit(visible)
