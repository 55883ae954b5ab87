"""The player's picture: a click plays or pauses it, a double-click or F fills the screen, Esc leaves;
its menu copies or saves the frame shown."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtWidgets import QMenu

from desktop_app import theme


SPEEDS = (0.25, 0.5, 1.0, 1.5, 2.0)


class VideoSurface(QVideoWidget):
    """Signals: ``clicked()``, ``full_screen_changed(bool)``, ``key_pressed(int)`` for the keys pressed
    while it fills the screen (it is a window of its own then, out of reach of the main window's shortcuts),
    and from its menu ``save_frame_requested(QImage)`` and ``speed_chosen(float)``.

    ``speed`` is the playback rate the menu shows as chosen; the panel keeps it up to date.
    """

    clicked = Signal()
    full_screen_changed = Signal(bool)
    key_pressed = Signal(int)
    save_frame_requested = Signal(QImage)
    speed_chosen = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._release_ends_double_click = False
        self.speed = 1.0
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setToolTip("Click to play or pause; double-click (or F) for full screen, Esc to leave it")
        self.setAccessibleName("Video")

    def set_full_screen(self, on: bool) -> None:
        if on == self.isFullScreen():
            return
        self.setFullScreen(on)
        # Keys go to the window that has focus: this one while it fills the screen, the main one after.
        self.window().activateWindow()
        self.setFocus(Qt.FocusReason.OtherFocusReason)
        self.full_screen_changed.emit(on)

    def frame(self) -> QImage:
        """The frame shown now (a null image before the first one)."""
        frame = self.videoSink().videoFrame()
        return frame.toImage() if frame.isValid() else QImage()

    def copy_frame(self) -> bool:
        image = self.frame()
        if image.isNull():
            return False
        QGuiApplication.clipboard().setImage(image)
        return True

    def menu(self) -> QMenu:
        menu = QMenu(self)
        has_frame = not self.frame().isNull()
        for icon, label, action in (("copy", "Copy this frame", self.copy_frame),
                                    ("export", "Save this frame as…", lambda: self.save_frame_requested.emit(
                                        self.frame()))):
            item = menu.addAction(theme.icon(icon, size=16), label, action)
            item.setEnabled(has_frame)
        speeds = menu.addMenu("Speed")
        for rate in SPEEDS:
            item = speeds.addAction(f"{rate:g}×", lambda r=rate: self.speed_chosen.emit(r))
            item.setCheckable(True)
            item.setChecked(rate == self.speed)
        menu.addSeparator()
        menu.addAction("Leave full screen (Esc)" if self.isFullScreen() else "Full screen (F)",
                       lambda: self.set_full_screen(not self.isFullScreen()))
        return menu

    def contextMenuEvent(self, event) -> None:
        self.menu().popup(event.globalPos())
        event.accept()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            if self._release_ends_double_click:
                self._release_ends_double_click = False
            elif self.rect().contains(event.position().toPoint()):
                self.clicked.emit()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            # The double-click's first click already played or paused: undo that, as video players do.
            self._release_ends_double_click = True
            self.clicked.emit()
            self.set_full_screen(not self.isFullScreen())
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event) -> None:
        if self.isFullScreen():
            if event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_F):
                self.set_full_screen(False)
            else:
                self.key_pressed.emit(event.key())
            event.accept()
            return
        super().keyPressEvent(event)
