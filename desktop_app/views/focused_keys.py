"""Lets a focused button or combo box keep the keys it answers to, ahead of the window's one-key shortcuts.

Qt fires a window's shortcut before the focused widget sees the key, unless the widget claims the key first
(a ``ShortcutOverride`` event). A line edit claims every printable key; buttons and combo boxes claim none, so
without this the player's Space, M, J, L… would take Space from a focused button (which Space presses) and
letters from a combo box (which they search).
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox, QWidget

_COMMAND_MODIFIERS = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                      | Qt.KeyboardModifier.MetaModifier)


def widget_takes_key(widget: QWidget, event: QKeyEvent) -> bool:
    """Whether ``widget``, focused, acts on ``event`` itself (so no one-key shortcut may take it)."""
    if event.modifiers() & _COMMAND_MODIFIERS:
        return False
    if isinstance(widget, QAbstractButton):
        return event.key() == Qt.Key.Key_Space
    if isinstance(widget, QComboBox) and not widget.isEditable():   # an editable one's line edit claims keys
        return event.key() == Qt.Key.Key_Space or event.text().isprintable() and bool(event.text().strip())
    return False


class FocusedKeys(QObject):
    """Watches whichever widget of ``window`` has the keyboard focus, and claims for it the keys it takes."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self._window = window
        self._watched: QWidget | None = None
        QApplication.instance().focusChanged.connect(self._on_focus_changed)

    def _on_focus_changed(self, _old: QWidget | None, now: QWidget | None) -> None:
        if self._watched is not None:
            try:
                self._watched.removeEventFilter(self)
            except RuntimeError:        # already deleted by Qt
                pass
            self._watched = None
        if now is not None and now.window() is self._window:
            now.installEventFilter(self)
            self._watched = now

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and widget_takes_key(watched, event):
            event.accept()
            return True
        return False
