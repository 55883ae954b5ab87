"""The real window over a real Library: add a folder, index it, search, play a result.

The event loop must keep turning the whole time: a 20 ms QTimer heartbeat records the
longest gap between its ticks, and any gap over one second fails the test.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QToolButton, QWidget

from desktop_app.models.results_model import moment_key
from desktop_app.views.main_window import MainWindow
from engine.api.types import Moment

pytestmark = [pytest.mark.gui, pytest.mark.slow]


class Heartbeat:
    """Ticks every 20 ms on the GUI thread and remembers the longest gap between ticks."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last)
        self._last = now

    def stop(self) -> float:
        self.timer.stop()
        return self.longest


@pytest.fixture(scope="module")
def video_folder(tmp_path_factory):
    from tests.videogen import ShotSpec, make_video, write_random_bytes

    folder = tmp_path_factory.mktemp("videos")
    make_video(folder / "red_circle.mp4", shots=[ShotSpec(3.0, background=(200, 40, 40)),
                                                 ShotSpec(3.0, background=(40, 70, 200), shape="square")])
    make_video(folder / "green_pan.mp4", shots=[ShotSpec(4.0, background=(40, 160, 60), pattern="pan")], seed=1)
    make_video(folder / "yellow.mp4", shots=[ShotSpec(3.0, background=(220, 200, 40), shape="none")], seed=2)
    write_random_bytes(folder / "broken.mp4")
    return folder


@pytest.fixture
def window(qtbot, tmp_path, tiny_bundle, prefs, themed):
    from engine.api import Library

    library = Library.open(tmp_path / "library", model=tiny_bundle)
    win = MainWindow(library, prefs=prefs)
    win.confirm = lambda _title, _text: True
    qtbot.addWidget(win)
    win.resize(1280, 800)
    # The first refresh starts as the window is made and may arrive while it is being exposed: wait armed before
    # the event loop runs, so that it cannot come and go unseen.
    with qtbot.waitSignal(win.library_refreshed, timeout=30_000):
        win.show()
        qtbot.waitExposed(win)
    yield win
    if win.library is not None:
        win.close()


def test_add_folder_index_search_and_play(qtbot, window, video_folder, tmp_path):
    assert window.pages.currentWidget() is window.welcome          # an empty library starts on the welcome page

    heartbeat = Heartbeat()
    heartbeat.start()
    titles: list[str] = []
    window.windowTitleChanged.connect(titles.append)
    with qtbot.waitSignal(window.indexing_finished, timeout=150_000) as finished:
        window.add_folder(video_folder)
        qtbot.waitUntil(lambda: window.indexing, timeout=10_000)
    assert finished.args[0].state == "done"
    library_title = f"ClipSeek — {window.library.path}"
    assert any(t.endswith(f" % indexed — {library_title}") for t in titles)      # the taskbar shows progress
    assert window.windowTitle() == library_title
    assert heartbeat.longest < 1.0, f"the GUI thread stalled for {heartbeat.longest:.2f} s while indexing"

    qtbot.waitUntil(lambda: window.folders_model.rowCount() == 1
                    and window.folders_model.folder(0).indexed == 3, timeout=10_000)
    folder = window.folders_model.folder(0)
    assert folder.failed + folder.skipped == 1
    assert window.pages.currentWidget() is window.main_splitter
    assert window.problems_model.rowCount() == 1
    assert window.problems_model.problem(0).path.endswith("broken.mp4") and window.problems_model.problem(0).reason
    window.sidebar.problems_button.click()
    assert window.content.currentWidget() is window.problems_view
    window.sidebar.problems_button.click()

    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.search_field.hasFocus()
    with qtbot.waitSignal(window.results_shown, timeout=30_000) as shown:
        qtbot.keyClicks(window.search_field, "a red circle")
        qtbot.keyClick(window.search_field, Qt.Key.Key_Return)
    count = shown.args[0]
    assert count > 0 and window.results_model.rowCount() == count
    assert window.recent.items()[0] == "a red circle"
    assert heartbeat.stop() < 1.0, f"the GUI thread stalled for {heartbeat.longest:.2f} s while searching"
    print(f"longest GUI-thread stall while indexing and searching: {heartbeat.longest * 1000:.0f} ms")

    window.grid.setFocus()
    window.grid.setCurrentIndex(window.results_model.index(0))
    moment = window.results_model.moment(0)
    player = window.player.player
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
                    and moment.start - 0.05 <= player.position() / 1000 <= moment.end + 0.3, timeout=10_000)
    qtbot.keyClick(window.grid, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PausedState, timeout=3000)
    assert moment.start - 0.05 <= player.position() / 1000 <= moment.end + 0.3
    paused_at = player.position()
    qtbot.keyClick(window.grid, Qt.Key.Key_J)            # J jumps back, L forward, M mutes: from the results
    qtbot.waitUntil(lambda: player.position() == max(0, paused_at - 5000), timeout=3000)
    qtbot.keyClick(window.grid, Qt.Key.Key_L)
    qtbot.waitUntil(lambda: player.position() == min(max(0, paused_at - 5000) + 5000, player.duration() - 1),
                    timeout=3000)
    qtbot.keyClick(window.grid, Qt.Key.Key_M)
    assert window.player.audio.isMuted() and window.player.sound()[1]
    qtbot.keyClick(window.grid, Qt.Key.Key_M)
    assert not window.player.audio.isMuted()
    unnamed = [type(w).__name__ for w in window.findChildren(QWidget) if w.isVisible()
               and (w.focusPolicy() != Qt.FocusPolicy.NoFocus or isinstance(w, QAbstractButton))
               and not w.accessibleName() and not (isinstance(w, (QAbstractButton, QLabel)) and w.text())]
    assert unnamed == [], "a screen reader has no name to say for these controls"
    qtbot.keyClick(window.grid, Qt.Key.Key_F)            # F fills the screen with the picture, Esc leaves
    assert window.player.video.isFullScreen()
    qtbot.keyClick(window.player.video, Qt.Key.Key_Escape)
    assert not window.player.video.isFullScreen()

    # Results and a playing moment fit in half of a 1920-pixel screen: the score cut-off takes a row of its own
    # and the player's buttons stack, each as wide as its label needs.
    narrowest = window.minimumSizeHint().width()
    assert narrowest <= 980
    window.resize(narrowest, 800)
    buttons = list(window.player.action_buttons.values())
    qtbot.waitUntil(lambda: window.filter_bar.cutoff_below and len({b.y() for b in buttons}) == 4, timeout=3000)
    assert all(b.width() >= b.sizeHint().width() for b in buttons)
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: not window.filter_bar.cutoff_below and len({b.y() for b in buttons}) == 2, timeout=3000)

    with qtbot.waitSignal(window.results_shown, timeout=30_000):      # a filter re-runs the search
        window.filter_bar.sort.setCurrentIndex(1)
    every = window.results_model.moments()
    assert len({m.path for m in every}) < len(every)                   # some video has several moments
    with qtbot.waitSignal(window.results_shown, timeout=30_000) as per_video:
        window.filter_bar.per_video.setCurrentText("One per video")
    videos = window.results_model.moments()
    assert per_video.args[0] == len(videos) == len({m.path for m in videos}) == len({m.path for m in every})
    assert window.filter_bar.summary.text().startswith(f"{len(videos)} videos for “")
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.filter_bar.per_video.setCurrentText("Every moment")
    assert len(window.results_model.moments()) == len(every)
    library_folder = window.folders_model.folder(0).path
    with qtbot.waitSignal(window.results_shown, timeout=30_000) as in_folder:
        window.filter_bar.folder.set_chosen([library_folder])
    assert in_folder.args[0] > 0 and window.filter_bar.options().folders == (library_folder,)
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.filter_bar.folder.set_chosen([])
    with qtbot.waitSignal(window.results_shown, timeout=30_000) as only_there:   # from the folder's menu
        window.sidebar.search_in_requested.emit(library_folder)
    assert only_there.args[0] > 0 and window.filter_bar.options().folders == (library_folder,)
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.filter_bar.folder.set_chosen([])
    scores = [m.score for m in window.results_model.moments()]
    low, high = window.filter_bar.score_span()          # the cut-off slider runs over the scores shown
    assert low <= min(scores) and max(scores) <= high
    assert window.grid.score_share(low) == 0.0 and window.grid.score_share(high) == 1.0   # and so do score bars
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.filter_bar.cutoff.setValue(100)          # its far end keeps only the best
    assert [m.score for m in window.results_model.moments()] == [max(scores)]
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.filter_bar.cutoff.setValue(0)
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.find_similar(moment)
    assert "moments like" in window.filter_bar.summary.text()
    several = window.results_model.moments()[:2]
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.moment_actions.similar_many.emit(several)          # "Find moments like these" on a selection
    assert window.filter_bar.summary.text().endswith(" like these 2")
    assert not {(m.path, m.start) for m in window.results_model.moments()} & {(m.path, m.start) for m in several}
    assert moment.thumbnail and Path(moment.thumbnail).is_file()
    with qtbot.waitSignal(window.results_shown, timeout=30_000) as by_image:
        window.search_image(Path(moment.thumbnail))
    assert by_image.args[0] > 0 and "the image" in window.filter_bar.summary.text()
    green_pan = Path(window.folders_model.folder(0).path) / "green_pan.mp4"
    window.choose_query_file = lambda: str(green_pan)     # the image button in the search field, then a file
    button = next(b for b in window.search_field.findChildren(QToolButton)
                  if b.accessibleName() == "Search with an image or a video…")
    with qtbot.waitSignal(window.results_shown, timeout=30_000) as by_video:
        button.defaultAction().trigger()
    best = max(window.results_model.moments(), key=lambda m: m.score)      # sorted newest first here
    assert by_video.args[0] > 0 and best.path.endswith("green_pan.mp4")
    assert window.filter_bar.summary.text().startswith(f"{by_video.args[0]} moments for the video green_pan.mp4")

    exported = tmp_path / "moment.mp4"
    window.export_moment(moment, exported)
    qtbot.waitUntil(lambda: "Exported to" in window.banner.text.text(), timeout=30_000)
    assert exported.is_file() and exported.stat().st_size > 0
    assert window.banner.action_button.text() == "Show in folder"
    chosen = window.results_model.moments()[:2]
    gone = Moment(str(tmp_path / "gone.mp4"), 0.0, 1.0, 0.1, None)
    into = tmp_path / "several"
    into.mkdir()
    window.export_moments([*chosen, gone], into)       # one failure is named; the others are still exported
    qtbot.waitUntil(lambda: "Exported 2 of 3 moments" in window.banner.text.text(), timeout=30_000)
    assert "1 failed: gone.mp4 0:00 – 0:01: " in window.banner.text.text() and window.banner.kind == "error"
    assert window.banner.action_button.text() == "Open folder"          # to see the two that were
    assert len(list(into.iterdir())) == 2 and all(p.stat().st_size > 0 for p in into.iterdir())

    window.grid.setFocus()                               # Ctrl+C copies the selected moments' paths and times
    window.grid.clearSelection()
    QApplication.clipboard().setText("kept")
    qtbot.keyClick(window.grid, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == "kept"     # nothing selected: the clipboard is left alone
    window.grid.selectAll()
    qtbot.keyClick(window.grid, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    copied = QApplication.clipboard().text().splitlines()
    assert len(copied) == window.results_model.rowCount() and copied[0].startswith(window.results_model.moment(0).path)

    with qtbot.waitSignal(window.indexing_finished, timeout=60_000):     # retry the broken file: fails again
        window.problems_view.retry_all.click()
    qtbot.waitUntil(lambda: window.problems_model.rowCount() == 1, timeout=10_000)

    window.problems_view.table.selectRow(0)                # it keeps failing: leave it out of the library
    (leave,) = [a for a in window.problems_view.context_menu().actions() if a.text() == "Leave out of the library"]
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000):
        leave.trigger()
    qtbot.waitUntil(lambda: window.problems_model.rowCount() == 0 and window.folders_model.folder(0).failed
                    + window.folders_model.folder(0).skipped == 0, timeout=10_000)
    assert window.folders_model.folder(0).indexed == 3
    assert window.banner.text.text() == ("Left out of the library: broken.mp4. Settings › Indexing › Leave out "
                                         "lists it.")
    assert window.library.settings.exclude[-1].startswith("/") and window.library.settings.exclude[-1].endswith(
        "broken.mp4")
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000):
        window.banner.action_button.click()                                 # "Undo": it is back, and fails again
    qtbot.waitUntil(lambda: window.problems_model.rowCount() == 1, timeout=10_000)
    assert not any(p.endswith("broken.mp4") for p in window.library.settings.exclude)


def test_a_bad_query_is_one_sentence_in_the_window(qtbot, window, tmp_path):
    window.search("word " * 500)
    qtbot.waitUntil(lambda: window.banner.kind == "error" and bool(window.banner.text.text()), timeout=30_000)
    assert window.banner.text.text() == "The query is 2500 characters long; keep it under 2000"
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not a picture")
    window.banner.show_message("")
    window.search_image(not_an_image)
    qtbot.waitUntil(lambda: "is not an image" in window.banner.text.text(), timeout=30_000)
    assert window.banner.kind == "error" and "Traceback" not in window.banner.text.text()
    assert window.filter_bar.summary.text() == ""
    not_a_video = tmp_path / "notes.mp4"
    not_a_video.write_text("not a video")
    window.banner.show_message("")
    window.search_video(not_a_video)
    qtbot.waitUntil(lambda: "cannot be used as the query" in window.banner.text.text(), timeout=30_000)
    assert window.banner.kind == "error" and window.filter_bar.summary.text() == ""
    window.choose_query_file = lambda: str(tmp_path / "notes.txt")    # picked with "All files" in the dialog
    window._ask_query_file()
    assert window.banner.text.text() == "notes.txt is neither an image nor a video ClipSeek can search with."


def test_a_damaged_catalog_found_while_the_window_is_open_is_cured_with_the_kept_copy(qtbot, tmp_path, tiny_bundle,
                                                                                      prefs, themed, video_folder):
    import sqlite3

    from desktop_app.__main__ import restore_and_open_again
    from engine.api import Library

    with Library.open(tmp_path / "library", model=tiny_bundle) as library:
        library.add_folder(video_folder)
        assert library.index().indexed == 3                 # and a copy of the catalog is kept
    db = tmp_path / "library" / "catalog.sqlite"
    conn = sqlite3.connect(db)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'files'").fetchone()[0]
    conn.close()
    with open(db, "r+b") as fh:                              # the files' table: the library opens, reading fails
        fh.seek((root - 1) * page_size)
        fh.write(b"\xff" * 64)

    win = MainWindow(Library.open(tmp_path / "library", model=tiny_bundle), prefs=prefs)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.search("a red circle")
    qtbot.waitUntil(lambda: win.banner.action_button.text() == "Put the copy back", timeout=30_000)
    assert win.banner.kind == "error"
    assert win.banner.text.text().startswith("The library's catalog is damaged. ClipSeek kept a copy of it "
                                             "(catalog.sqlite.copy.bak, of ")
    win.search("x" * 2500)                                  # an error of its own is said as it is
    qtbot.waitUntil(lambda: win.banner.text.text().startswith("The query is 2500 characters long"), timeout=30_000)
    assert not win.banner.action_button.isVisible()
    win.search("a red circle")
    qtbot.waitUntil(lambda: win.banner.action_button.text() == "Put the copy back"
                    and win.banner.action_button.isVisible(), timeout=30_000)
    win.banner.action_button.click()
    qtbot.waitUntil(lambda: not win.isVisible(), timeout=30_000)
    assert win.restore_catalog_of == (tmp_path / "library").resolve() and win.library is None

    said, library = restore_and_open_again(win.restore_catalog_of, str(tiny_bundle))   # as __main__ goes on
    try:
        assert said.startswith("put back catalog.sqlite.copy.bak, of ") and "the damaged catalog is kept as" in said
        assert library.status().files.get("indexed") == 3
        assert library.search("a red circle", k=3)
    finally:
        library.close()


def test_the_window_opens_the_model_before_the_first_search(qtbot, window):
    # Loading it holds the GIL for a moment; that must happen as the window opens, not mid-search.
    qtbot.waitUntil(lambda: window.library._model is not None and window.library._vectors is not None,
                    timeout=30_000)


def test_the_window_reopens_as_it_was_closed(qtbot, window, prefs, tmp_path, tiny_bundle):
    from engine.api import Library

    window.resize(window.minimumSizeHint().width(), 700)    # wider than the offscreen screen, so no wider
    window.results_splitter.setSizes([500, 500])
    window.main_splitter.setSizes([330, 770])
    window.filter_bar.sort.setCurrentIndex(1)
    window.filter_bar.per_video.setCurrentText("One per video")
    window.filter_bar.duration.setCurrentText("Under 1 min")
    window.grid.zoom(2)                                      # bigger thumbnails
    window.player.set_sound(0.25, True)
    sizes = (window.results_splitter.sizes(), window.main_splitter.sizes())
    window.close()
    prefs.sync()

    again = MainWindow(Library.open(tmp_path / "library", model=tiny_bundle), prefs=prefs)
    again.confirm = lambda _title, _text: True
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    assert again.size() == window.size() and again.height() == 700
    assert (again.results_splitter.sizes(), again.main_splitter.sizes()) == sizes
    options = again.filter_bar.options()
    assert (options.sort, options.duration_preset, options.date_preset) == ("date", "Under 1 min", "Any date")
    assert options.per_video and again.filter_bar.per_video.currentText() == "One per video"
    assert again.grid.min_card_width == window.grid.min_card_width > 200
    assert again.player.sound() == (0.25, True) and again.player.audio.isMuted()
    assert abs(again.player.audio.volume() - 0.25) < 1e-6
    again.close()


def test_a_folder_dropped_on_the_window_is_added_and_a_video_searched_with(qtbot, window, tmp_path, video_folder):
    import shutil

    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    def drop(path):
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        window.dropEvent(QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                    Qt.KeyboardModifier.NoModifier))

    drop(video_folder / "yellow.mp4")                         # nothing to search yet
    assert window.banner.text.text().startswith("Add a folder of videos first")
    folder = tmp_path / "dropped"
    folder.mkdir()
    shutil.copy(video_folder / "yellow.mp4", folder / "yellow.mp4")
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000):
        drop(folder)
    qtbot.waitUntil(lambda: [f.path for f in window.folders_model.folders()] == [str(folder.resolve())],
                    timeout=10_000)
    assert window.pages.currentWidget() is window.main_splitter
    with qtbot.waitSignal(window.results_shown, timeout=30_000) as found:
        drop(video_folder / "yellow.mp4")                     # a video file, from outside the library
    assert found.args[0] > 0 and window.filter_bar.summary.text().endswith("for the video yellow.mp4")


def test_closing_while_indexing_asks_stops_and_the_next_start_resumes(qtbot, tmp_path, tiny_bundle, prefs, themed,
                                                                      video_folder):
    from engine.api import Library

    library = Library.open(tmp_path / "library", model=tiny_bundle)
    window = MainWindow(library, prefs=prefs)
    qtbot.addWidget(window)
    asked = []
    window.confirm = lambda title, _text: asked.append(title) or False
    with qtbot.waitSignal(window.library_refreshed, timeout=30_000):   # armed before the event loop runs
        window.show()
    window.add_folder(video_folder)
    qtbot.waitUntil(lambda: window.indexing, timeout=10_000)
    window.close()
    assert asked == ["Stop indexing?"] and window.isVisible() and window.indexing     # "No" keeps it open

    window.confirm = lambda _title, _text: True
    window.close()
    assert not window.indexing and window.library is None                            # stopped, closed cleanly

    reopened = Library.open(tmp_path / "library", model=tiny_bundle)
    second = MainWindow(reopened, prefs=prefs)
    second.confirm = lambda _title, _text: True
    qtbot.addWidget(second)
    with qtbot.waitSignal(second.indexing_finished, timeout=150_000) as finished:
        second.show()                      # an existing library with folders resumes indexing on open
    assert finished.args[0].state == "done"
    qtbot.waitUntil(lambda: second.folders_model.rowCount() == 1
                    and second.folders_model.folder(0).indexed == 3, timeout=10_000)
    second.close()


def test_open_the_demo_library_from_the_welcome_page(qtbot, window, tmp_path, tiny_bundle):
    from engine.api import Library
    from tests.videogen import ShotSpec, make_video

    stages = []

    def create_demo(on_stage):
        # Stands in for engine.api.demo's generator: two real videos, a real library with the folder added.
        on_stage("making the demo videos")
        folder = tmp_path / "demo" / "videos"
        folder.mkdir(parents=True)
        for i in range(2):
            make_video(folder / f"demo_{i}.mp4", shots=[ShotSpec(2.0)], seed=i)
        demo = Library.open(tmp_path / "demo", model=tiny_bundle)
        demo.add_folder(folder)
        return demo

    window._create_demo = create_demo
    set_busy = window.welcome.set_busy
    window.welcome.set_busy = lambda text: (stages.append(text), set_busy(text))
    first = window.library
    with qtbot.waitSignal(window.indexing_finished, timeout=120_000):
        window.welcome.demo_button.click()
    assert stages[:2] == ["Making the demo videos…", "Making the demo videos…"] and stages[-1] is None
    assert window.library is not first and window.library.path == (tmp_path / "demo").resolve()
    qtbot.waitUntil(lambda: window.folders_model.rowCount() == 1 and window.folders_model.folder(0).indexed == 2,
                    timeout=10_000)
    assert window.pages.currentWidget() is window.main_splitter


def test_the_demo_says_it_is_the_demo_and_the_users_folders_go_to_their_own_library(qtbot, tmp_path, tiny_bundle,
                                                                                     prefs, themed):
    from engine.api import Library
    from tests.videogen import ShotSpec, make_video

    demo_videos, own_videos = tmp_path / "demo-videos", tmp_path / "holiday"
    for folder, seed in ((demo_videos, 0), (own_videos, 1)):
        folder.mkdir()
        make_video(folder / f"{folder.name}.mp4", shots=[ShotSpec(2.0)], seed=seed)
    demo = Library.open(tmp_path / "demo", model=tiny_bundle)
    demo.mark_as_demo()
    demo.add_folder(demo_videos)
    opened_own: list[Library] = []

    def open_own_library():
        opened_own.append(Library.open(tmp_path / "own", model=tiny_bundle))
        return opened_own[-1]

    window = MainWindow(demo, prefs=prefs, open_own_library=open_own_library)
    window.confirm = lambda _title, _text: True
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.indexing_finished, timeout=120_000):
        window.show()
    card = window.sidebar.demo_card
    qtbot.waitUntil(lambda: card.isVisible(), timeout=10_000)
    assert window.sidebar.own_library_button.isVisible() and window.sidebar.own_library_button.isEnabled()

    with qtbot.waitSignal(window.indexing_finished, timeout=120_000):
        window.add_folder(own_videos)                  # as the folder button, the welcome page or a drop would
    assert len(opened_own) == 1 and window.library is opened_own[0]
    assert [f.path for f in window.library.folders()] == [str(own_videos.resolve())]
    qtbot.waitUntil(lambda: window.folders_model.rowCount() == 1 and window.folders_model.folder(0).indexed == 1
                    and not card.isVisible(), timeout=10_000)
    assert window.banner.text.text().startswith("Your library is open, with holiday added to it; the demo stays "
                                                "as it is.")
    assert window.prefs.value("library/last") == str((tmp_path / "own").resolve())
    window.close()

    back_in_demo = MainWindow(Library.open(tmp_path / "demo", model=tiny_bundle), prefs=prefs,
                              open_own_library=open_own_library)
    back_in_demo.confirm = lambda _title, _text: True
    qtbot.addWidget(back_in_demo)
    with qtbot.waitSignal(back_in_demo.library_refreshed, timeout=30_000):
        back_in_demo.show()
    qtbot.waitUntil(lambda: back_in_demo.sidebar.demo_card.isVisible(), timeout=10_000)
    assert [f.path for f in back_in_demo.library.folders()] == [str(demo_videos.resolve())]   # left as it was
    with qtbot.waitSignal(back_in_demo.library_refreshed, timeout=30_000):
        back_in_demo.sidebar.own_library_button.click()
    assert back_in_demo.library is opened_own[1] and not back_in_demo.sidebar.demo_card.isVisible()
    assert back_in_demo.folders_model.rowCount() == 1
    back_in_demo.close()


def test_videos_copied_into_or_deleted_from_a_folder_are_picked_up_while_the_window_is_open(
        qtbot, tmp_path, tiny_bundle, prefs, themed):
    import json
    import shutil

    from engine.api import Library
    from engine.settings import Settings
    from tests.videogen import ShotSpec, make_video

    folder = tmp_path / "videos"
    folder.mkdir()
    first = make_video(folder / "first.mp4", shots=[ShotSpec(2.0)]).path
    arriving = make_video(tmp_path / "arriving.mp4", shots=[ShotSpec(2.0, background=(10, 200, 10))], seed=1).path
    library = Library.open(tmp_path / "library", model=tiny_bundle, settings=Settings(watch_debounce_seconds=0.5))
    library.add_folder(folder)
    window = MainWindow(library, prefs=prefs)
    window.confirm = lambda _title, _text: True
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.indexing_finished, timeout=120_000):
        window.show()
    qtbot.waitUntil(lambda: window.watcher is not None, timeout=10_000)

    def indexed() -> set[str]:
        return {Path(f.path).name for f in library.catalog.files(status="indexed")}

    runs = []
    window.indexing_finished.connect(runs.append)
    shutil.copy(arriving, folder / "arrived.mp4")             # no rescan asked for
    qtbot.waitUntil(lambda: indexed() == {"first.mp4", "arrived.mp4"}, timeout=60_000)
    qtbot.waitUntil(lambda: window.folders_model.rowCount() == 1 and window.folders_model.folder(0).indexed == 2,
                    timeout=10_000)
    first.unlink()
    qtbot.waitUntil(lambda: library.catalog.file_by_path(str(first)) is None, timeout=60_000)
    qtbot.waitUntil(lambda: window.folders_model.folder(0).indexed == 1, timeout=10_000)
    settled = len(runs)
    qtbot.wait(2_000)                      # indexing reads the videos and writes the library: no loop of runs
    assert len(runs) == settled and not window.indexing

    second = tmp_path / "more"
    second.mkdir()
    watched = window.watcher
    window.add_folder(second)              # a folder added later is watched too
    qtbot.waitUntil(lambda: window.watcher is not None and window.watcher is not watched
                    and window.watcher.folders == sorted([str(folder), str(second)]), timeout=30_000)
    qtbot.waitUntil(lambda: not window.indexing, timeout=60_000)

    (second / "drafts").mkdir()
    shutil.copy(arriving, second / "drafts" / "take.mp4")
    qtbot.waitUntil(lambda: "take.mp4" in indexed(), timeout=60_000)
    watched = window.watcher
    dialog = window.open_settings()        # a folder left out in Settings leaves the library at once
    dialog.exclude.setPlainText(dialog.exclude.toPlainText() + "\ndrafts")
    dialog._on_accept()
    qtbot.waitUntil(lambda: "take.mp4" not in indexed(), timeout=60_000)
    qtbot.waitUntil(lambda: window.watcher is not None and window.watcher is not watched, timeout=30_000)
    qtbot.waitUntil(lambda: not window.indexing, timeout=60_000)

    dialog = window.open_settings()        # turned off in Settings: changes wait for a rescan
    assert dialog.watch_folders.isChecked() and dialog.keep_catalog_copy.isChecked()
    dialog.watch_folders.setChecked(False)
    dialog.keep_catalog_copy.setChecked(False)
    dialog._on_accept()
    qtbot.waitUntil(lambda: window.watcher is None, timeout=10_000)
    saved = json.loads((library.path / "settings.json").read_text())
    assert saved["watch_folders"] is False and saved["keep_catalog_copy"] is False
    assert not (library.path / "catalog.sqlite.copy.bak").exists()
    shutil.copy(arriving, second / "unwatched.mp4")
    qtbot.wait(2_500)
    assert "unwatched.mp4" not in indexed() and not window.indexing
    window.close()
    assert window.watcher is None


def test_a_folder_another_clipseek_adds_or_removes_shows_in_the_window_and_is_indexed(qtbot, window, video_folder,
                                                                                       tmp_path, tiny_bundle):
    import shutil

    from engine.api import Library
    from engine.errors import LibraryError

    window.watching.folders_timer.setInterval(200)
    folder = tmp_path / "added elsewhere"
    folder.mkdir()
    shutil.copy(video_folder / "yellow.mp4", folder / "yellow.mp4")
    elsewhere = Library.open(tmp_path / "library", model=tiny_bundle)      # as `clipseek add-folder` would
    try:
        elsewhere.add_folder(folder)
    finally:
        elsewhere.close()

    def shown():
        return [(f.path, f.indexed) for f in window.folders_model.folders()]

    qtbot.waitUntil(lambda: shown() == [(str(folder.resolve()), 1)], timeout=60_000)
    assert window.pages.currentWidget() is window.main_splitter          # no longer the welcome page
    elsewhere = Library.open(tmp_path / "library", model=tiny_bundle)

    def removed() -> bool:
        try:
            elsewhere.remove_folder(folder)
        except LibraryError:      # "another ClipSeek is indexing": the window is, now and then
            return False
        return True

    try:
        qtbot.waitUntil(removed, timeout=30_000)
    finally:
        elsewhere.close()
    qtbot.waitUntil(lambda: shown() == [], timeout=30_000)


def test_a_folder_check_still_waiting_for_a_drive_is_not_started_again(qtbot, window):
    import threading

    release, calls = threading.Event(), []

    def slow_drive():                  # an unplugged network drive: looking at the folder takes its time
        calls.append(True)
        release.wait(10)
        return []

    window.library.reachable_folders = slow_drive
    window.watching.folders_timer.setInterval(50)
    qtbot.waitUntil(lambda: bool(calls), timeout=3000)
    qtbot.wait(500)
    assert len(calls) == 1             # ten ticks, one check: the workers stay free for searches
    release.set()
    qtbot.waitUntil(lambda: len(calls) >= 2, timeout=3000)      # once it answers, the checks go on


def test_a_watcher_still_starting_when_the_window_closes_is_stopped(qtbot, tmp_path, tiny_bundle, prefs, themed):
    import threading

    from engine.api import Library

    folder = tmp_path / "videos"
    folder.mkdir()
    library = Library.open(tmp_path / "library", model=tiny_bundle)
    library.add_folder(folder)
    started, release, made = threading.Event(), threading.Event(), []
    real = library.folder_watcher

    def slow_watcher(folders=None):        # a large tree: adding the watches takes a while
        started.set()
        release.wait(10)
        made.append(real(folders))
        return made[-1]

    library.folder_watcher = slow_watcher
    window = MainWindow(library, prefs=prefs)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(started.is_set, timeout=30_000)
    qtbot.waitUntil(lambda: not window.indexing, timeout=30_000)
    threading.Timer(0.3, release.set).start()     # finishes while close() waits for the workers
    window.close()
    assert len(made) == 1 and not made[0].running
    assert window.watcher is None


def test_the_results_grow_as_the_grid_is_scrolled_to_its_end(qtbot, window, video_folder, monkeypatch):
    from desktop_app.models import search_options
    from desktop_app.models.search_options import SearchOptions

    monkeypatch.setattr(search_options, "RESULTS_PAGE", 2)     # pages of 2 moments: the test library holds few
    monkeypatch.setattr(window.filter_bar, "options", lambda: SearchOptions(k=2))
    with qtbot.waitSignal(window.indexing_finished, timeout=150_000):
        window.add_folder(video_folder)
    everything = [(m.path, m.start, m.end) for m in window.library.search("a red circle", k=50)]
    assert len(everything) >= 4

    def shown() -> list[tuple]:
        return [(m.path, m.start, m.end) for m in window.results_model.moments()]

    window.resize(1280, 900)                  # every card fits: pages load until the engine has no more
    window.search("a red circle")
    qtbot.waitUntil(lambda: shown() == everything, timeout=30_000)
    qtbot.wait(300)
    assert shown() == everything
    assert window.filter_bar.summary.text() == f"{len(everything)} moments for “a red circle”"   # no "scroll for more"

    window.grid.setFixedSize(280, 300)        # one card wide and about one high: the rest needs scrolling
    qtbot.wait(100)
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.search("a red circle")
    bar = window.grid.verticalScrollBar()
    qtbot.wait(300)
    assert len(shown()) < len(everything) and bar.maximum() > 0, (len(shown()), bar.maximum())
    assert window.filter_bar.summary.text().endswith("scroll for more")
    before = len(shown())
    window.grid.setCurrentIndex(window.results_model.index(0))
    position = bar.maximum()
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        bar.setValue(position)
    assert shown()[:before] == everything[:before] and len(shown()) > before
    assert bar.value() == position and window.grid.currentIndex().row() == 0   # the grid kept its place


def test_every_control_has_a_name_a_screen_reader_can_read(qtbot, window):
    from PySide6.QtGui import QAccessible
    from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QAbstractSlider, QComboBox, QLineEdit

    from desktop_app.views.seek_bar import MomentSeekBar

    combo_lists = {box.view() for box in window.findChildren(QComboBox)}    # read out through their combo box
    controls = [w for kind in (QAbstractButton, QAbstractSlider, QComboBox, QLineEdit, QAbstractItemView,
                               MomentSeekBar)
                for w in window.findChildren(kind)
                if not w.objectName().startswith("qt_") and type(w).__name__ not in ("QScrollBar", "QHeaderView")
                and w not in combo_lists]
    # A combo box reads out its current choice when it has no name; "Best match" alone does not say what it is.
    assert all(box.accessibleName() for box in window.findChildren(QComboBox))
    assert len(controls) > 15
    unnamed = [f"{type(w).__name__} {w.objectName() or w.toolTip()!r} in {type(w.parent()).__name__}" for w in controls
               if not QAccessible.queryAccessibleInterface(w).text(QAccessible.Text.Name).strip()]
    assert window.player.play_button in controls       # the player's, hidden until a moment plays, too
    assert not unnamed, "; ".join(unnamed)


def test_open_in_player_starts_the_chosen_player_at_the_moment_or_says_where_it_is(qtbot, window, prefs, tmp_path,
                                                                                  monkeypatch):
    import json

    from desktop_app.external_players import ExternalPlayer
    from desktop_app.views import main_window
    from tests.gui.test_external_players import recording_program
    from tests.videogen import make_video

    video = make_video(tmp_path / "beach.mp4").path
    moment = Moment(str(video), 1.5, 2.0, 0.3, None)
    program, record = recording_program(tmp_path)
    window.find_players = lambda: [ExternalPlayer("mpv", "mpv", str(program))]

    dialog = window.open_settings()                         # the player is chosen in the settings
    assert [dialog.player_combo.itemData(i) for i in range(dialog.player_combo.count())] == ["system", "mpv"]
    dialog.player_combo.setCurrentIndex(1)
    dialog._on_accept()
    window.moment_actions.open.emit(moment)                 # "Open in player" in a result's menu
    qtbot.waitUntil(record.exists, timeout=10_000)
    assert json.loads(record.read_text()) == ["--start=1.500", str(video)]
    assert window.banner.text.text() == "Opened beach.mp4 in mpv at 0:01."

    prefs.setValue(main_window.EXTERNAL_PLAYER_KEY, "system")
    opened: list[str] = []
    monkeypatch.setattr(main_window, "open_with_system", lambda path: opened.append(path) or True)
    window.open_in_player(moment)
    assert opened == [str(video)]
    assert window.banner.text.text() == ("Opened beach.mp4 in the default player, which starts at the beginning: the "
                                         "moment is at 0:01 – 0:02; mpv can open moments where they start.")
    assert window.banner.action_button.text() == "Always use mpv"
    window.banner.action_button.click()                     # the message's button chooses it
    assert prefs.value(main_window.EXTERNAL_PLAYER_KEY) == "mpv"
    assert window.banner.text.text().startswith("Open in player starts mpv at the moment from now on")
    record.unlink()
    window.open_in_player(moment)
    qtbot.waitUntil(record.exists, timeout=10_000)
    assert json.loads(record.read_text()) == ["--start=1.500", str(video)]

    window.find_players = lambda: []                        # no player ClipSeek knows is installed: nothing offered
    prefs.setValue(main_window.EXTERNAL_PLAYER_KEY, "system")
    window.open_in_player(moment)
    assert window.banner.text.text().endswith("the moment is at 0:01 – 0:02.") and window.banner.action_button.isHidden()
    window.find_players = lambda: [ExternalPlayer("mpv", "mpv", str(program))]
    window.player.cannot_play.emit(moment, f"Cannot play {video}: no decoder")   # the embedded player cannot
    assert window.banner.kind == "error" and window.banner.action_button.text() == "Open in player"
    opened.clear()
    window.banner.action_button.click()                     # the default player, as Open in player would
    assert opened == [str(video)]
    monkeypatch.setattr(main_window, "open_with_system", lambda path: False)
    window.open_in_player(moment)
    assert window.banner.kind == "error" and window.banner.text.text().startswith("No program on this computer opens")

    window.open_in_player(Moment(str(tmp_path / "gone.mp4"), 0.0, 1.0, 0.1, None))
    assert "gone.mp4 is no longer there" in window.banner.text.text()


def test_the_empty_results_text_is_never_cut_short(qtbot, window):
    window.pages.setCurrentWidget(window.main_splitter)      # the results page, before any search
    label = window.empty_text
    for width in (1280, window.minimumSizeHint().width()):
        window.resize(width, 800)
        qtbot.waitUntil(lambda: label.isVisible() and label.width() > 0, timeout=3000)
        qtbot.wait(50)
        assert label.width() >= min(440, label.parentWidget().width() - 40) * 0.9
        assert label.height() >= label.heightForWidth(label.width())


def test_f1_lists_the_keyboard_shortcuts(qtbot, window):
    from desktop_app.views.shortcuts_dialog import SHORTCUTS, ShortcutsDialog

    window.activateWindow()
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_F1)
    dialog = next(d for d in window.findChildren(ShortcutsDialog) if d.isVisible())
    assert dialog.table.rowCount() == len(SHORTCUTS)
    keys = [dialog.table.item(row, 0).text() for row in range(dialog.table.rowCount())]
    assert "Space" in keys and "J, L" in keys and "F1, ?" in keys
    dialog.reject()
    with qtbot.waitSignal(window.shortcuts_button.clicked):
        window.shortcuts_button.click()                       # also from the button beside Settings
    assert any(d.isVisible() for d in window.findChildren(ShortcutsDialog))


def test_recent_searches_can_be_forgotten_from_the_settings(qtbot, window, prefs):
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.search_field.setText("a red circle")
        window.search_field.returnPressed.emit()
    assert window.recent.items() == ["a red circle"]
    dialog = window.open_settings()
    assert dialog.forget_searches.text() == "Forget 1 recent search" and dialog.forget_searches.isEnabled()
    dialog.forget_searches.click()                          # at once, before OK
    assert window.recent.items() == [] and window.search_field.recent_model.stringList() == []
    assert not prefs.value("search/recent") and not dialog.forget_searches.isEnabled()
    dialog.reject()
    again = window.open_settings()
    assert again.forget_searches.text() == "No recent searches" and not again.forget_searches.isEnabled()


def test_a_focused_button_or_combo_box_keeps_its_keys_from_the_one_key_shortcuts(qtbot, window):
    window.pages.setCurrentWidget(window.main_splitter)
    window.activateWindow()
    toggled = []
    window.player.toggle_play = lambda: toggled.append(True)      # what Space does when no widget claims it
    box = window.filter_bar.sort
    box.setFocus()
    qtbot.waitUntil(box.hasFocus, timeout=3000)
    assert box.currentText() == "Best match"
    qtbot.keyClick(box, Qt.Key.Key_N)                          # a letter picks the item it begins
    assert box.currentText() == "Newest first"
    qtbot.keyClick(box, Qt.Key.Key_Space)                        # Space opens the list
    assert toggled == []
    box.hidePopup()

    button = window.sidebar.problems_button
    button.show()
    button.setFocus()
    qtbot.waitUntil(button.hasFocus, timeout=3000)
    with qtbot.waitSignal(button.clicked, timeout=3000):
        qtbot.keyClick(button, Qt.Key.Key_Space)                 # Space presses the focused button
    assert toggled == []
    button.click()

    button.clearFocus()
    qtbot.keyClick(window, Qt.Key.Key_Space)                     # elsewhere Space still plays and pauses
    assert toggled == [True]


def test_adding_a_folder_around_a_library_folder_keeps_its_videos_indexed(qtbot, window, video_folder, tmp_path):
    import shutil

    everything = tmp_path / "all videos"
    inner = everything / "yellow"
    inner.mkdir(parents=True)
    shutil.copy(video_folder / "yellow.mp4", inner / "yellow.mp4")
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000):
        window.add_folder(inner)
    shutil.copy(video_folder / "red_circle.mp4", everything / "red_circle.mp4")
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000) as finished:
        window.add_folder(everything)
    assert finished.args[0].files_total == 1                 # the new file only: yellow.mp4 is not indexed again
    assert f"takes the place of the library folder {inner.resolve()} inside it" in window.banner.text.text()
    qtbot.waitUntil(lambda: [(f.path, f.indexed) for f in map(window.folders_model.folder,
                                                               range(window.folders_model.rowCount()))]
                    == [(str(everything.resolve()), 2)], timeout=10_000)

    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.search_field.setText("a circle")
        window.search_field.returnPressed.emit()
    assert {Path(window.results_model.moment(r).path).name for r in range(window.results_model.rowCount())} == \
        {"yellow.mp4", "red_circle.mp4"}
    row = next(r for r in range(window.results_model.rowCount())
               if window.results_model.moment(r).path.endswith("yellow.mp4"))
    menu = window.moment_actions.menu(window.results_model.moment(row), window)
    with qtbot.waitSignal(window.results_shown, timeout=30_000):    # the search runs again, inside that folder
        next(a for a in menu.actions() if a.text() == "Search only in “yellow”").trigger()
    assert window.filter_bar.folder.text() == "all videos/yellow"
    assert {Path(window.results_model.moment(r).path).name for r in range(window.results_model.rowCount())} == \
        {"yellow.mp4"}
    asked = []
    window.choose_folder = lambda title, start: asked.append((title, start)) or str(tmp_path)
    window._ask_search_inside(str(everything.resolve()))       # a folder outside it is refused
    assert asked == [("Search only in a folder inside all videos", str(everything.resolve()))]
    assert window.banner.kind == "error" and window.banner.text.text().endswith("pick a folder inside it.")
    assert window.filter_bar.folder.text() == "all videos/yellow"
    window.choose_folder = lambda title, start: ""                # cancelled: nothing changes
    window._ask_search_inside(str(everything.resolve()))
    assert window.filter_bar.folder.text() == "all videos/yellow"

    window.filter_bar.folder.set_chosen([])
    qtbot.waitUntil(lambda: window.results_model.rowCount() and any(
        window.results_model.moment(r).path.endswith("red_circle.mp4") for r in range(window.results_model.rowCount())),
        timeout=30_000)
    red = next(window.results_model.moment(r) for r in range(window.results_model.rowCount())
               if window.results_model.moment(r).path.endswith("red_circle.mp4"))
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.filter_bar.per_video.setCurrentText("One per video")
    menu = window.moment_actions.menu(red, window)
    with qtbot.waitSignal(window.results_shown, timeout=30_000) as in_video:
        next(a for a in menu.actions() if a.text() == "Search only in this video").trigger()
    assert window.filter_bar.folder.text() == "all videos/red_circle.mp4"
    assert {window.results_model.moment(r).path for r in range(window.results_model.rowCount())} == {red.path}
    # Every moment of it, not one per video, which would be a single result.
    assert window.filter_bar.per_video.currentText() == "Every moment" and in_video.args[0] > 1
    window.choose_folder = lambda title, start: str(inner)       # picked from the sidebar folder's menu
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window._ask_search_inside(str(everything.resolve()))
    assert window.filter_bar.folder.text() == "all videos/yellow"

    window.add_folder(inner)                                # already in, as part of the wider folder
    qtbot.waitUntil(lambda: window.banner.text.text().startswith(
        f"{inner.resolve()} is already in the library, as part of"), timeout=10_000)
    assert window.banner.kind == "error"


def test_rescan_this_folder_looks_in_that_folder_alone(qtbot, window, video_folder, tmp_path):
    # A large folder on a network drive need not be listed again to take in a video copied into a small one.
    import shutil

    window.library.settings.watch_folders = False               # what is found is what the rescan found
    window.watching.stop()
    folders = _phone_and_nas_indexed(qtbot, window, video_folder, tmp_path)
    for folder in folders:
        shutil.copy(video_folder / "yellow.mp4", folder / "new.mp4")
    phone = next(f for f in window.folders_model.folders() if f.path == str(folders[0].resolve()))
    menu = window.sidebar.folder_menu(phone)
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000) as finished:
        next(a for a in menu.actions() if a.text() == "Rescan this folder").trigger()
    _assert_only_the_phone_took_in_its_new_video(qtbot, window, finished.args[0])


def _phone_and_nas_indexed(qtbot, window, video_folder, tmp_path) -> list[Path]:
    """Two library folders, "phone" and "nas", holding one video each, indexed."""
    import shutil

    folders = [tmp_path / "phone", tmp_path / "nas"]
    for folder, name in zip(folders, ("red_circle.mp4", "green_pan.mp4")):
        folder.mkdir()
        shutil.copy(video_folder / name, folder / name)
        with qtbot.waitSignal(window.indexing_finished, timeout=60_000):
            window.add_folder(folder)
    return folders


def _assert_only_the_phone_took_in_its_new_video(qtbot, window, progress) -> None:
    assert (progress.files_total, progress.indexed) == (1, 1)
    qtbot.waitUntil(lambda: sorted((os.path.basename(f.path), f.indexed) for f in window.folders_model.folders())
                    == [("nas", 1), ("phone", 2)], timeout=10_000)


def test_a_video_copied_into_a_watched_folder_is_taken_in_looking_in_that_folder_alone(qtbot, window, video_folder,
                                                                                      tmp_path):
    import shutil

    window.library.settings.watch_debounce_seconds = 0.3
    folders = _phone_and_nas_indexed(qtbot, window, video_folder, tmp_path)
    qtbot.waitUntil(lambda: window.watching.watcher is not None and len(window.watching.watcher.folders) == 2,
                    timeout=20_000)
    window.watching.stop()
    shutil.copy(video_folder / "yellow.mp4", folders[1] / "unseen.mp4")     # a change no watcher saw
    window.watching.watch(window._reachable_folders_shown())
    qtbot.waitUntil(lambda: window.watching.watcher is not None, timeout=20_000)
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000) as finished:
        shutil.copy(video_folder / "yellow.mp4", folders[0] / "new.mp4")
    _assert_only_the_phone_took_in_its_new_video(qtbot, window, finished.args[0])


def test_folders_asked_for_while_indexing_are_looked_in_together_after_it(qtbot, window, video_folder, tmp_path,
                                                                           monkeypatch):
    import shutil

    from desktop_app.views import main_window

    asked: list = []

    class RecordedIndexWorker(main_window.IndexWorker):
        def __init__(self, library, parent=None, folders=None):
            asked.append(folders)
            super().__init__(library, parent, folders=folders)

    monkeypatch.setattr(main_window, "IndexWorker", RecordedIndexWorker)
    window.library.settings.watch_folders = False               # only the runs asked for here
    window.watching.stop()
    paths = []
    for name in ("phone", "nas", "card"):          # added by the engine: no indexing has started
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(video_folder / "yellow.mp4", folder / f"{name}.mp4")
        paths.append(window.library.add_folder(folder).path)
    phone, nas, card = paths

    window.start_indexing([phone])
    window.start_indexing([nas])         # while the first run goes: both after it, in one run
    window.start_indexing([card])
    # The window's run over, not only its thread: a call in between joins the folders asked for meanwhile.
    qtbot.waitUntil(lambda: len(asked) == 2 and window.index_worker is None, timeout=60_000)
    assert asked == [[phone], sorted([nas, card])]

    asked.clear()
    window.start_indexing([phone])
    window.start_indexing([nas])
    window.start_indexing()              # every folder takes in the others
    window.start_indexing([card])
    qtbot.waitUntil(lambda: len(asked) == 2 and window.index_worker is None, timeout=60_000)
    assert asked == [[phone], None]


def test_days_chosen_in_the_date_filter_narrow_the_results(qtbot, window, video_folder, tmp_path):
    import shutil
    from datetime import date, datetime

    from desktop_app.views.filter_bar import CHOOSE_DATES

    folder = tmp_path / "camera"
    folder.mkdir()
    for name, when in (("red_circle.mp4", datetime(2021, 6, 15, 12)), ("yellow.mp4", datetime(2023, 8, 20, 12))):
        shutil.copy(video_folder / name, folder / name)
        os.utime(folder / name, (when.timestamp(), when.timestamp()))    # no recording date: the change counts
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000):
        window.add_folder(folder)
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.search_field.setText("a circle")
        window.search_field.returnPressed.emit()

    def shown() -> set[str]:
        return {Path(m.path).name for m in window.results_model.moments()}

    assert shown() == {"red_circle.mp4", "yellow.mp4"}
    window.filter_bar.ask_dates = lambda _parent, _initial: (date(2023, 8, 1), date(2023, 8, 20))
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.filter_bar.date.setCurrentText(CHOOSE_DATES)
    assert shown() == {"yellow.mp4"} and window.filter_bar.date.currentText() == "1–20 Aug 2023"
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.filter_bar.date.setCurrentText("Any date")
    assert shown() == {"red_circle.mp4", "yellow.mp4"}


def _an_indexed_folder_renamed(qtbot, window, video_folder, tmp_path) -> tuple[Path, Path]:
    """(old, now): a library folder holding yellow.mp4, indexed, then renamed in the file manager and seen
    missing; the folder filter searches only it."""
    import shutil

    old = tmp_path / "camera"
    old.mkdir()
    shutil.copy(video_folder / "yellow.mp4", old / "yellow.mp4")
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000):
        window.add_folder(old)
    now = tmp_path / "camera (backup)"
    os.replace(old, now)
    window.refresh_library()
    qtbot.waitUntil(lambda: [f.state for f in window.folders_model.folders()] == ["missing"], timeout=10_000)
    window.filter_bar.folder.set_chosen([str(old.resolve())])
    return old, now


def test_a_folder_not_found_is_located_and_keeps_its_moments(qtbot, window, video_folder, tmp_path):
    old, now = _an_indexed_folder_renamed(qtbot, window, video_folder, tmp_path)
    menu = window.sidebar.folder_menu(window.folders_model.folder(0))
    asked = []
    window.choose_folder = lambda title, start: asked.append((title, start)) or str(now)
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000) as finished:
        next(a for a in menu.actions() if a.text() == "Locate folder…").trigger()
    assert asked == [("Where is the folder camera now?", str(tmp_path.resolve()))]
    assert finished.args[0].files_total == 0                # its video is not decoded again
    qtbot.waitUntil(lambda: [(f.path, f.state, f.indexed) for f in window.folders_model.folders()]
                    == [(str(now.resolve()), "ok", 1)], timeout=10_000)
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.search_field.setText("a yellow background")
        window.search_field.returnPressed.emit()
    assert {window.results_model.moment(r).path for r in range(window.results_model.rowCount())} == \
        {str(now.resolve() / "yellow.mp4")}
    assert window.filter_bar.folder.chosen() == (str(now.resolve()),)  # still searching only it, where it is now


def test_a_refresh_read_before_a_folder_was_located_does_not_put_the_old_folder_back(qtbot, window, video_folder,
                                                                                     tmp_path):
    # The watcher's refresh after a rename could read the folders before the folder was located and come back
    # after: the sidebar listed the old folder again and the folder filter lost the located folder.
    import threading

    old, now = _an_indexed_folder_renamed(qtbot, window, video_folder, tmp_path)
    library = window.library
    read, release = threading.Event(), threading.Event()
    listed_before = library.folders()

    def folders_read_early():
        read.set()
        release.wait(30)
        return listed_before

    library.folders = folders_read_early
    window.refresh_library()                                    # reads the folders, then comes back late
    assert read.wait(10)
    del library.folders
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000):
        window.relocate_folder(str(old.resolve()), now)
    qtbot.waitUntil(lambda: [(f.path, f.state) for f in window.folders_model.folders()]
                    == [(str(now.resolve()), "ok")], timeout=10_000)
    release.set()
    window.runner.wait()
    qtbot.wait(200)                                             # the late refresh's answer is delivered
    assert [(f.path, f.state) for f in window.folders_model.folders()] == [(str(now.resolve()), "ok")]
    assert window.filter_bar.folder.chosen() == (str(now.resolve()),)


def test_a_refresh_due_as_the_window_closes_does_not_run(qtbot, window, caplog):
    # A change seen by the watcher just before closing asked for a refresh that ran on a closed library.
    window.events.folders_changed.emit()                        # a refresh is due in 0.4 s
    window.close()
    window.refresh_library()
    qtbot.wait(700)
    window.runner.wait()
    assert window.library is None
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


def test_the_search_shown_and_those_behind_it_follow_a_located_folder(qtbot, window, video_folder, tmp_path):
    import shutil

    old = tmp_path / "camera"
    old.mkdir()
    for name in ("red_circle.mp4", "yellow.mp4"):
        shutil.copy(video_folder / name, old / name)
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000):
        window.add_folder(old)
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.search_field.setText("a red circle")
        window.search_field.returnPressed.emit()
    model = window.results_model
    assert model.rowCount() >= 2
    window.grid.setCurrentIndex(model.index(1))               # played, and Ctrl-click another one too
    window.grid.selectionModel().select(model.index(0), QItemSelectionModel.SelectionFlag.Select)
    played = moment_key(window.grid.current_moment())
    selected = {moment_key(m) for m in window.grid.selected_moments()}
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.find_similar(model.moment(0))
    now = tmp_path / "camera (backup)"
    os.replace(old, now)                                      # renamed in the file manager
    window.refresh_library()
    qtbot.waitUntil(lambda: [f.state for f in window.folders_model.folders()] == ["missing"], timeout=10_000)
    window.choose_folder = lambda _title, _start: str(now)
    menu = window.sidebar.folder_menu(window.folders_model.folder(0))
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000):
        next(a for a in menu.actions() if a.text() == "Locate folder…").trigger()

    def moved(key):
        return (str(now.resolve() / Path(key[0]).name), *key[1:])

    def shown_paths():
        return {os.path.dirname(model.moment(r).path) for r in range(model.rowCount())}

    qtbot.waitUntil(lambda: shown_paths() == {str(now.resolve())}, timeout=30_000)   # the search shown, found again
    assert " like " in window.filter_bar.summary.text()
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.go_back()
    assert shown_paths() == {str(now.resolve())}
    assert moment_key(window.grid.current_moment()) == moved(played)    # the card that played is current again,
    assert {moment_key(m) for m in window.grid.selected_moments()} == {moved(k) for k in selected}   # and selected
    assert moment_key(window.player.moment) == moved(played)             # in the player, from its new place
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.go_forward()
    assert " like " in window.filter_bar.summary.text() and shown_paths() == {str(now.resolve())}


def test_indexing_in_the_way_of_removing_a_folder_can_be_cancelled_from_the_message(qtbot, window, video_folder):
    window.add_folder(video_folder)
    qtbot.waitUntil(lambda: window.index_worker is not None, timeout=30_000)
    window.pause_indexing()                                   # (so that it is still running below)
    folder = str(video_folder.resolve())
    window.remove_folder(folder)
    assert window.banner.kind == "error"
    assert window.banner.text.text() == "Indexing is running: cancel it first, then remove the folder."
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000):
        window.banner.action_button.click()                   # "Cancel indexing"
    assert not window.banner.isVisible()
    qtbot.waitUntil(lambda: not window.indexing, timeout=10_000)
    window.remove_folder(folder)                              # now it can be
    qtbot.waitUntil(lambda: window.folders_model.rowCount() == 0, timeout=30_000)


def test_a_long_indexing_ended_in_the_background_asks_for_attention(qtbot, window, video_folder, monkeypatch):
    from desktop_app.views import main_window

    alerts = []
    monkeypatch.setattr(main_window.QApplication, "alert", lambda widget, msec=0: alerts.append(widget))
    monkeypatch.setattr(window, "isActiveWindow", lambda: False)              # another window is in front
    monkeypatch.setattr(main_window, "ALERT_AFTER_SECONDS", 0.0)
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000):
        window.add_folder(video_folder)
    assert alerts == [window]
    monkeypatch.setattr(main_window, "ALERT_AFTER_SECONDS", 3600.0)           # a short one (a file changed): no
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000):
        window.start_indexing()
    assert alerts == [window]
    monkeypatch.setattr(main_window, "ALERT_AFTER_SECONDS", 0.0)
    monkeypatch.setattr(window, "isActiveWindow", lambda: True)               # in front: it is seen anyway
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000):
        window.start_indexing()
    assert alerts == [window]


def test_the_built_in_demonstration_model_says_it_finds_nothing_in_your_own_videos(qtbot, tmp_path, prefs, themed,
                                                                                   tiny_bundle):
    from engine.api import Library
    from desktop_app.views.main_window import DEMONSTRATION_NOTE
    from desktop_app.views.settings_dialog import SettingsDialog

    windows = {}
    for name, model in (("shapes", None), ("tiny", tiny_bundle)):         # the built-in model, and another
        win = MainWindow(Library.open(tmp_path / name, model=model), prefs=prefs)
        qtbot.addWidget(win)
        with qtbot.waitSignal(win.library_refreshed, timeout=30_000):
            win.show()
        windows[name] = win
    assert windows["tiny"].welcome.model_note.isHidden()
    assert windows["tiny"].status_area.text.text().endswith("model clipseek-tiny-random")
    win = windows["shapes"]
    assert win.welcome.model_note.isVisible() and win.welcome.model_note.text() == DEMONSTRATION_NOTE
    assert win.status_area.text.text().endswith("model clipseek-shapes (a demonstration)")
    mine = tmp_path / "my videos"
    mine.mkdir()
    with qtbot.waitSignal(win.indexing_finished, timeout=60_000):
        win.add_folder(mine)
    assert win.banner.text.text() == DEMONSTRATION_NOTE and win.banner.kind == "info"
    win.banner.action_button.click()                                       # "Choose a model…"
    dialog = next(d for d in win.findChildren(SettingsDialog) if d.isVisible())
    assert dialog.tabs.tabText(dialog.tabs.currentIndex()) == "Models"
    dialog.reject()
    for win in windows.values():
        win.close()


def test_back_and_forward_go_through_the_searches(qtbot, window, video_folder):
    from PySide6.QtCore import QPoint

    with qtbot.waitSignal(window.indexing_finished, timeout=150_000):
        window.add_folder(video_folder)
    back, forward = window.trail_buttons.back_button, window.trail_buttons.forward_button
    summary = window.filter_bar.summary
    assert not back.isEnabled() and not forward.isEnabled()
    for query in ("a red", "a red circle"):                  # typed on: one step
        with qtbot.waitSignal(window.results_shown, timeout=30_000):
            window.search_field.setText(query)
            window.search_field.textEdited.emit(query)
    assert not back.isEnabled()
    window.grid.setFixedSize(280, 300)        # about one card at a time: the results scroll
    qtbot.wait(100)
    bar = window.grid.verticalScrollBar()
    assert bar.maximum() > 40
    bar.setValue(bar.maximum() // 2)
    first = window.results_model.moment(0)
    watched = next(i for i in (window.grid.indexAt(QPoint(x, 60)) for x in range(20, 260, 20)) if i.isValid())
    window.grid.setCurrentIndex(watched)                      # played, and Ctrl-click another one too
    window.grid.selectionModel().select(window.results_model.index(0), QItemSelectionModel.SelectionFlag.Select)
    watched = moment_key(window.grid.current_moment())
    assert moment_key(window.player.moment) == watched
    left_at = bar.value()                                     # (where making the card current scrolled to)
    assert 0 < left_at < bar.maximum()
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.find_similar(first)
    bar.setValue(0)
    assert " like " in summary.text()
    other = next(r for r in range(window.results_model.rowCount())
                 if moment_key(window.results_model.moment(r)) != watched)
    window.grid.setCurrentIndex(window.results_model.index(other))
    qtbot.waitUntil(lambda: window.player.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState,
                    timeout=5_000)
    assert back.isEnabled() and not forward.isEnabled()

    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        back.click()
    assert summary.text().endswith("for “a red circle”") and window.search_field.text() == "a red circle"
    assert not back.isEnabled() and forward.isEnabled()
    assert bar.value() == left_at                              # scrolled as it was left
    assert moment_key(window.grid.current_moment()) == watched    # with the card watched there current,
    assert {moment_key(m) for m in window.grid.selected_moments()} == {watched, moment_key(first)}
    assert moment_key(window.player.moment) == watched            # shown in the player, paused at its start
    qtbot.waitUntil(lambda: window.player.player.playbackState() == QMediaPlayer.PlaybackState.PausedState,
                    timeout=5_000)
    window.activateWindow()
    window.grid.setFocus()
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        qtbot.keyClick(window.grid, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert " like " in summary.text() and window.search_field.text() == ""
    with qtbot.waitSignal(window.results_shown, timeout=30_000):     # the mouse's back button over the results
        qtbot.mousePress(window.grid.viewport(), Qt.MouseButton.BackButton, pos=QPoint(20, 20))
    assert summary.text().endswith("for “a red circle”")

    with qtbot.waitSignal(window.results_shown, timeout=30_000):     # a new search drops the steps ahead
        window.search_field.setText("a yellow field")
        window.search_field.returnPressed.emit()
    assert back.isEnabled() and not forward.isEnabled()
    window.search_field.clear()
    window.search_field.textEdited.emit("")
    qtbot.waitUntil(lambda: window.results_model.rowCount() == 0, timeout=5_000)
    with qtbot.waitSignal(window.results_shown, timeout=30_000):     # emptied: Back shows the last search again
        back.click()
    assert summary.text().endswith("for “a yellow field”") and window.search_field.text() == "a yellow field"
