"""The player and a file it cannot show: Qt's FFmpeg has no AV1 decoder of its own, so an AV1 moment (on a machine
without an AV1-decoding graphics card, as here) plays from a copy that ClipSeek makes. Real files, real players."""
from __future__ import annotations

import pytest

from desktop_app.views.player import NO_PICTURE_MS, PlayerPanel
from engine.api.playable_copies import PlayableCopies
from engine.api.types import Moment
from tests.videogen import ShotSpec, make_video

SHOTS = [ShotSpec(2.0, background=(220, 30, 30)), ShotSpec(2.0, background=(30, 60, 220))]


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("player_copies")
    return {"av1": make_video(folder / "av1.mp4", codec="av1", shots=SHOTS).path,
            "h264": make_video(folder / "h264.mp4", shots=SHOTS).path}


@pytest.fixture
def panel(qtbot, themed):
    made = PlayerPanel()
    made.resize(480, 520)
    qtbot.addWidget(made)
    made.show()
    yield made
    made.stop()


def moment_of(path, start=0.5, end=2.5) -> Moment:
    return Moment(str(path), start, end, 1.0, None, duration=4.0)


def play_a_copy(qtbot, panel, moment, cache) -> None:
    panel.play_copy(moment, PlayableCopies(cache).copy_of(moment))
    qtbot.waitUntil(lambda: panel._frames_seen > 5, timeout=10_000)


def test_a_file_whose_picture_never_comes_asks_for_a_copy_and_plays_it(qtbot, panel, videos, tmp_path):
    wanted, errors = [], []
    panel.copy_wanted.connect(wanted.append)
    panel.error.connect(errors.append)
    panel.cannot_play.connect(lambda _moment, message: errors.append(message))
    moment = moment_of(videos["av1"])
    panel.play_moment(moment)
    qtbot.waitUntil(lambda: bool(wanted), timeout=NO_PICTURE_MS + 5_000)
    assert wanted == [moment] and panel._frames_seen == 0, "Qt showed the AV1 picture itself: no copy needed here"
    assert panel.note.isVisible() and "copy" in panel.note.text()
    play_a_copy(qtbot, panel, moment, tmp_path / "cache")
    assert "Playing a copy" in panel.note.text() and errors == []
    qtbot.wait(2_500)                                       # longer than the moment: it loops inside it
    assert 500 <= panel._position_ms() <= 2_600
    panel.play_moment(moment_of(videos["av1"], 2.0, 3.5))   # another moment of that file: a copy at once
    assert len(wanted) == 2 and panel.copy is None


def test_a_copy_plays_in_the_files_own_times(qtbot, panel, videos, tmp_path):
    wanted = []
    panel.copy_wanted.connect(wanted.append)
    moment = moment_of(videos["h264"], 1.0, 3.0)
    panel.play_moment(moment)
    qtbot.waitUntil(lambda: panel._frames_seen > 5, timeout=10_000)
    qtbot.wait(NO_PICTURE_MS + 500)
    assert wanted == [] and panel.copy is None               # a file Qt shows needs no copy
    panel.pause()
    panel.step(10.0)                                         # paused at its very end: no new frame, rightly
    qtbot.wait(NO_PICTURE_MS + 500)
    assert wanted == []
    play_a_copy(qtbot, panel, moment, tmp_path / "cache")
    assert panel.copy is not None and panel.player.duration() < 2_500     # the copy is the moment alone
    assert panel.time_label.text().endswith("/ 0:04")        # the clock shows the file's length
    assert 1_000 <= panel._position_ms() <= 3_100
    panel.pause()
    panel.step(-5.0)                                         # before the copy: its first frame, not the file's 0
    qtbot.waitUntil(lambda: panel.player.position() < 200, timeout=5_000)
    assert panel._position_ms() == pytest.approx(1_000, abs=200)
    panel.play_moment(moment)                                # the same moment again: the same copy
    assert panel.copy is not None and panel.note.isVisible()
    panel.play_moment(moment_of(videos["h264"], 0.0, 1.0))   # another moment: the file itself again
    assert panel.copy is None and not panel.note.isVisible()
    qtbot.waitUntil(lambda: panel._frames_seen > 0, timeout=10_000)


def test_the_window_makes_the_copy_and_the_player_plays_it(qtbot, tmp_path, tiny_bundle, prefs, themed, videos):
    from desktop_app.views.main_window import MainWindow
    from engine.api import Library

    library = Library.open(tmp_path / "library", model=tiny_bundle)
    window = MainWindow(library, prefs=prefs)
    qtbot.addWidget(window)
    window.show()
    errors = []
    window.player.error.connect(errors.append)
    window.player.cannot_play.connect(lambda _moment, message: errors.append(message))
    window.player.play_moment(moment_of(videos["av1"]))
    qtbot.waitUntil(lambda: window.player.copy is not None and window.player._frames_seen > 5,
                    timeout=NO_PICTURE_MS + 30_000)
    assert errors == [] and (tmp_path / "data" / "cache" / "playable").is_dir()
    window.close()


def test_hover_stills_do_not_wait_for_a_copy_being_made(qtbot, tmp_path, tiny_bundle, prefs, themed, videos):
    """A copy of a long moment takes seconds: the stills of a card the pointer rests on meanwhile come at once."""
    import threading

    from desktop_app.views.main_window import MainWindow
    from engine.api import Library

    library = Library.open(tmp_path / "library", model=tiny_bundle)
    release, made_stills = threading.Event(), []
    real_copy, real_stills = library.playable_copy, library.preview_frames

    def slow_copy(moment):                  # the real copy, made as slowly as a long 4K moment's
        release.wait(60)
        return real_copy(moment)

    def seen_stills(*args, **kwargs):
        stills = real_stills(*args, **kwargs)
        made_stills.append(stills)
        return stills

    library.playable_copy, library.preview_frames = slow_copy, seen_stills
    window = MainWindow(library, prefs=prefs)
    qtbot.addWidget(window)
    window.show()
    try:
        copied = moment_of(videos["av1"])
        window.player.play_moment(copied)
        window.player.copy_wanted.emit(copied)
        window.grid.preview_wanted.emit(moment_of(videos["h264"]))
        qtbot.waitUntil(lambda: bool(made_stills), timeout=20_000)
        assert not release.is_set() and window.player.copy is None   # the copy is still being made
        assert len(made_stills[0]) > 0
    finally:
        release.set()
    qtbot.waitUntil(lambda: window.player.copy is not None, timeout=30_000)
    window.close()
