"""The embedded player: plays a moment from its start and loops inside its range."""
from __future__ import annotations

import os

from PySide6.QtCore import QLoggingCategory, QStandardPaths, Qt, QTimer, QUrl, Signal
from PySide6.QtMultimedia import QAudioOutput, QMediaMetaData, QMediaPlayer
from PySide6.QtWidgets import (QFileDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QStackedLayout,
                               QToolButton, QVBoxLayout, QWidget)

from desktop_app import theme
from desktop_app.formatting import clock, file_gone, moment_details
from desktop_app.views.elided_label import ElidedLabel
from desktop_app.views.moment_menu import frame_file_name
from desktop_app.views.seek_bar import MomentSeekBar
from desktop_app.views.sound_controls import SoundControls
from desktop_app.views.video_surface import VideoSurface
from engine.api.types import Moment, PlayableCopy


# A file shorter than this (a still saved as a video, a few frames) is shown paused at its first
# frame: restarting it at each end would run a hundred restarts a second and show mostly black.
SHORTEST_LOOP_MS = 250
STEP_SECONDS = 5.0          # J and L jump this far back and forward
FALLBACK_FPS = 25.0         # for a frame step when the file does not say its frame rate
# Widths of the panel under which the controls make room for the seek bar: first the volume slider
# goes (the sound button still mutes, and its wheel sets the volume), then the seek bar takes a row
# of its own above the buttons.
SLIDER_MIN_PANEL_WIDTH = 440
SEEK_ROW_MIN_PANEL_WIDTH = 360
NARROWEST = 280            # the panel's own minimum: half of a 1920-px screen still fits results beside it
# With no picture this long after a file was loaded or a seek made, Qt's player cannot show the file (an AV1 file
# without a hardware decoder, an MPEG-TS it cannot seek in): a copy of the moment is asked for.
NO_PICTURE_MS = 3000
# Qt's player seeks some files (MPEG-TS: AVCHD camcorders, TV recordings) to the keyframe after the time asked, so a
# moment would start up to a keyframe interval late. Where the first picture after a seek to a moment's start comes
# this late, later seeks to starts in that file aim this far earlier, doubled while it is not enough: the moment
# then starts with a short lead-in instead of missing its beginning.
LATE_SEEK_MS = 120
SEEK_LEADS_MS = (1000, 2000, 4000)
STALE_FRAMES = 3            # pictures from before a seek that may still come after it
# Qt's FFmpeg backend prints FFmpeg's description of each file it opens (a dozen "Input #0 ... Stream #0:0 ..."
# lines) at its info level: a window started from a terminal wrote that at every result shown.
QUIET_MEDIA_BACKEND = "qt.multimedia.ffmpeg.mediadataholder.info=false"


def quiet_media_backend() -> None:
    """Keep Qt's media backend from describing every file it opens on stderr; its warnings still come. A rule in
    QT_LOGGING_RULES still wins (Qt reads it after this)."""
    QLoggingCategory.setFilterRules(QUIET_MEDIA_BACKEND)


class PlayerPanel(QWidget):
    """``play_moment(moment)`` loads the file, seeks to ``moment.start`` and plays; reaching
    ``moment.end`` jumps back to the start while looping is on. ``toggle_play()`` for Space,
    ``toggle_mute()`` for M, ``step(seconds)`` for J and L, ``toggle_full_screen()`` for F; ``sound()`` and
    ``set_sound(volume, muted)`` let the window remember the sound between runs.

    A file whose picture does not come (``NO_PICTURE_MS`` after loading or seeking, or its end reached without a
    frame) is one this player cannot show: ``copy_wanted(moment)`` asks for a copy of the moment that it can
    show, and ``play_copy(moment, copy)`` plays that copy in the file's own times (the seek bar and the clock still
    show the file; seeking stays inside the copy).

    Signals: ``error(str)`` when something fails (the file is gone, a frame cannot be saved);
    ``cannot_play(Moment, str)`` when the file is there but neither it nor a copy of the moment plays here (another
    player may); ``copy_wanted(Moment)``.
    """

    error = Signal(str)
    cannot_play = Signal(object, str)
    copy_wanted = Signal(object)
    action_requested = Signal(str, object)   # ("open" | "reveal" | "similar" | "export", Moment)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("PlayerPanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setMinimumWidth(NARROWEST)
        self.moment: Moment | None = None
        self.looping = True
        self._pending_start_ms: int | None = None
        self._last_position = 0
        self.copy: PlayableCopy | None = None      # what plays instead of the moment's file, if anything
        self._offset_ms = 0                         # where the copy's 0 lies in the file
        self._copy_moment: tuple[str, float, float] | None = None   # what the copy is of
        self._needs_copy: set[str] = set()          # files this player could not show, while the panel lives
        self._asked_copy = False
        self._frames_seen = 0                       # since the last seek
        self._frames_loaded = 0                     # since the file was loaded
        self._start_aimed_at: int | None = None     # the moment's start, while its first picture after a seek is due
        self._seek_leads: dict[str, int] = {}       # file -> how far before a moment's start its seeks must aim
        self._last_frame_ms: int | None = None      # the time of the last picture shown
        self._frame_before_seek: int | None = None  # ... when the last seek was asked for
        self._picture_timer = QTimer(self)
        self._picture_timer.setSingleShot(True)
        self._picture_timer.setInterval(NO_PICTURE_MS)
        self._picture_timer.timeout.connect(self._check_picture)

        self.player = QMediaPlayer(self)
        self.audio = QAudioOutput(self)
        self.player.setAudioOutput(self.audio)
        self.video = VideoSurface()
        self.video.clicked.connect(self.toggle_play)
        self.video.key_pressed.connect(self._on_full_screen_key)
        self.video.save_frame_requested.connect(self._ask_save_frame)
        self.video.speed_chosen.connect(self.set_speed)
        self.video.setObjectName("VideoFrame")
        self.video.setMinimumSize(240, 135)
        self.video.setAspectRatioMode(Qt.AspectRatioMode.KeepAspectRatio)
        self.player.setVideoOutput(self.video)
        self.video.videoSink().videoFrameChanged.connect(self._on_frame)

        self.placeholder = QWidget()
        placeholder_icon = QLabel()
        placeholder_icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder_icon = placeholder_icon
        placeholder_text = QLabel("Select a moment to play it here.\nSpace plays and pauses; it loops inside the moment.\n"
                                  "J and L jump 5 s back and forward; M mutes; F fills the screen.")
        placeholder_text.setObjectName("EmptyState")
        placeholder_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        placeholder_text.setWordWrap(True)
        placeholder_layout = QVBoxLayout(self.placeholder)
        placeholder_layout.addStretch(1)
        placeholder_layout.addWidget(placeholder_icon)
        placeholder_layout.addWidget(placeholder_text)
        placeholder_layout.addStretch(2)
        video_stack_host = QWidget()
        self._video_stack = QStackedLayout(video_stack_host)
        self._video_stack.addWidget(self.video)

        self.title = QLabel("")
        self.title.setObjectName("PlayerTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)    # a file name, never markup
        self.title.setWordWrap(True)
        self.meta = QLabel("")
        self.meta.setObjectName("PlayerMeta")
        self.meta.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder = ElidedLabel("")
        self.folder.setObjectName("PlayerMeta")
        self.note = QLabel("")
        self.note.setObjectName("PlayerMeta")
        self.note.setWordWrap(True)
        self.note.setVisible(False)

        self.seek_bar = MomentSeekBar()
        self.seek_bar.setAccessibleName("Position in the video")
        self.play_button = QToolButton()
        self.play_button.setToolTip("Play or pause (Space)")
        self.play_button.setAccessibleName("Play or pause")
        self.play_button.clicked.connect(self.toggle_play)
        self.loop_button = QToolButton()
        self.loop_button.setCheckable(True)
        self.loop_button.setChecked(True)
        self.loop_button.setToolTip("Loop inside the moment")
        self.loop_button.setAccessibleName("Loop inside the moment")
        self.loop_button.toggled.connect(self._on_loop_toggled)
        self.sound_controls = SoundControls(self.audio, self)
        self.sound_button = self.sound_controls.button
        self.volume_slider = self.sound_controls.slider
        self.action_buttons: dict[str, QPushButton] = {}
        actions = QGridLayout()
        actions.setSpacing(6)
        self._actions = actions
        self._action_columns = 2
        for number, (name, label, tip) in enumerate((
                ("similar", "Find similar", "Find moments that look like this one"),
                ("export", "Export clip…", "Export this moment as a new video file"),
                ("open", "Open in player", "Open the file in another player (choose which in Settings › General)"),
                ("reveal", "Show in folder", "Show the file in the file manager"))):
            button = QPushButton(label)
            button.setToolTip(tip)
            button.clicked.connect(lambda _c=False, n=name: self.moment and self.action_requested.emit(n, self.moment))
            self.action_buttons[name] = button
            actions.addWidget(button, number // 2, number % 2)
        self.time_label = QLabel("0:00 / 0:00")
        self.time_label.setObjectName("PlayerTime")

        controls = QVBoxLayout()
        controls.setSpacing(4)
        self._seek_row = QHBoxLayout()
        self._buttons_row = QHBoxLayout()
        self._buttons_row.setSpacing(6)
        self._buttons_row.addWidget(self.play_button)
        self._buttons_row.addWidget(self.seek_bar, 1)
        self._buttons_row.addWidget(self.time_label)
        self._buttons_row.addWidget(self.sound_button)
        self._buttons_row.addWidget(self.volume_slider)
        self._buttons_row.addWidget(self.loop_button)
        self.seek_bar_on_own_row = False
        controls.addLayout(self._seek_row)
        controls.addLayout(self._buttons_row)

        self.details = QWidget()
        details = QVBoxLayout(self.details)
        details.setContentsMargins(16, 16, 16, 16)
        details.setSpacing(10)
        self._video_host = video_stack_host
        details.addWidget(video_stack_host)
        details.addLayout(controls)
        details.addSpacing(4)
        details.addWidget(self.title)
        meta_lines = QVBoxLayout()
        meta_lines.setSpacing(2)
        meta_lines.addWidget(self.meta)
        meta_lines.addWidget(self.folder)
        meta_lines.addWidget(self.note)
        details.addLayout(meta_lines)
        details.addSpacing(6)
        details.addLayout(actions)
        details.addStretch(1)
        self._pages = QStackedLayout(self)
        self._pages.addWidget(self.placeholder)
        self._pages.addWidget(self.details)
        self.refresh_icons()
        self._set_controls_enabled(False)

        self.seek_bar.seek_requested.connect(self._on_seek_requested)
        self.player.positionChanged.connect(self._on_position)
        self.player.durationChanged.connect(lambda _ms: self.seek_bar.set_duration(self._duration_ms()))
        self.player.durationChanged.connect(lambda _ms: self._show_time(self._position_ms()))
        self.player.playbackStateChanged.connect(lambda _s: self.refresh_icons())
        self.player.mediaStatusChanged.connect(self._on_media_status)
        self.player.errorOccurred.connect(self._on_error)
        self.player.hasAudioChanged.connect(lambda _has: self._check_sound_track())

    # --- public -------------------------------------------------------------------------------
    def play_moment(self, moment: Moment, paused: bool = False) -> None:
        """Show ``moment`` and play it from its start, or stand paused there."""
        self.moment = moment
        start_ms = int(moment.start * 1000)
        self.seek_bar.set_range(start_ms, int(moment.end * 1000))
        self.seek_bar.set_position(start_ms)
        self.title.setText(os.path.basename(moment.path))
        self.meta.setText(moment_details(moment))
        self.folder.setText(os.path.dirname(moment.path))
        self._pages.setCurrentWidget(self.details)
        same_copy = self.copy is not None and self._copy_moment == (moment.path, moment.start, moment.end)
        if not same_copy:
            self.copy, self._offset_ms, self._asked_copy = None, 0, False
            self._show_note("")
        if not os.path.isfile(moment.path):
            self.player.stop()
            self.player.setSource(QUrl())
            self._set_controls_enabled(False)
            self.error.emit(file_gone(moment.path))
            return
        self._set_controls_enabled(True)
        if moment.path in self._needs_copy and not same_copy:
            self.player.stop()
            self.player.setSource(QUrl())
            self._ask_copy()                 # this file showed no picture before: no need to wait for it again
            return
        self._load(QUrl.fromLocalFile(self.copy.path if same_copy else moment.path), start_ms, paused)

    def play_copy(self, moment: Moment, copy: PlayableCopy) -> None:
        """Play ``copy`` (made of ``moment`` by the engine) instead of the moment's file, if it is still shown."""
        if self.moment is None or (moment.path, moment.start, moment.end) != \
                (self.moment.path, self.moment.start, self.moment.end):
            return
        self.copy, self._offset_ms = copy, round(copy.start * 1000)
        self._copy_moment = (moment.path, moment.start, moment.end)
        self._show_note("Playing a copy of this moment made by ClipSeek: this player cannot show the file itself. "
                        "Open in player shows all of it.")
        self._load(QUrl.fromLocalFile(copy.path), int(moment.start * 1000), paused=False)

    def copy_failed(self, moment: Moment, message: str) -> None:
        if self.moment is not None and moment.path == self.moment.path:
            self._show_note("")
            self.cannot_play.emit(moment, f"Cannot play {moment.path}: {message}")

    def _load(self, url: QUrl, start_ms: int, paused: bool) -> None:
        if self.player.source() != url:
            self.player.setSource(url)
            self._frames_loaded = 0
            # Set after: replacing a file, setSource says at once that the old one is loaded (stopped), and a seek
            # made then is lost (paused, the new file would stay at its first frame).
            self._pending_start_ms = start_ms
        elif self._pending_start_ms is not None:
            self._pending_start_ms = start_ms     # another moment of the file still loading: its seek goes there
        self._last_position = start_ms
        # While a new file loads, a picture still coming from the file it replaced is no landing of this seek (it
        # would look like one landed late): the seek made once it is loaded is the one judged.
        self._seek_to(start_ms, to_start=self._pending_start_ms is None)
        if paused:
            self.player.pause()
        else:
            self.player.play()

    def toggle_play(self) -> None:
        if self.moment is None:
            return
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        else:
            self.player.play()

    def pause(self) -> None:
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()

    def step(self, seconds: float) -> None:
        """Jump ``seconds`` forward (or back, when negative) within the file."""
        if self.moment is None or not self.play_button.isEnabled():
            return
        duration = self._duration_ms()
        target = max(0, self._position_ms() + int(seconds * 1000))
        if duration > 0:
            target = min(target, duration - 1)
        self._on_seek_requested(target)
        self.seek_bar.set_position(target)

    def toggle_full_screen(self) -> None:
        if self.moment is not None and self.play_button.isEnabled():
            self.video.set_full_screen(not self.video.isFullScreen())

    def step_frame(self, frames: int) -> None:
        """Pause and go ``frames`` frames forward (or back, when negative): comma and period."""
        if self.moment is None or not self.play_button.isEnabled():
            return
        self.pause()
        rate = self.player.metaData().value(QMediaMetaData.Key.VideoFrameRate)
        fps = float(rate) if isinstance(rate, (int, float)) and rate > 0 else FALLBACK_FPS
        self.step(frames / fps)

    def set_speed(self, rate: float) -> None:
        """Play at ``rate`` times the normal speed (the sound follows); it lasts until changed."""
        self.player.setPlaybackRate(rate)
        self.video.speed = rate
        self._show_time(self._position_ms())

    def toggle_mute(self) -> None:
        self.sound_controls.toggle_mute()

    def sound(self) -> tuple[float, bool]:
        """The volume (0 to 1) and whether the sound is off."""
        return self.sound_controls.sound()

    def set_sound(self, volume: float, muted: bool) -> None:
        self.sound_controls.set_sound(volume, muted)

    def stop(self) -> None:
        self.video.set_full_screen(False)
        self.player.stop()
        self.player.setSource(QUrl())
        self._picture_timer.stop()
        self._frames_loaded = 0
        self.moment = self.copy = None
        self._offset_ms = 0
        self._show_note("")
        self._pages.setCurrentWidget(self.placeholder)
        self._set_controls_enabled(False)

    def refresh_icons(self) -> None:
        playing = self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
        self.play_button.setIcon(theme.icon("pause" if playing else "play", size=22))
        self.loop_button.setIcon(theme.icon("loop", size=20))
        self.sound_controls.refresh()
        self._placeholder_icon.setPixmap(theme.icon("sparkle-play", theme.current().muted, 56).pixmap(56, 56))
        for name, icon_name in (("similar", "similar"), ("export", "export"), ("open", "external"),
                                ("reveal", "folder")):
            self.action_buttons[name].setIcon(theme.icon(icon_name, size=16))

    def resizeEvent(self, event) -> None:
        # The video keeps a 16:9 frame at the top; details sit under it.
        width = event.size().width() - 32
        self._video_host.setFixedHeight(max(180, min(int(width * 9 / 16), event.size().height() - 160)))
        # Two buttons a row when they fit, else one: the panel can be narrow in a window half a screen wide.
        buttons = list(self.action_buttons.values())
        pair = 2 * max(b.sizeHint().width() for b in buttons) + self._actions.spacing()
        columns = 2 if width >= pair else 1
        self.volume_slider.setVisible(event.size().width() >= SLIDER_MIN_PANEL_WIDTH)
        self._place_seek_bar(own_row=event.size().width() < SEEK_ROW_MIN_PANEL_WIDTH)
        if columns != self._action_columns:
            self._action_columns = columns
            for button in buttons:
                self._actions.removeWidget(button)
            for number, button in enumerate(buttons):
                self._actions.addWidget(button, number // columns, number % columns)
        super().resizeEvent(event)

    def _place_seek_bar(self, own_row: bool) -> None:
        if own_row == self.seek_bar_on_own_row:
            return
        self.seek_bar_on_own_row = own_row
        self._buttons_row.removeWidget(self.seek_bar)
        if own_row:
            self._seek_row.addWidget(self.seek_bar)
            self._buttons_row.insertStretch(2, 1)        # the time after Play, sound and loop at the right
        else:
            self._seek_row.removeWidget(self.seek_bar)
            self._buttons_row.takeAt(2)                   # that stretch
            self._buttons_row.insertWidget(1, self.seek_bar, 1)

    # --- handlers -----------------------------------------------------------------------------
    def _on_position(self, ms: int) -> None:
        ms += self._offset_ms
        moment = self.moment
        if moment is not None and self.looping:
            end_ms = int(moment.end * 1000)
            # Loop only when playback crosses the end from inside, so seeking past it stays possible.
            if self._last_position < end_ms <= ms:
                self._last_position = int(moment.start * 1000)
                self._seek_to(self._last_position, to_start=True)
                return
        self._last_position = ms
        self.seek_bar.set_position(ms)
        self._show_time(ms)

    def _show_time(self, ms: int) -> None:
        speed = "" if self.video.speed == 1.0 else f"  {self.video.speed:g}×"     # so a slowed player is noticed
        self.time_label.setText(f"{clock(ms / 1000)} / {clock(self._duration_ms() / 1000)}{speed}")

    def _on_media_status(self, status: QMediaPlayer.MediaStatus) -> None:
        self._check_sound_track()
        if status == QMediaPlayer.MediaStatus.LoadedMedia and self._pending_start_ms is not None:
            self._seek_to(self._pending_start_ms, to_start=True)
            self._pending_start_ms = None
        elif status == QMediaPlayer.MediaStatus.EndOfMedia and self.moment is not None and self._frames_loaded == 0 \
                and self.copy is None:
            self._check_picture()            # it ran to its end without a single frame: it cannot show this file
        elif status == QMediaPlayer.MediaStatus.EndOfMedia and self.moment is not None and self.looping:
            self._seek_to(int(self.moment.start * 1000), to_start=True)
            if self.player.duration() >= SHORTEST_LOOP_MS:
                self.player.play()
            else:
                self.player.pause()          # shows the frame instead of a black box

    def _on_seek_requested(self, ms: int) -> None:
        self._last_position = ms
        self._seek_to(ms)

    # --- times: the file's, also while a copy of part of it plays ------------------------------
    def _seek_to(self, file_ms: int, to_start: bool = False) -> None:
        """Seek to ``file_ms`` of the file (inside the copy, while one plays); a picture is due after it.
        ``to_start``: it is the moment's start, which must not be missed (see LATE_SEEK_MS)."""
        target = file_ms
        self._start_aimed_at, self._frame_before_seek = None, self._last_frame_ms
        if self.copy is not None:
            target = min(max(file_ms - self._offset_ms, 0), max(0, self.player.duration() - 1))
        else:
            self._frames_seen = 0
            self._picture_timer.start()
            if to_start and self.moment is not None:
                self._start_aimed_at = file_ms
                target = max(0, file_ms - self._seek_leads.get(self.moment.path, 0))
        self.player.setPosition(target)

    def _position_ms(self) -> int:
        return self.player.position() + self._offset_ms

    def _duration_ms(self) -> int:
        if self.copy is not None and self.moment is not None and self.moment.duration > 0:
            return int(self.moment.duration * 1000)
        return self.player.duration() + self._offset_ms

    # --- a file this player cannot show ---------------------------------------------------------
    def _on_frame(self, frame) -> None:
        if frame.isValid():
            self._frames_seen += 1
            self._frames_loaded += 1
            self._picture_timer.stop()
            shown_ms = frame.startTime() // 1000 if frame.startTime() >= 0 else self.player.position()
            if self._start_aimed_at is not None:
                self._check_start_landing(shown_ms)
            self._last_frame_ms = shown_ms

    def _check_start_landing(self, shown_ms: int) -> None:
        """The first picture after a seek to the moment's start: where it came later than the start, the seek landed
        on the next keyframe; aim earlier, in this file from now on."""
        before = self._frame_before_seek
        if before is not None and abs(shown_ms - before) <= LATE_SEEK_MS:
            # Still from before the seek (playback went on while it was asked for), or the seek landed where the
            # picture already was: then frames go on from there, and are no landing to judge.
            if self._frames_seen >= STALE_FRAMES:
                self._start_aimed_at = None
            return
        aimed, self._start_aimed_at = self._start_aimed_at, None
        if self.moment is None or shown_ms <= aimed + LATE_SEEK_MS:
            return
        lead = self._seek_leads.get(self.moment.path, 0)
        longer = [ms for ms in SEEK_LEADS_MS if ms > lead]
        if longer:
            self._seek_leads[self.moment.path] = longer[0]
            self._seek_to(aimed, to_start=True)

    def _check_picture(self) -> None:
        """No picture since the last seek. A file that showed none at all cannot be shown; one that did, only when it
        is playing (not paused, not at its end, where a seek can rightly bring no new frame) and stays frozen."""
        if self.moment is None or self.copy is not None or self._frames_seen or self.player.source().isEmpty():
            return
        playing = self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState \
            and self.player.mediaStatus() != QMediaPlayer.MediaStatus.EndOfMedia
        if self._frames_loaded and not playing:
            return
        self._needs_copy.add(self.moment.path)
        self.player.pause()
        self._ask_copy()

    def _ask_copy(self) -> None:
        if not self._asked_copy:
            self._asked_copy = True
            self._show_note("This player cannot show this file's picture: ClipSeek is making a copy of the "
                            "moment it can show…")
            self.copy_wanted.emit(self.moment)

    def _show_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def _ask_save_frame(self, image) -> None:
        if self.moment is None or image.isNull():
            return
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
        suggested = os.path.join(folder if os.path.isdir(folder) else os.path.dirname(self.moment.path),
                                 frame_file_name(self.moment.path, self._position_ms() / 1000))
        path, _ = QFileDialog.getSaveFileName(self, "Save this frame", suggested, "Images (*.png *.jpg *.jpeg)")
        if path:
            self.save_frame(image, path)

    def save_frame(self, image, path: str) -> bool:
        """Write the frame to ``path`` (PNG or JPEG by its suffix); says why on ``error`` when it cannot."""
        if image.save(path):
            return True
        self.error.emit(f"Could not save the frame to {path}: the folder is not writable, or the name does not "
                        "end in .png or .jpg.")
        return False

    def _on_full_screen_key(self, key: int) -> None:
        if key == Qt.Key.Key_Space:
            self.toggle_play()
        elif key == Qt.Key.Key_J:
            self.step(-STEP_SECONDS)
        elif key == Qt.Key.Key_L:
            self.step(STEP_SECONDS)
        elif key == Qt.Key.Key_M:
            self.toggle_mute()
        elif key in (Qt.Key.Key_Comma, Qt.Key.Key_Period):
            self.step_frame(1 if key == Qt.Key.Key_Period else -1)

    def _check_sound_track(self) -> None:
        loaded = self.player.mediaStatus() in (QMediaPlayer.MediaStatus.LoadedMedia,
                                               QMediaPlayer.MediaStatus.BufferedMedia,
                                               QMediaPlayer.MediaStatus.EndOfMedia)
        self.sound_controls.set_silent_file(self.moment is not None and loaded and not self.player.hasAudio())

    def _on_loop_toggled(self, on: bool) -> None:
        self.looping = on

    def _on_error(self, _error, message: str) -> None:
        if message and self.moment is not None:
            self.cannot_play.emit(self.moment, f"Cannot play {self.moment.path}: {message}")
        elif message:
            self.error.emit(f"Cannot play this file: {message}")

    def _set_controls_enabled(self, enabled: bool) -> None:
        for widget in (self.play_button, self.loop_button, self.seek_bar, *self.action_buttons.values()):
            widget.setEnabled(enabled)
        self.sound_controls.set_enabled(enabled)
