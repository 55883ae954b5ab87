"""The embedded player on a real little video: starts at the moment, loops inside it, Space pauses."""
from __future__ import annotations

import pytest
from PySide6.QtMultimedia import QMediaPlayer

from desktop_app.views.player import PlayerPanel
from engine.api.types import Moment

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    from tests.videogen import ShotSpec, make_video

    return make_video(tmp_path_factory.mktemp("player") / "clip.mp4",
                      shots=[ShotSpec(2.0), ShotSpec(2.0, shape="square")]).path


def test_plays_from_the_start_of_the_moment_and_loops_inside_it(qtbot, themed, video):
    panel = PlayerPanel()
    qtbot.addWidget(panel)
    panel.resize(480, 520)
    panel.show()
    moment = Moment(str(video), 1.0, 1.8, 0.3, None)
    panel.play_moment(moment)
    player = panel.player
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
                    and 900 <= player.position() <= 1900, timeout=10000)
    positions: list[int] = []
    player.positionChanged.connect(positions.append)
    qtbot.waitUntil(lambda: sum(b < a for a, b in zip(positions, positions[1:])) >= 2, timeout=6000)  # looped twice
    assert all(p <= 2100 for p in positions), positions                 # never ran far past the end
    assert panel._seek_leads == {}      # the pictures still coming from the end as it looped are not a late seek
    assert panel.seek_bar.range_ms == (1000, 1800)
    assert panel.title.text() == "clip.mp4"

    panel.toggle_play()
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PausedState, timeout=2000)
    panel.toggle_play()
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PlayingState, timeout=2000)
    panel.stop()
    assert panel.moment is None and not panel.play_button.isEnabled()


def test_a_moment_can_be_shown_paused_at_its_start(qtbot, themed, video, tmp_path):
    from tests.videogen import ShotSpec, make_video

    other = make_video(tmp_path / "other.mp4", shots=[ShotSpec(6.0, shape="square")]).path
    panel = PlayerPanel()
    qtbot.addWidget(panel)
    panel.show()
    player = panel.player
    panel.play_moment(Moment(str(other), 4.0, 5.5, 0.3, None))     # another file playing, further on
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
                    and player.position() >= 4000, timeout=10000)
    shown: list[int] = []
    panel.video.videoSink().videoFrameChanged.connect(lambda frame: shown.append(frame.startTime() // 1000))
    panel.play_moment(Moment(str(video), 2.2, 3.4, 0.3, None), paused=True)
    # The picture is the moment's first frame, not the file's: the file replaced another, which loses the seek
    # made as it loads.
    qtbot.waitUntil(lambda: _showing(shown, 2100, 2300, panel), timeout=10000)
    qtbot.wait(600)
    assert player.playbackState() == QMediaPlayer.PlaybackState.PausedState and player.position() <= 2300
    assert 2100 <= shown[-1] <= 2300
    assert panel.play_button.isEnabled() and panel.seek_bar.range_ms == (2200, 3400)
    assert panel.time_label.text() == "0:02 / 0:04"
    panel.toggle_play()
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
                    and player.position() > 2300, timeout=10000)


def _showing(shown: list[int], low: int, high: int, panel: PlayerPanel) -> None:
    """For waitUntil: says what was shown instead, where it times out."""
    assert shown and low <= shown[-1] <= high, \
        f"pictures shown {shown}, seek leads {panel._seek_leads}, state {panel.player.playbackState().name}, " \
        f"status {panel.player.mediaStatus().name}, position {panel.player.position()}"


class _PictureOf:
    """A picture as the video sink hands it on, at ``ms``."""

    def __init__(self, ms: int):
        self.ms = ms

    def isValid(self) -> bool:
        return True

    def startTime(self) -> int:
        return self.ms * 1000


def test_a_picture_still_coming_from_the_file_replaced_is_no_late_start_in_the_new_one(qtbot, themed, video,
                                                                                       tmp_path):
    from tests.videogen import ShotSpec, make_video

    other = make_video(tmp_path / "other.mp4", shots=[ShotSpec(6.0, shape="square")]).path
    panel = PlayerPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.play_moment(Moment(str(other), 4.0, 5.5, 0.3, None), paused=True)
    shown: list[int] = []
    panel.video.videoSink().videoFrameChanged.connect(lambda frame: shown.append(frame.startTime() // 1000))
    qtbot.waitUntil(lambda: _showing(shown, 3900, 4100, panel), timeout=10000)
    shown.clear()
    panel.play_moment(Moment(str(video), 2.2, 3.4, 0.3, None), paused=True)
    panel._on_frame(_PictureOf(4600))       # the other file's, handed on late (a busy computer drops pictures)
    qtbot.waitUntil(lambda: _showing(shown, 2100, 2300, panel), timeout=10000)
    qtbot.wait(600)
    assert panel._seek_leads == {}           # this file's seeks still aim at the moment's start, not 1 s before
    assert 2100 <= shown[-1] <= 2300 and panel.player.position() <= 2300


def test_a_second_moment_chosen_while_the_file_loads_is_the_one_shown(qtbot, themed, video):
    panel = PlayerPanel()
    qtbot.addWidget(panel)
    panel.show()
    shown: list[int] = []
    panel.video.videoSink().videoFrameChanged.connect(lambda frame: shown.append(frame.startTime() // 1000))
    panel.play_moment(Moment(str(video), 1.0, 1.8, 0.3, None), paused=True)
    panel.play_moment(Moment(str(video), 2.6, 3.4, 0.3, None), paused=True)    # before the file has loaded
    qtbot.waitUntil(lambda: _showing(shown, 2500, 2700, panel), timeout=10000)
    qtbot.wait(600)
    assert 2500 <= shown[-1] <= 2700 and panel.seek_bar.range_ms == (2600, 3400)


def test_a_moment_whose_file_is_gone_says_so_instead_of_playing(qtbot, themed, video, tmp_path):
    panel = PlayerPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.play_moment(Moment(str(video), 1.0, 1.8, 0.3, None))
    qtbot.waitUntil(lambda: panel.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState, timeout=10000)
    gone = tmp_path / "deleted since indexing.mp4"
    with qtbot.waitSignal(panel.error) as signal:
        panel.play_moment(Moment(str(gone), 3.0, 5.0, 0.2, None))
    assert signal.args[0].startswith(f"{gone} is no longer there: it was moved or deleted")
    assert panel.player.playbackState() == QMediaPlayer.PlaybackState.StoppedState
    assert panel.player.source().isEmpty() and not panel.play_button.isEnabled()
    assert panel.title.text() == "deleted since indexing.mp4"       # the details still say which moment it was
    panel.play_moment(Moment(str(video), 1.0, 1.8, 0.3, None))     # and the next one plays
    qtbot.waitUntil(lambda: panel.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState, timeout=10000)
    assert panel.play_button.isEnabled()


def test_a_one_frame_video_is_shown_paused_not_restarted_endlessly(qtbot, themed, tmp_path):
    from tests.videogen import make_one_frame_video

    still = make_one_frame_video(tmp_path / "still.mp4").path
    panel = PlayerPanel()
    qtbot.addWidget(panel)
    panel.show()
    ends: list[QMediaPlayer.MediaStatus] = []
    panel.player.mediaStatusChanged.connect(
        lambda status: ends.append(status) if status == QMediaPlayer.MediaStatus.EndOfMedia else None)
    panel.play_moment(Moment(str(still), 0.0, 0.04, 0.3, None))
    qtbot.waitUntil(lambda: panel.player.playbackState() == QMediaPlayer.PlaybackState.PausedState, timeout=10000)
    qtbot.wait(500)
    assert len(ends) == 1 and panel.player.playbackState() == QMediaPlayer.PlaybackState.PausedState
    panel.toggle_play()                                   # Play shows it once more and stops on it again
    qtbot.waitUntil(lambda: len(ends) == 2, timeout=10000)
    qtbot.waitUntil(lambda: panel.player.playbackState() == QMediaPlayer.PlaybackState.PausedState, timeout=2000)


def test_sound_mutes_changes_with_the_wheel_and_says_when_a_file_has_none(qtbot, themed, video, tmp_path):
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    from tests.videogen import add_sine_audio

    with_sound = add_sine_audio(video, tmp_path / "with sound.mp4")
    panel = PlayerPanel()
    qtbot.addWidget(panel)
    panel.resize(480, 520)
    panel.show()
    panel.play_moment(Moment(str(with_sound), 0.0, 1.0, 0.3, None))
    qtbot.waitUntil(lambda: panel.player.hasAudio(), timeout=10000)
    assert panel.sound_button.toolTip().startswith("Mute (M)")
    assert panel.volume_slider.isVisible()

    panel.toggle_mute()
    assert panel.audio.isMuted() and panel.sound() == (0.6, True)
    assert panel.sound_button.accessibleName() == "Unmute"

    def wheel(notches: int) -> None:
        centre = QPointF(panel.sound_button.rect().center())
        event = QWheelEvent(centre, QPointF(panel.sound_button.mapToGlobal(centre.toPoint())), QPoint(),
                            QPoint(0, 120 * notches), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                            Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(panel.sound_button, event)

    wheel(-2)                                            # down: quieter, and still muted
    assert panel.sound() == (0.5, True)
    wheel(1)                                             # up: louder, and heard again
    assert panel.sound() == (0.55, False) and not panel.audio.isMuted()
    assert abs(panel.audio.volume() - 0.55) < 1e-6
    panel.set_sound(7.0, False)                          # out of range is clamped
    assert panel.sound() == (1.0, False)

    panel.play_moment(Moment(str(video), 1.0, 1.8, 0.3, None))   # the same clip without a sound track
    qtbot.waitUntil(lambda: panel.sound_button.toolTip() == "This file has no sound", timeout=10000)

    assert panel.volume_slider.isVisible() and not panel.seek_bar_on_own_row
    panel.resize(300, 520)      # narrow: the button alone (its wheel sets the volume), the seek bar on a row of its own
    qtbot.waitUntil(lambda: not panel.volume_slider.isVisible() and panel.seek_bar_on_own_row, timeout=2000)
    qtbot.waitUntil(lambda: panel.seek_bar.width() > panel.width() // 2, timeout=2000)
    assert panel.sound_button.isVisible() and panel.seek_bar.y() < panel.play_button.y()
    panel.resize(480, 520)
    qtbot.waitUntil(lambda: panel.volume_slider.isVisible() and not panel.seek_bar_on_own_row, timeout=2000)
    qtbot.waitUntil(lambda: panel.play_button.x() < panel.seek_bar.x() < panel.time_label.x()
                    < panel.sound_button.x() < panel.volume_slider.x() < panel.loop_button.x(), timeout=2000)
    assert panel.seek_bar.y() <= panel.play_button.y() + panel.play_button.height()


def test_steps_back_and_forward_within_the_file(qtbot, themed, video):
    panel = PlayerPanel()
    qtbot.addWidget(panel)
    panel.show()
    player = panel.player
    panel.step(5)                                        # nothing loaded: nothing happens
    panel.play_moment(Moment(str(video), 1.0, 1.8, 0.3, None))
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
                    and player.duration() > 0, timeout=10000)
    panel.toggle_play()
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PausedState, timeout=2000)
    panel.step(-5)
    qtbot.waitUntil(lambda: player.position() == 0, timeout=2000)
    assert panel.seek_bar.position_ms == 0
    panel.step(5)                                        # past the end of a 4-s file: its last moment
    qtbot.waitUntil(lambda: player.position() == player.duration() - 1, timeout=2000)

    panel.step(-10)
    qtbot.waitUntil(lambda: player.position() == 0, timeout=2000)
    panel.step(1)
    qtbot.waitUntil(lambda: player.position() == 1000, timeout=2000)
    panel.step_frame(1)                                  # one frame: 40 ms at 25 frames a second
    qtbot.waitUntil(lambda: player.position() == 1040, timeout=2000)
    panel.step_frame(-2)
    qtbot.waitUntil(lambda: player.position() == 960, timeout=2000)
    panel.toggle_play()
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PlayingState, timeout=2000)
    panel.step_frame(1)                                  # a frame step pauses first
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PausedState, timeout=2000)


def test_the_picture_plays_and_pauses_on_a_click_and_fills_the_screen_on_a_double_click(qtbot, themed, video):
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    panel = PlayerPanel()
    qtbot.addWidget(panel)
    panel.resize(480, 520)
    panel.show()
    player = panel.player
    panel.toggle_full_screen()                           # nothing to show yet: nothing happens
    assert not panel.video.isFullScreen()
    panel.play_moment(Moment(str(video), 1.0, 1.8, 0.3, None))
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PlayingState, timeout=10000)
    qtbot.mouseClick(panel.video, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PausedState, timeout=2000)

    def double_click() -> None:      # what a mouse sends: press, release, double-click, release
        centre = QPointF(panel.video.rect().center())
        qtbot.mouseClick(panel.video, Qt.MouseButton.LeftButton)
        for kind in (QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseButtonRelease):
            QApplication.sendEvent(panel.video, QMouseEvent(kind, centre, panel.video.mapToGlobal(centre),
                                                            Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton
                                                            if kind == QEvent.Type.MouseButtonDblClick
                                                            else Qt.MouseButton.NoButton,
                                                            Qt.KeyboardModifier.NoModifier))

    with qtbot.waitSignal(panel.video.full_screen_changed) as changed:
        double_click()
    assert changed.args == [True] and panel.video.isFullScreen()
    qtbot.wait(100)
    assert player.playbackState() == QMediaPlayer.PlaybackState.PausedState   # the double-click did not toggle it
    qtbot.keyClick(panel.video, Qt.Key.Key_Space)        # the keys still work in a window of its own
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PlayingState, timeout=2000)
    qtbot.keyClick(panel.video, Qt.Key.Key_M)
    assert panel.audio.isMuted()
    with qtbot.waitSignal(panel.video.full_screen_changed) as changed:
        qtbot.keyClick(panel.video, Qt.Key.Key_Escape)
    assert changed.args == [False] and not panel.video.isFullScreen()
    assert panel.video.parentWidget() is not None and panel.video.isVisible()    # back in the panel

    panel.toggle_full_screen()
    assert panel.video.isFullScreen()
    panel.stop()                                         # a new library or a closed window leaves full screen
    assert not panel.video.isFullScreen()


def test_the_frame_shown_can_be_copied_or_saved_from_the_picture_s_menu(qtbot, themed, video, tmp_path):
    from PySide6.QtGui import QGuiApplication, QImage

    panel = PlayerPanel()
    qtbot.addWidget(panel)
    panel.resize(480, 520)
    panel.show()
    labels = {a.text(): a for a in panel.video.menu().actions() if not a.isSeparator()}
    assert not labels["Copy this frame"].isEnabled() and not panel.video.copy_frame()    # nothing shown yet
    panel.play_moment(Moment(str(video), 1.0, 1.8, 0.3, None))
    qtbot.waitUntil(lambda: not panel.video.frame().isNull(), timeout=10000)
    menu = {a.text(): a for a in panel.video.menu().actions() if not a.isSeparator()}
    assert list(menu) == ["Copy this frame", "Save this frame as…", "Speed", "Full screen (F)"]
    assert menu["Copy this frame"].isEnabled()

    QGuiApplication.clipboard().clear()
    menu["Copy this frame"].trigger()
    copied = QGuiApplication.clipboard().image()
    assert (copied.width(), copied.height()) == (320, 240)

    saved = tmp_path / "frame.png"
    assert panel.save_frame(panel.video.frame(), str(saved))
    assert QImage(str(saved)).size() == copied.size()
    with qtbot.waitSignal(panel.error) as failed:
        assert not panel.save_frame(panel.video.frame(), str(tmp_path / "no such folder" / "frame.png"))
    assert failed.args[0].startswith("Could not save the frame to ")


def test_the_picture_s_menu_sets_the_speed(qtbot, themed, video, tmp_path):
    panel = PlayerPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.play_moment(Moment(str(video), 1.0, 1.8, 0.3, None))
    speed_menu = next(a.menu() for a in panel.video.menu().actions() if a.text() == "Speed")
    rates = {a.text(): a for a in speed_menu.actions()}
    assert list(rates) == ["0.25×", "0.5×", "1×", "1.5×", "2×"] and rates["1×"].isChecked()
    rates["0.5×"].trigger()
    assert panel.player.playbackRate() == 0.5
    assert panel.time_label.text().endswith(" 0.5×")
    again = next(a.menu() for a in panel.video.menu().actions() if a.text() == "Speed")
    assert [a.text() for a in again.actions() if a.isChecked()] == ["0.5×"]
    from tests.videogen import make_video

    other = make_video(tmp_path / "other.mp4").path
    panel.play_moment(Moment(str(other), 0.5, 1.5, 0.3, None))    # it lasts from one file to the next
    qtbot.waitUntil(lambda: panel.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
                    and panel.player.position() > 0, timeout=10000)
    assert panel.player.playbackRate() == 0.5 and panel.time_label.text().endswith(" 0.5×")


def test_frames_going_on_from_where_a_seek_found_the_picture_are_no_late_landing(qtbot, themed, video):
    """A seek that lands on the picture already shown (a moment shown paused again at its start) brings no landing
    frame: the frames that follow once it plays must not be judged as one, nor make its file's seeks aim earlier."""
    from PySide6.QtCore import QSize
    from PySide6.QtMultimedia import QVideoFrame, QVideoFrameFormat

    def picture_at(ms: int) -> QVideoFrame:
        frame = QVideoFrame(QVideoFrameFormat(QSize(16, 16), QVideoFrameFormat.PixelFormat.Format_RGBA8888))
        frame.setStartTime(ms * 1000)
        return frame

    panel = PlayerPanel()
    qtbot.addWidget(panel)
    moment = Moment(str(video), 1.0, 3.5, 0.3, None)
    panel.play_moment(moment, paused=True)
    panel.player.stop()                                      # only the pictures given here count
    panel._on_frame(picture_at(1000))                        # shown paused at the start
    panel._seek_to(1000, to_start=True)                      # again: Qt finds the picture where it is
    for ms in (1000, 1040, 1080, 1120, 1160, 1200, 1240):    # then it plays on from there
        panel._on_frame(picture_at(ms))
    assert panel._seek_leads == {}
    panel._on_frame(picture_at(2960))
    panel._seek_to(1000, to_start=True)
    panel._on_frame(picture_at(1440))                        # the next keyframe: a late landing, as in MPEG-TS
    assert panel._seek_leads == {str(video): 1000}
    panel.stop()


@pytest.mark.parametrize("container, lead_ms", [("mts", 1000), ("mp4", 0)])
def test_a_moment_never_starts_late_where_seeks_land_on_the_next_keyframe(qtbot, themed, tmp_path, container,
                                                                         lead_ms):
    """Qt seeks MPEG-TS files (AVCHD camcorders) to the keyframe after the time asked: here 2.4 s for 2.2 s, with a
    keyframe every 0.48 s. The moment must start with a lead-in then, never late; an MP4 seeks where it is asked."""
    from tests.videogen import ShotSpec, make_video

    video = make_video(tmp_path / f"camcorder.{container}", shots=[ShotSpec(3.0), ShotSpec(3.0, shape="square")],
                       keyint=12, encoder_args=["-f", "mpegts"] if container == "mts" else []).path
    panel = PlayerPanel()
    qtbot.addWidget(panel)
    panel.resize(480, 520)
    panel.show()
    shown: list[int] = []
    panel.video.videoSink().videoFrameChanged.connect(
        lambda frame: frame.isValid() and shown.append(frame.startTime() // 1000))
    for _ in range(2):                     # the second time, in a file already known, at once
        shown.clear()
        panel.play_moment(Moment(str(video), 2.2, 4.4, 0.3, None))
        qtbot.waitUntil(lambda: len(shown) >= 5 and 2300 <= shown[-1] <= 4400, timeout=10_000)
        assert panel._seek_leads.get(str(video), 0) == lead_ms
        # frames go on from where the last seek landed: a lead-in at most before the moment's start, never after
        landed = [t for previous, t in zip([-1] + shown, shown) if t < previous or previous == -1][-1]
        assert 2200 - lead_ms - 40 <= landed <= 2200, shown
    panel.stop()


def test_the_media_backend_does_not_describe_each_file_it_opens_on_stderr(qtbot, video, capfd):
    from PySide6.QtCore import QLoggingCategory, QUrl
    from PySide6.QtMultimedia import QVideoSink

    from desktop_app.views.player import quiet_media_backend

    def open_and_read_stderr() -> str:
        player = QMediaPlayer()
        player.setVideoSink(QVideoSink(player))
        with qtbot.waitSignal(player.mediaStatusChanged, timeout=10_000,
                              check_params_cb=lambda status: status == QMediaPlayer.MediaStatus.LoadedMedia):
            player.setSource(QUrl.fromLocalFile(str(video)))
        player.setSource(QUrl())
        return capfd.readouterr().err

    capfd.readouterr()
    assert "Input #0" in open_and_read_stderr()          # Qt's way, unless told otherwise
    quiet_media_backend()
    try:
        assert "Input #0" not in open_and_read_stderr()
    finally:
        QLoggingCategory.setFilterRules("")
