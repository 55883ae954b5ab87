"""The first-run page: add a folder or open the demo library."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from desktop_app import theme


class WelcomePage(QWidget):
    """Signals: ``add_folder_requested()``, ``demo_requested()``."""

    add_folder_requested = Signal()
    demo_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("Welcome")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.logo = QLabel()
        self.logo.setPixmap(theme.logo(88))
        self.logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel("Find any moment in your videos")
        title.setObjectName("WelcomeTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel("Describe what you remember — “kids blowing out candles”, “sunset over the sea” —\n"
                      "and ClipSeek shows the exact moments. Everything stays on this computer.")
        text.setObjectName("WelcomeText")
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.add_button = QPushButton("  Add a folder…")
        self.add_button.setProperty("primary", True)
        self.add_button.setMinimumHeight(40)
        self.add_button.clicked.connect(self.add_folder_requested)
        self.demo_button = QPushButton("  Open the demo library")
        self.demo_button.setMinimumHeight(40)
        self.demo_button.clicked.connect(self.demo_requested)
        buttons = QHBoxLayout()
        buttons.setSpacing(12)
        buttons.addStretch(1)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)

        hint = QLabel("Tip: you can also drop a folder anywhere on this window.")
        hint.setObjectName("WelcomeHint")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.model_note = QLabel("")
        self.model_note.setObjectName("WelcomeHint")
        self.model_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.model_note.setWordWrap(True)
        self.model_note.hide()
        self.busy_text = QLabel("")
        self.busy_text.setObjectName("WelcomeHint")
        self.busy_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.busy_bar = QProgressBar()
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setFixedWidth(320)

        card = QFrame()
        card.setObjectName("WelcomeCard")
        inner = QVBoxLayout(card)
        inner.setContentsMargins(48, 40, 48, 36)
        inner.setSpacing(14)
        inner.addWidget(self.logo)
        inner.addSpacing(6)
        inner.addWidget(title)
        inner.addWidget(text)
        inner.addSpacing(14)
        inner.addLayout(buttons)
        inner.addSpacing(4)
        inner.addWidget(hint)
        inner.addWidget(self.model_note)
        inner.addWidget(self.busy_text)
        inner.addWidget(self.busy_bar, 0, Qt.AlignmentFlag.AlignHCenter)

        layout = QVBoxLayout(self)
        layout.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)
        self.refresh_icons()
        self.set_busy(None)

    def refresh_icons(self) -> None:
        self.add_button.setIcon(theme.icon("folder-plus", theme.current().accent_text, 18))
        self.demo_button.setIcon(theme.icon("sparkle-play", size=18))

    def set_model_note(self, text: str | None) -> None:
        """A word about the library's model (that it is only a demonstration), or nothing with None."""
        self.model_note.setText(text or "")
        self.model_note.setVisible(bool(text))

    def set_busy(self, text: str | None) -> None:
        """Show a working state (creating the demo library), or the normal buttons with None."""
        busy = text is not None
        self.busy_text.setVisible(busy)
        self.busy_bar.setVisible(busy)
        self.busy_text.setText(text or "")
        self.add_button.setEnabled(not busy)
        self.demo_button.setEnabled(not busy)
