"""The player's sound: a button that mutes (the mouse wheel over it sets the volume) and a volume slider."""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtMultimedia import QAudioOutput
from PySide6.QtWidgets import QSlider, QToolButton

from desktop_app import theme

DEFAULT_VOLUME = 0.6
WHEEL_STEP = 5              # percent per notch of the mouse wheel over the button


class _WheelButton(QToolButton):
    def __init__(self, on_wheel) -> None:
        super().__init__()
        self._on_wheel = on_wheel

    def wheelEvent(self, event) -> None:
        notches = event.angleDelta().y() / 120
        if notches:
            self._on_wheel(notches)
        event.accept()


class SoundControls(QObject):
    """``button`` (checked: muted) and ``slider`` (0-100 %) drive ``audio``. ``set_silent_file(True)`` says
    that the file shown has no sound track at all."""

    def __init__(self, audio: QAudioOutput, parent=None) -> None:
        super().__init__(parent)
        self.audio = audio
        self._silent_file = False
        self.button = _WheelButton(self._on_wheel)
        self.button.setCheckable(True)
        self.button.toggled.connect(self._on_mute_toggled)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setFixedWidth(72)
        self.slider.setAccessibleName("Volume")
        self.slider.valueChanged.connect(self._on_volume_changed)
        self.set_sound(DEFAULT_VOLUME, False)
        self.refresh()

    def sound(self) -> tuple[float, bool]:
        """The volume (0 to 1) and whether the sound is off."""
        return self.slider.value() / 100, self.button.isChecked()

    def set_sound(self, volume: float, muted: bool) -> None:
        self.slider.setValue(round(min(1.0, max(0.0, volume)) * 100))
        self.audio.setVolume(self.slider.value() / 100)
        self.button.setChecked(muted)

    def toggle_mute(self) -> None:
        if self.button.isEnabled():
            self.button.toggle()

    def set_enabled(self, enabled: bool) -> None:
        self.button.setEnabled(enabled)
        self.slider.setEnabled(enabled)

    def set_silent_file(self, silent: bool) -> None:
        if silent != self._silent_file:
            self._silent_file = silent
            self.refresh()

    def refresh(self) -> None:
        muted = self.button.isChecked()
        volume = self.slider.value()
        if self._silent_file:
            self.button.setToolTip("This file has no sound")
        else:
            self.button.setToolTip(f"{'Unmute' if muted else 'Mute'} (M) · volume {volume} %, scroll to change")
        self.button.setAccessibleName("Unmute" if muted else "Mute")
        self.slider.setToolTip(f"Volume {volume} %")
        color = theme.current().muted if self._silent_file else None
        self.button.setIcon(theme.icon("volume-off" if muted else "volume", color, size=20))

    def _on_wheel(self, notches: float) -> None:
        self.slider.setValue(self.slider.value() + round(notches * WHEEL_STEP))
        if self.button.isChecked() and notches > 0:
            self.button.setChecked(False)            # turning it up means wanting to hear it

    def _on_mute_toggled(self, muted: bool) -> None:
        self.audio.setMuted(muted)
        self.refresh()

    def _on_volume_changed(self, percent: int) -> None:
        self.audio.setVolume(percent / 100)
        self.refresh()
