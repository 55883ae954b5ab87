"""The status area under the results: indexing progress with pause, resume and cancel."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from desktop_app import theme
from desktop_app.formatting import progress_fraction, progress_summary
from engine.api.types import Progress


class StatusArea(QWidget):
    """``show_progress(Progress)`` (coalesced: repaints at most ~7 times a second),
    ``show_idle(text)``. Signals: ``pause_requested``, ``resume_requested``, ``cancel_requested``."""

    pause_requested = Signal()
    resume_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("StatusArea")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.latest: Progress | None = None
        self.paused = False
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self._apply)

        self.title = QLabel("Ready")
        self.title.setObjectName("StatusTitle")
        self.text = QLabel("")
        self.text.setObjectName("StatusText")
        self.current = QLabel("")
        self.current.setObjectName("StatusText")
        self.current.setTextFormat(Qt.TextFormat.PlainText)  # a file name, never markup
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(220)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self._on_pause_clicked)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_requested)

        lines = QVBoxLayout()
        lines.setSpacing(1)
        top = QHBoxLayout()
        top.setSpacing(10)
        top.addWidget(self.title)
        top.addWidget(self.text, 1)
        lines.addLayout(top)
        lines.addWidget(self.current)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 8, 16, 8)
        layout.setSpacing(12)
        layout.addLayout(lines, 1)
        layout.addWidget(self.bar)
        layout.addWidget(self.pause_button)
        layout.addWidget(self.cancel_button)
        self.refresh_icons()
        self.show_idle("Ready")

    def refresh_icons(self) -> None:
        self.pause_button.setIcon(theme.icon("play" if self.paused else "pause", size=16))
        self.cancel_button.setIcon(theme.icon("close", size=16))

    @property
    def indexing(self) -> bool:
        return self.bar.isVisible()

    def show_progress(self, progress: Progress) -> None:
        self.latest = progress
        self._dirty = True
        if not self._timer.isActive():
            self._apply()
            self._timer.start()

    def show_idle(self, text: str) -> None:
        self._timer.stop()
        self._dirty = False
        self.paused = False
        self.title.setText(text)
        self.text.setText("")
        self.current.setText("")
        self.current.setVisible(False)
        for widget in (self.bar, self.pause_button, self.cancel_button):
            widget.setVisible(False)

    def set_idle_detail(self, text: str) -> None:
        if not self.indexing:
            self.text.setText(text)

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self.pause_button.setText("Resume" if paused else "Pause")
        self.refresh_icons()
        if self.latest is not None:
            self._dirty = True
            self._apply()

    def _apply(self) -> None:
        if not self._dirty or self.latest is None:
            self._timer.stop()
            return
        self._dirty = False
        progress = self.latest
        for widget in (self.bar, self.pause_button, self.cancel_button, self.current):
            widget.setVisible(True)
        self.title.setText("Paused" if self.paused or progress.state == "paused" else "Indexing")
        self.text.setText(progress_summary(progress))
        self.current.setText(os.path.basename(progress.current) if progress.current else "")
        self.bar.setValue(int(progress_fraction(progress) * 1000))

    def _on_pause_clicked(self) -> None:
        if self.paused:
            self.resume_requested.emit()
        else:
            self.pause_requested.emit()
