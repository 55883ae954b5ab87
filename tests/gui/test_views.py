"""Each view on its own: change its model or call its API, check the widget and its signals."""
from __future__ import annotations

import warnings

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImage, QPixmap

from desktop_app.models import FoldersModel, ProblemsModel, ResultsModel
from desktop_app.views.elided_label import ElidedLabel
from desktop_app.views.filter_bar import FilterBar
from desktop_app.views.problems import ProblemsView
from desktop_app.views.results_grid import ResultsGrid
from desktop_app.views.search_field import PAUSE_MS, SearchField, dropped_image, dropped_video
from desktop_app.views.seek_bar import MomentSeekBar
from desktop_app.views.sidebar import Sidebar
from desktop_app.views.status_bar import StatusArea
from engine.api.types import FileStatus, FolderInfo, Moment, Problem, Progress

pytestmark = pytest.mark.gui


def jpeg(color: int, size=(64, 36)) -> bytes:
    image = QImage(*size, QImage.Format.Format_RGB32)
    image.fill(color)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "JPG")
    return bytes(data)


def moments(n=6):
    return [Moment(f"/v/clip{i}.mp4", i * 2.0, i * 2.0 + 1.5, 0.5 - i * 0.05, None) for i in range(n)]


def test_status_area_shows_progress_and_pause_cancel(qtbot, themed):
    area = StatusArea()
    qtbot.addWidget(area)
    area.show()
    assert not area.indexing
    area.show_progress(Progress(2, 8, 60, 240, 2.0, 90, current="/v/holiday.mp4"))
    assert area.indexing and area.bar.value() == 250
    assert "2 of 8 files" in area.text.text() and area.current.text() == "holiday.mp4"
    with qtbot.waitSignal(area.pause_requested):
        area.pause_button.click()
    area.set_paused(True)
    assert area.pause_button.text() == "Resume" and area.title.text() == "Paused"
    with qtbot.waitSignal(area.resume_requested):
        area.pause_button.click()
    with qtbot.waitSignal(area.cancel_requested):
        area.cancel_button.click()
    area.show_idle("Library up to date")
    assert not area.indexing and area.title.text() == "Library up to date"


def test_status_area_coalesces_bursts_of_progress(qtbot, themed):
    area = StatusArea()
    qtbot.addWidget(area)
    area.show()
    for done in range(1, 200):
        area.show_progress(Progress(done, 200, done, 200, 1.0, None))
    assert area.bar.value() == 5            # the first one is drawn at once, the rest wait for the timer
    qtbot.waitUntil(lambda: area.bar.value() == 995, timeout=2000)


def test_sidebar_lists_folders_and_requests_actions(qtbot, themed):
    model = FoldersModel()
    sidebar = Sidebar(model)
    qtbot.addWidget(sidebar)
    sidebar.show()
    assert sidebar.empty_hint.isVisible() and not sidebar.list.isVisible()
    model.set_folders([FolderInfo("/home/a/Holidays", 5, 2, 1, 0, "indexing")])
    assert sidebar.list.isVisible() and not sidebar.remove_button.isEnabled()
    sidebar.list.setCurrentIndex(model.index(0))
    assert sidebar.remove_button.isEnabled()
    with qtbot.waitSignal(sidebar.remove_requested) as blocker:
        sidebar.remove_button.click()
    assert blocker.args == ["/home/a/Holidays"]
    with qtbot.waitSignal(sidebar.add_requested):
        sidebar.add_button.click()
    with qtbot.waitSignal(sidebar.rescan_requested):
        sidebar.rescan_button.click()
    sidebar.set_problem_count(3)
    assert sidebar.problems_button.text() == "Problems  (3)"
    sidebar.grab()  # paints the delegate

    menu = sidebar.folder_menu(sidebar.selected_folder())      # a folder's own menu
    actions = {a.text(): a for a in menu.actions() if not a.isSeparator()}
    assert list(actions) == ["Search only this folder", "Search only in a folder inside it…", "Show in file manager",
                             "Rescan this folder", "Remove from library…"]
    for label, signal in (("Search only this folder", sidebar.search_in_requested),
                          ("Search only in a folder inside it…", sidebar.search_inside_requested),
                          ("Show in file manager", sidebar.reveal_requested),
                          ("Rescan this folder", sidebar.rescan_folder_requested),
                          ("Remove from library…", sidebar.remove_requested)):
        with qtbot.waitSignal(signal) as blocker:
            actions[label].trigger()
        assert blocker.args == ["/home/a/Holidays"]

    model.set_folders([FolderInfo("/mnt/usb/Clips", 3, 0, 0, 0, "missing")])   # moved, renamed or unplugged
    menu = sidebar.folder_menu(model.folder(0))
    first = next(a for a in menu.actions() if not a.isSeparator())
    assert first.text() == "Locate folder…"
    assert [a.text() for a in menu.actions() if not a.isEnabled()] == \
        ["Search only in a folder inside it…", "Show in file manager"]     # it cannot be browsed
    with qtbot.waitSignal(sidebar.locate_requested) as blocker:
        first.trigger()
    assert blocker.args == ["/mnt/usb/Clips"]


def test_problems_view_retries_selected_or_all(qtbot, themed):
    model = ProblemsModel()
    view = ProblemsView(model)
    qtbot.addWidget(view)
    view.show()
    assert view.empty.isVisible() and not view.retry_all.isEnabled()
    model.set_problems([Problem("/v/a.mp4", FileStatus.FAILED, "decoder crashed", 7),
                        Problem("/v/b.txt.mp4", FileStatus.SKIPPED, "not a video", 9)])
    assert view.table.isVisible() and view.summary.text() == "1 failed · 1 skipped"
    model.set_problems(model.problems()[:1])
    assert view.summary.text() == "1 failed"
    model.set_problems([Problem("/v/a.mp4", FileStatus.FAILED, "decoder crashed", 7),
                        Problem("/v/b.txt.mp4", FileStatus.SKIPPED, "not a video", 9)])
    view.table.selectRow(1)
    with qtbot.waitSignal(view.retry_requested) as blocker:
        view.retry_selected.click()
    assert blocker.args == [[9]]
    with qtbot.waitSignal(view.retry_requested) as blocker:
        view.retry_all.click()
    assert blocker.args == [[]]


def test_problems_view_copies_rows_and_offers_them_in_a_menu(qtbot, themed, qapp):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    model = ProblemsModel()
    view = ProblemsView(model)
    qtbot.addWidget(view)
    view.show()
    model.set_problems([Problem("/v/a.mp4", FileStatus.FAILED, "/v/a.mp4: decoder crashed", 7),
                        Problem("/v/b.txt.mp4", FileStatus.SKIPPED, "not a video", 9)])
    view.table.selectRow(0)
    assert [a.text() for a in view.context_menu().actions()] == ["Retry", "Show in file manager",
                                                                 "Copy path and reason", "",
                                                                 "Leave out of the library"]
    view.table.selectAll()
    menu = view.context_menu()
    assert [a.text() for a in menu.actions()] == ["Retry 2 files", "Copy paths and reasons", "",
                                                  "Leave 2 files out of the library"]
    with qtbot.waitSignal(view.retry_requested) as blocker:
        menu.actions()[0].trigger()
    assert blocker.args == [[7, 9]]
    with qtbot.waitSignal(view.leave_out_requested) as blocker:
        menu.actions()[-1].trigger()
    assert blocker.args == [["/v/a.mp4", "/v/b.txt.mp4"]]
    qapp.clipboard().clear()
    view.table.setFocus()
    QTest.keyClick(view.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert qapp.clipboard().text() == "/v/a.mp4: decoder crashed\n/v/b.txt.mp4: not a video"


def test_problems_view_shows_whole_folders_up_to_a_share_of_its_width(qtbot, themed):
    model = ProblemsModel()
    view = ProblemsView(model)
    qtbot.addWidget(view)
    view.resize(1100, 500)
    view.show()
    qtbot.waitExposed(view)
    folder = "/home/someone/Videos/Holidays 2024"
    model.set_problems([Problem(f"{folder}/a.mp4", FileStatus.FAILED, "decoder crashed", 7)])
    header = view.table.horizontalHeader()
    assert header.sectionSize(3) >= view.table.fontMetrics().horizontalAdvance(folder)
    model.set_problems([Problem("/a/" + "very long folder name/" * 12 + "b.mp4", FileStatus.FAILED, "x", 8)])
    assert header.sectionSize(3) <= view.table.viewport().width() * 0.4 + 1
    assert header.sectionSize(2) >= 100                       # the reasons keep room


def shown_grid(qtbot, width: int, height: int) -> tuple[ResultsModel, ResultsGrid]:
    model = ResultsModel()
    grid = ResultsGrid(model)
    qtbot.addWidget(grid)
    grid.resize(width, height)
    grid.show()
    qtbot.waitExposed(grid)
    return model, grid


def test_results_grid_replaced_in_place_keeps_its_scroll_and_card_quietly(qtbot, themed):
    model, grid = shown_grid(qtbot, 300, 320)
    shown = moments(12)
    model.set_results("q", shown)
    bar = grid.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    grid.setCurrentIndex(model.index(5))
    grid.scrollTo(model.index(5))
    position = bar.value()
    assert position > 0
    selected = []
    grid.moment_selected.connect(selected.append)
    reranked = [shown[1], shown[0], *shown[2:], *moments(16)[12:]]    # a longer answer whose top changed
    grid.replace_keeping_place("q", reranked)
    assert model.moments() == reranked and bar.value() == position
    assert grid.current_moment() == shown[5] and selected == []      # the player is not sent it again
    with qtbot.waitSignal(grid.end_reached):
        bar.setValue(bar.maximum())
    model.set_results("other", moments(12))                          # a new search starts at the top
    qtbot.waitUntil(lambda: bar.value() == 0)


def test_ctrl_wheel_and_ctrl_plus_minus_change_the_card_size(qtbot, themed):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    model, grid = shown_grid(qtbot, 1000, 600)
    model.set_results("q", moments(12))
    columns = lambda: grid.viewport().width() // grid.gridSize().width()   # noqa: E731
    assert grid.min_card_width == 200 and columns() == 4
    changed = []
    grid.card_width_changed.connect(changed.append)

    def wheel(delta: int, modifiers) -> None:
        at = QPointF(50, 50)
        QApplication.sendEvent(grid.viewport(), QWheelEvent(at, grid.viewport().mapToGlobal(at), QPoint(0, 0),
                                                            QPoint(0, delta), Qt.MouseButton.NoButton, modifiers,
                                                            Qt.ScrollPhase.NoScrollPhase, False))

    wheel(120, Qt.KeyboardModifier.ControlModifier)
    assert grid.min_card_width == 250 and columns() == 3 and changed == [250]
    qtbot.keyClick(grid, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(grid, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert grid.min_card_width == 170 and columns() == 5
    for _ in range(5):
        qtbot.keyClick(grid, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    assert grid.min_card_width == 420 and columns() == 2           # the biggest step, and no further
    bar = grid.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)                       # laid out again: 6 rows of 2
    wheel(-120, Qt.KeyboardModifier.NoModifier)                     # a plain wheel still scrolls
    assert grid.min_card_width == 420 and bar.value() > 0
    grid.set_card_width(999)
    assert grid.min_card_width == 420


def test_score_bars_run_over_the_span_given_else_over_the_scores_shown(qtbot, themed):
    model, grid = shown_grid(qtbot, 300, 320)
    model.set_results("q", [Moment("/v/a.mp4", 0, 1, 2.0, None), Moment("/v/b.mp4", 0, 1, 1.0, None)])
    assert grid.score_share(2.0) == 1.0 and grid.score_share(1.0) == 0.0
    grid.set_score_span((-2.0, 2.0))          # the cut-off slider's span: all the scores this kind of search gave
    assert grid.score_share(2.0) == 1.0 and grid.score_share(1.0) == 0.75 and grid.score_share(-3.0) == 0.0
    grid.set_score_span(None)
    assert grid.score_share(1.0) == 0.0


def test_results_grid_keyboard_selection_and_hover_scrub(qtbot, themed):
    model, grid = shown_grid(qtbot, 720, 500)
    model.set_results("q", moments())
    selected = []
    grid.moment_selected.connect(selected.append)
    grid.setFocus()
    grid.setCurrentIndex(model.index(0))
    qtbot.keyClick(grid.viewport(), Qt.Key.Key_Right)
    assert grid.currentIndex().row() == 1 and selected[-1].path == "/v/clip1.mp4"
    qtbot.keyClick(grid.viewport(), Qt.Key.Key_Down)
    assert grid.currentIndex().row() > 1        # the next row of cards
    with qtbot.waitSignal(grid.moment_activated):
        qtbot.keyClick(grid.viewport(), Qt.Key.Key_Return)

    rect = grid.visualRect(model.index(0))
    with qtbot.waitSignal(grid.preview_wanted) as wanted:
        qtbot.mouseMove(grid.viewport(), QPoint(rect.left() + 5, rect.center().y()))
    moment = wanted.args[0]
    grid.set_preview_frames(moment, [jpeg(0xff0000), jpeg(0x00ff00), jpeg(0x0000ff), jpeg(0xffffff)])
    first = grid.scrub_pixmap(moment).toImage().pixelColor(10, 10)
    qtbot.mouseMove(grid.viewport(), QPoint(rect.right() - 5, rect.center().y()))
    last = grid.scrub_pixmap(moment).toImage().pixelColor(10, 10)
    assert first.red() > 200 and first.blue() < 60        # left edge: the first frame
    assert last.red() > 200 and last.blue() > 200         # right edge: the last frame
    assert grid.scrub_share(moment) > 0.9
    grid.grab()                                            # the delegate paints a scrubbing card
    model.set_results("other", moments(2))
    assert grid.scrub_pixmap(moment) is None               # frames belong to the old results


def test_results_grid_scrubs_through_the_stills_come_so_far(qtbot, themed):
    model, grid = shown_grid(qtbot, 720, 500)
    model.set_results("q", moments())
    rect = grid.visualRect(model.index(0))
    with qtbot.waitSignal(grid.preview_wanted) as wanted:
        qtbot.mouseMove(grid.viewport(), QPoint(rect.left() + 5, rect.center().y()))
    moment = wanted.args[0]

    def shown_at(share: float):
        qtbot.mouseMove(grid.viewport(), QPoint(rect.left() + round(share * rect.width()), rect.center().y()))
        colour = grid.scrub_pixmap(moment).toImage().pixelColor(10, 10)
        return colour.red() > 200, colour.green() > 200, colour.blue() > 200

    assert grid.scrub_pixmap(moment) is None                      # nothing made yet
    grid.add_preview_frame(moment, jpeg(0xff0000), due=4)
    assert shown_at(0.1) == shown_at(0.9) == (True, False, False)  # one still so far: it stands for all
    grid.add_preview_frame(moment, jpeg(0x00ff00), due=4)
    assert shown_at(0.1) == (True, False, False) and shown_at(0.3) == (False, True, False)
    assert shown_at(0.9) == (False, True, False)                  # the fourth is not made yet: the last so far
    grid.set_preview_frames(moment, [jpeg(0xff0000), jpeg(0x00ff00), jpeg(0x0000ff), jpeg(0xffffff)])
    assert shown_at(0.6) == (False, False, True) and shown_at(0.9) == (True, True, True)


def test_results_grid_selects_several_cards_for_one_menu(qtbot, themed):
    model, grid = shown_grid(qtbot, 720, 500)
    shown = moments(6)
    model.set_results("q", shown)
    played, one, several = [], [], []
    grid.moment_selected.connect(played.append)
    grid.context_menu_wanted.connect(lambda moment, _pos: one.append(moment))
    grid.selection_menu_wanted.connect(lambda chosen, _pos: several.append(chosen))

    def click(row: int, modifier=Qt.KeyboardModifier.NoModifier, button=Qt.MouseButton.LeftButton):
        qtbot.mouseClick(grid.viewport(), button, modifier, grid.visualRect(model.index(row)).center())

    click(3)
    click(1, Qt.KeyboardModifier.ControlModifier)
    assert grid.selected_moments() == [shown[1], shown[3]]    # in the grid's order, not the clicks'
    assert played[-1] == shown[1]                             # the card clicked last is the one that plays
    grid.customContextMenuRequested.emit(grid.visualRect(model.index(3)).center())
    assert several == [[shown[1], shown[3]]] and one == []
    assert grid.selected_moments() == [shown[1], shown[3]]    # a right-click inside the selection keeps it

    grid.replace_keeping_place("q", [shown[3], *shown[:3], *shown[4:]])
    assert grid.selected_moments() == [shown[3], shown[1]]    # still selected where they moved to

    click(0)
    click(2, Qt.KeyboardModifier.ShiftModifier)
    assert grid.selected_moments() == [shown[3], shown[0], shown[1]]
    grid.customContextMenuRequested.emit(grid.visualRect(model.index(5)).center())
    assert one == [shown[5]] and grid.selected_moments() == [shown[5]]   # outside it: that card alone

    click(5)
    grid.setFocus()                                           # from the keyboard: the current card's menu
    qtbot.keyClick(grid, Qt.Key.Key_Menu)
    qtbot.keyClick(grid, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    assert one == [shown[5]] * 3
    qtbot.keyClick(grid, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(grid, Qt.Key.Key_Menu)
    assert several[-1] == [shown[4], shown[5]]

    assert grid.dragEnabled()                                 # and drag out: a small thumbnail says how many
    thumbnail = QPixmap(320, 240)
    thumbnail.fill(Qt.GlobalColor.red)
    for picture, count in ((thumbnail, 2), (None, 1)):
        drawn = grid._drag_pixmap(picture, count).toImage()
        assert (drawn.width(), drawn.height()) == (160, 90)
        assert (drawn.pixelColor(80, 20) == QColor(Qt.GlobalColor.red)) == (picture is not None)


def test_search_field_debounces_commits_and_takes_dropped_images(qtbot, themed, tmp_path):
    field = SearchField()
    qtbot.addWidget(field)
    field.show()
    with qtbot.waitSignal(field.search_requested, timeout=PAUSE_MS + 1000) as typed:
        qtbot.keyClicks(field, "red ball")
    assert typed.args == ["red ball", False]
    with qtbot.waitSignal(field.search_requested) as entered:
        qtbot.keyClick(field, Qt.Key.Key_Return)
    assert entered.args == ["red ball", True]

    image = tmp_path / "query.png"
    QImage(16, 16, QImage.Format.Format_RGB32).save(str(image))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt")), QUrl.fromLocalFile(str(image))])
    assert dropped_image(mime) == image
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(field.image_dropped) as dropped:
        field.dropEvent(event)
    assert dropped.args == [image]
    text_only = QMimeData()
    text_only.setText("hello")
    assert dropped_image(text_only) is None and dropped_video(text_only) is None

    video = tmp_path / "a clip.MOV"                  # a short video: moments like it (where it came from)
    video.write_bytes(b"a clip")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt")), QUrl.fromLocalFile(str(video))])
    assert dropped_video(mime) == video and dropped_image(mime) is None
    with qtbot.waitSignal(field.video_dropped) as dropped:
        field.dropEvent(QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                   Qt.KeyboardModifier.NoModifier))
    assert dropped.args == [video] and field.placeholderText() == "Searching by video: a clip.MOV"

    results = ResultsModel()                     # cards dragged from the results: moments like them
    chosen = [Moment("/v/beach.mp4", 12, 20.5, 0.1, None, segment_ids=(4,)), Moment("/v/city.mkv", 0, 5, 0.2, None)]
    results.set_results("q", chosen)
    field.setText("red ball")
    drag = results.mimeData([results.index(0), results.index(1)])
    with warnings.catch_warnings():              # PySide marks its only constructor deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, drag, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier)
    field.dragEnterEvent(enter)
    assert enter.isAccepted()
    with qtbot.waitSignal(field.moments_dropped) as like:
        field.dropEvent(QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, drag, Qt.MouseButton.LeftButton,
                                   Qt.KeyboardModifier.NoModifier))
    assert like.args == [chosen] and field.text() == ""     # not pasted in as text


def test_filter_bar_builds_options(qtbot, themed):
    bar = FilterBar()
    qtbot.addWidget(bar)
    bar.set_folders(["/v/Holidays", "/v/Work"])
    with qtbot.waitSignal(bar.changed):
        bar.sort.setCurrentIndex(1)
    assert not bar.options().per_video
    with qtbot.waitSignal(bar.changed):
        bar.per_video.setCurrentText("One per video")
    assert bar.options().per_video
    with qtbot.waitSignal(bar.changed):
        bar.folder.set_chosen(["/v/Work"])
    bar.date.setCurrentText("Past month")
    bar.duration.setCurrentText("Under 1 min")
    with qtbot.waitSignal(bar.changed):
        bar.cutoff.setValue(30)
    options = bar.options()
    assert (options.sort, options.folders, options.date_preset, options.duration_preset, options.min_score) == \
        ("date", ("/v/Work",), "Past month", "Under 1 min", 0.3)
    assert bar.cutoff_label.text() == "Min. score: 0.30"
    with qtbot.waitSignal(bar.changed):          # the chosen folder left the library
        bar.set_folders(["/v/Holidays"])
    assert bar.options().folders == ()


def test_the_date_filter_takes_days_chosen_in_a_dialog(qtbot, themed):
    from datetime import date

    from desktop_app.views.filter_bar import CHOOSE_DATES

    bar = FilterBar()
    qtbot.addWidget(bar)
    bar.show()
    qtbot.waitExposed(bar)
    plain = bar.date.sizeHint().width()            # as wide as the presets: the filters fit where they did
    asked = []
    answers = [(date(2024, 6, 1), date(2024, 6, 30)), None, (date(2023, 12, 20), date(2024, 1, 5))]
    bar.ask_dates = lambda _parent, initial: (asked.append(initial), answers.pop(0))[1]
    bar.date.setCurrentText("Past year")
    with qtbot.waitSignal(bar.changed):
        bar.date.setCurrentText(CHOOSE_DATES)
    assert asked == [None] and bar.date.currentText() == "1–30 Jun 2024"
    options = bar.options()
    assert (options.date_preset, options.dates) == ("Any date", (date(2024, 6, 1), date(2024, 6, 30)))
    assert bar.choices()["date"] == "Any date"           # days chosen belong to one search, not to habits

    with qtbot.assertNotEmitted(bar.changed, wait=200):    # cancelled: the days in use stay
        bar.date.setCurrentText(CHOOSE_DATES)
        qtbot.waitUntil(lambda: len(asked) == 2)
    assert asked[1] == (date(2024, 6, 1), date(2024, 6, 30))     # offered again to change
    assert bar.date.currentText() == "1–30 Jun 2024" and bar.options().dates == (date(2024, 6, 1), date(2024, 6, 30))

    with qtbot.waitSignal(bar.changed):
        bar.date.setCurrentText("Past month")
    assert (bar.options().date_preset, bar.options().dates) == ("Past month", None)
    narrow = bar.minimumWidth()
    with qtbot.waitSignal(bar.changed):
        bar.date.setCurrentText(CHOOSE_DATES)
    assert bar.date.currentText() == "20 Dec 2023 – 5 Jan 2024"       # in place of the days before, not beside
    assert [bar.date.itemText(i) for i in range(bar.date.count())] == \
        ["Any date", "Past week", "Past month", "Past year", "20 Dec 2023 – 5 Jan 2024", CHOOSE_DATES]
    assert bar.minimumWidth() > narrow and bar.date.sizeHint().width() >= \
        bar.date.fontMetrics().horizontalAdvance("20 Dec 2023 – 5 Jan 2024") > plain
    with qtbot.waitSignal(bar.changed):
        bar.date.setCurrentText("Past year")
    assert bar.date.sizeHint().width() == plain and bar.minimumWidth() == narrow


def test_the_dates_dialog_keeps_the_last_day_from_coming_before_the_first(qtbot, themed):
    from datetime import date

    from PySide6.QtCore import QDate

    from desktop_app.views.date_range_dialog import DateRangeDialog

    dialog = DateRangeDialog((date(2024, 6, 1), date(2024, 6, 30)))
    qtbot.addWidget(dialog)
    assert dialog.chosen() == (date(2024, 6, 1), date(2024, 6, 30))
    dialog.first.setDate(QDate(2024, 7, 10))
    assert dialog.chosen() == (date(2024, 7, 10), date(2024, 7, 10))
    dialog.last.setDate(QDate(2024, 5, 2))
    assert dialog.chosen() == (date(2024, 5, 2), date(2024, 5, 2))
    assert dialog.first.calendarPopup() and DateRangeDialog().chosen()[1] == date.today()


def test_a_narrow_filter_bar_puts_the_cut_off_on_a_row_of_its_own(qtbot, themed):
    bar = FilterBar()
    qtbot.addWidget(bar)
    bar.resize(1000, 90)
    bar.show()
    qtbot.waitUntil(lambda: bar.width() == 1000)
    assert not bar.cutoff_below

    def in_top_row(widget) -> bool:
        return widget.geometry().bottom() < bar.date.geometry().top()

    assert in_top_row(bar.per_video) and in_top_row(bar.sort)
    beside_height = bar.sizeHint().height()
    assert bar.minimumWidth() < 560          # the filters alone, not the filters and the cut-off side by side
    bar.resize(bar.minimumWidth(), 120)
    qtbot.waitUntil(lambda: bar.cutoff_below
                    and bar.cutoff.mapTo(bar, bar.cutoff.rect().topLeft()).y() > bar.date.geometry().bottom())
    assert bar.sizeHint().height() > beside_height
    assert all(w.width() >= w.sizeHint().width() for w in (bar.folder, bar.date, bar.duration))
    # The moments-or-videos box goes down with the cut-off, leaving the results' summary room beside the sort.
    assert bar.per_video.geometry().top() > bar.date.geometry().bottom() and in_top_row(bar.sort)
    bar.resize(1000, 90)
    qtbot.waitUntil(lambda: not bar.cutoff_below)
    qtbot.waitUntil(lambda: in_top_row(bar.per_video))


def test_the_score_cut_off_spans_the_scores_shown(qtbot, themed):
    bar = FilterBar()
    qtbot.addWidget(bar)
    assert bar.min_score() is None and bar.cutoff_label.text() == "Min. score: any"
    bar.note_scores([2.0, 0.5, -1.0])               # a model whose scores are not 0-1
    assert bar.score_span() == (-1.0, 2.0)
    bar.cutoff.setValue(100)
    assert bar.min_score() == 2.0 and bar.cutoff_label.text() == "Min. score: 2.00"
    bar.cutoff.setValue(50)
    assert bar.min_score() == 0.5
    with qtbot.assertNotEmitted(bar.changed):     # a wider span moves the handle, not the cut-off
        bar.note_scores([3.0, -4.0])
    assert bar.score_span() == (-4.0, 3.0) and bar.min_score() == 0.5 and bar.cutoff.value() == 64
    bar.note_scores([])
    assert bar.score_span() == (-4.0, 3.0)
    bar.use_scale("text")                           # another text search keeps the cut-off
    assert bar.min_score() == 0.5
    bar.note_scores([0.9, -0.4], "like")            # a late answer to another kind of search: its own span
    assert bar.score_span() == (-4.0, 3.0) and bar.cutoff.value() == 64
    bar.use_scale("like")                           # "find similar" scores on another scale: the cut-off is off
    assert bar.min_score() is None and bar.cutoff.value() == 0 and bar.score_span() == (-0.4, 0.9)
    bar.cutoff.setValue(100)
    assert bar.min_score() == 0.9
    bar.forget_scores()                             # another library or model
    assert bar.min_score() is None and bar.cutoff.value() == 0 and bar.score_span() == (0.0, 1.0)
    bar.note_scores([0.31], "like")                 # one result: a span around it
    assert bar.score_span() == (pytest.approx(-0.19), pytest.approx(0.81))


def test_elided_label_cuts_the_middle_to_fit_and_keeps_the_whole_text(qtbot, themed):
    path = "/home/someone/Videos/" + "/".join(["Family holiday in the mountains"] * 4) + "/GoPro"
    label = ElidedLabel(path)
    qtbot.addWidget(label)
    label.resize(200, 20)
    label.show()
    qtbot.waitExposed(label)
    shown = label.shown_text()
    assert "…" in shown and shown.startswith("/home") and shown.endswith("GoPro")
    assert label.fontMetrics().horizontalAdvance(shown) <= label.contentsRect().width()
    assert label.text() == path and label.toolTip() == path
    assert label.minimumSizeHint().width() == 0            # a long path never widens the panel holding it
    label.setText("/videos")
    assert label.shown_text() == "/videos" and label.toolTip() == ""
    label.setText(path)
    label.resize(label.fontMetrics().horizontalAdvance(path) + 20, 20)
    assert label.shown_text() == path and label.toolTip() == ""


def test_elided_label_cuts_the_part_it_is_told_first_and_keeps_the_rest(qtbot, themed):
    query = "a big green star staying still in the middle of a dark red field"
    text = f"60 moments for “{query}” · scroll for more"
    label = ElidedLabel()
    qtbot.addWidget(label)
    label.resize(label.fontMetrics().horizontalAdvance(text) // 2, 20)
    label.show()
    qtbot.waitExposed(label)
    label.setText(text, cuttable=query)
    shown = label.shown_text()
    assert shown.startswith("60 moments for “a big") and shown.endswith("…” · scroll for more"), shown
    assert label.fontMetrics().horizontalAdvance(shown) <= label.contentsRect().width()
    assert label.text() == text and label.toolTip() == text
    label.resize(label.fontMetrics().horizontalAdvance("60 moments for “a…” · scroll") , 20)
    assert "scroll for more" not in label.shown_text() and "…" in label.shown_text()   # too narrow: cut as usual
    hint = " · scroll for more"
    label.setText(text, cuttable=query, droppable=hint)     # a hint goes before the query is cut
    label.resize(label.fontMetrics().horizontalAdvance(text) - 10, 20)
    assert label.shown_text() == text.removesuffix(hint) and label.toolTip() == text
    label.resize(label.fontMetrics().horizontalAdvance(text) // 2, 20)
    shown = label.shown_text()
    assert shown.startswith("60 moments for “a big") and shown.endswith("…”") and hint not in shown, shown
    label.resize(label.fontMetrics().horizontalAdvance(text) + 10, 20)
    assert label.shown_text() == text and label.toolTip() == ""
    label.setText(text)                                   # without a part to cut, the middle goes
    label.resize(label.fontMetrics().horizontalAdvance(text) // 2, 20)
    assert label.shown_text().startswith("60 moments") and "dark red field” · scroll for more".endswith(
        label.shown_text().split("…")[-1])


def test_paths_and_queries_with_angle_brackets_show_as_typed_not_as_markup(qtbot, themed):
    from desktop_app.views.banner import Banner
    from desktop_app.views.player import PlayerPanel

    banner, bar, status, player = Banner(), FilterBar(), StatusArea(), PlayerPanel()
    for widget in (banner, bar, status, player):
        qtbot.addWidget(widget)
    for label in (banner.text, bar.summary, status.current, player.title):    # Qt guesses rich text otherwise
        label.setText("/v/<b>cat</b>.mp4")
        assert label.textFormat() == Qt.TextFormat.PlainText, label
        assert label.text() == "/v/<b>cat</b>.mp4"


def test_a_banner_s_button_does_what_its_message_leads_to_and_the_pointer_keeps_it(qtbot, themed):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QEnterEvent
    from PySide6.QtWidgets import QApplication

    from desktop_app.views.banner import Banner

    banner = Banner()
    qtbot.addWidget(banner)
    done = []
    banner.show_message("Exported to /out/a.mp4", action=("Show in folder", lambda: done.append("shown")))
    assert banner.isVisible() and banner.action_button.isVisible() and banner.action_button.text() == "Show in folder"
    banner.action_button.click()
    assert done == ["shown"] and not banner.isVisible()             # done, and the message goes
    banner.show_message("Indexing is running", "error")             # a message without one shows no button
    assert banner.isVisible() and banner.action_button.isHidden()
    banner.action_button.click()
    assert done == ["shown"]

    banner.show_message("Saved", seconds=0.3)
    QApplication.sendEvent(banner, QEnterEvent(QPointF(5, 5), QPointF(5, 5), QPointF(5, 5)))
    qtbot.wait(600)
    assert banner.isVisible()                                       # not while the pointer is over it
    QApplication.sendEvent(banner, QEvent(QEvent.Type.Leave))
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=5000)    # and some seconds after it left


def test_folder_filter_ticks_any_set_of_folders(qtbot, themed):
    from desktop_app.views.folder_filter import FolderFilter

    folders = FolderFilter()
    qtbot.addWidget(folders)
    folders.set_folders(["/v/Holidays", "/v/Work", "/w/Work"])
    menu = folders.menu()
    ticks = {a.toolTip() or a.text(): a for a in menu.actions() if not a.isSeparator()}
    assert list(ticks) == ["All folders", "/v/Holidays", "/v/Work", "/w/Work"] and ticks["All folders"].isChecked()
    assert folders.text() == "All folders" and folders.chosen() == ()

    menu.popup(folders.mapToGlobal(folders.rect().bottomLeft()))
    qtbot.waitExposed(menu)
    entries = menu.actions()
    for path in ("/w/Work", "/v/Holidays"):           # ticking one leaves the menu open, as it was, for the next
        with qtbot.waitSignal(folders.changed):
            qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(ticks[path]).center())
        assert menu.isVisible() and menu.actions() == entries
    assert folders.chosen() == ("/v/Holidays", "/w/Work") and folders.text() == "2 folders"
    assert not ticks["All folders"].isChecked()
    with qtbot.waitSignal(folders.changed):
        ticks["/v/Holidays"].trigger()
    assert folders.chosen() == ("/w/Work",) and folders.text() == "Work"
    with qtbot.waitSignal(folders.changed):
        ticks["All folders"].trigger()
    assert folders.chosen() == () and ticks["All folders"].isChecked() and not ticks["/w/Work"].isChecked()
    with qtbot.assertNotEmitted(folders.changed):     # "All folders" ticked again stays ticked, changes nothing
        ticks["All folders"].trigger()
    assert ticks["All folders"].isChecked()

    shown = menu.actions()
    with qtbot.assertNotEmitted(folders.changed):     # the same folders again (a refresh): the menu is left alone
        folders.set_folders(["/v/Holidays", "/v/Work", "/w/Work"])
    assert menu.actions() == shown

    folders.set_chosen(["/v/Work", "/w/Work"])
    with qtbot.waitSignal(folders.changed):           # one ticked folder left the library: the other stays
        folders.set_folders(["/v/Holidays", "/w/Work"])
    assert folders.chosen() == ("/w/Work",)
    menu.hide()


def test_folder_filter_lists_a_folder_inside_a_library_folder_once_asked_for(qtbot, themed):
    from desktop_app.views.folder_filter import FolderFilter

    folders = FolderFilter()
    qtbot.addWidget(folders)
    folders.set_folders(["/v/Holidays", "/w"])
    with qtbot.waitSignal(folders.changed):
        folders.set_chosen(["/v/Holidays/2024/Rome"])
    assert folders.chosen() == ("/v/Holidays/2024/Rome",) and folders.text() == "Holidays/2024/Rome"
    entries = {a.toolTip() or a.text(): a for a in folders.menu().actions() if a.text()}   # the section's too
    assert list(entries) == ["All folders", "/v/Holidays", "/w", "Inside them", "/v/Holidays/2024/Rome"]
    heading = entries["Inside them"].defaultWidget()     # drawn as a heading: Fusion's sections are a bare line
    assert heading.text() == "INSIDE THEM" and not entries["Inside them"].isEnabled()
    assert entries["/v/Holidays/2024/Rome"].isChecked() and not entries["/v/Holidays"].isChecked()
    assert entries["/v/Holidays/2024/Rome"].text() == "Holidays/2024/Rome"
    with qtbot.waitSignal(folders.changed):
        entries["/w"].trigger()                       # ticked beside a library folder
    assert folders.chosen() == ("/w", "/v/Holidays/2024/Rome") and folders.text() == "2 folders"
    with qtbot.waitSignal(folders.changed):
        folders.set_chosen(["/v/Holidays Old", "/elsewhere"])   # in no library folder: left out
    assert folders.chosen() == () and "/v/Holidays Old" not in [a.toolTip() for a in folders.menu().actions()]
    deep = "/v/Holidays/" + "a folder with a rather long name/" * 4 + "Rome"
    folders.set_chosen([deep])                        # a long name is cut short on the button, whole in its tip
    assert folders.label() == deep.replace("/v/", "", 1) and "…" in folders.text()
    assert folders.sizeHint().width() < 300 and folders.toolTip().endswith(f":\n{deep}")
    folders.set_chosen(["/v/Holidays/2024/Rome"])
    with qtbot.waitSignal(folders.changed):           # its library folder left: so does it
        folders.set_folders(["/w"])
    assert folders.chosen() == () and [a.text() for a in folders.menu().actions() if a.text()] == ["All folders", "w"]


def test_folder_filter_keeps_what_was_ticked_in_a_relocated_folder(qtbot, themed):
    from desktop_app.views.folder_filter import FolderFilter

    folders = FolderFilter()
    qtbot.addWidget(folders)
    folders.set_folders(["/v/Holidays", "/w"])
    folders.set_chosen(["/v/Holidays/2024", "/w"])
    emitted = []
    folders.changed.connect(lambda: emitted.append(folders.chosen()))
    folders.relocate("/v/Holidays", "/mnt/usb/Holidays")
    assert emitted == [("/w", "/mnt/usb/Holidays/2024")]          # once, with the new places
    assert [a.toolTip() for a in folders.menu().actions() if a.isCheckable()][1:] == \
        ["/mnt/usb/Holidays", "/w", "/mnt/usb/Holidays/2024"]
    folders.set_folders(["/mnt/usb/Holidays", "/w"])              # the library's own list, as the sidebar refreshes
    assert folders.chosen() == ("/w", "/mnt/usb/Holidays/2024") and len(emitted) == 1


def test_seek_bar_marks_range_and_seeks(qtbot, themed):
    bar = MomentSeekBar()
    qtbot.addWidget(bar)
    bar.resize(214, 22)
    bar.set_range(2000, 4000)
    bar.set_duration(10000)
    bar.show()
    with qtbot.waitSignal(bar.seek_requested) as seek:
        qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=QPoint(107, 11))
    assert abs(seek.args[0] - 5000) <= 100
    bar.grab()

    from PySide6.QtWidgets import QToolTip

    qtbot.mouseMove(bar, QPoint(160, 11))                # hovering says the time under the pointer
    qtbot.waitUntil(QToolTip.isVisible, timeout=2000)
    assert QToolTip.text() == "0:07" and bar.time_at(160) == (160 - 7) * 10000 // 200
    bar.setFocus()                                        # with focus, keys step and jump to the moment's ends
    bar.set_position(3000)
    pressed = []
    bar.seek_requested.connect(pressed.append)
    for key in (Qt.Key.Key_Right, Qt.Key.Key_Left, Qt.Key.Key_Home, Qt.Key.Key_End):
        qtbot.keyClick(bar, key)
    assert pressed == [8000, 0, 2000, 4000]
    bar.set_position(9000)
    qtbot.keyClick(bar, Qt.Key.Key_Right)
    assert pressed[-1] == 10000                           # not past the end


def test_export_file_name():
    from desktop_app.views.moment_menu import export_file_name

    assert export_file_name(Moment("/v/beach.mov", 72.4, 80.9, 0.1, None)) == "beach 1m12s-1m20s.mov"
    assert export_file_name(Moment("/v/old film.RMVB", 1.0, 4.0, 0.1, None)) == "old film 0m01s-0m04s.mp4"


def test_frame_file_name():
    from desktop_app.views.moment_menu import frame_file_name

    assert frame_file_name("/v/beach.mov", 3725.5) == "beach 62m05s.png"      # no colons, whatever the length


def test_export_targets_never_replace_a_file_or_each_other(tmp_path):
    from desktop_app.views.moment_menu import export_targets

    (tmp_path / "beach 0m12s-0m20s.mp4").write_bytes(b"mine")
    chosen = [Moment("/v/beach.mp4", 12, 20.5, 0.1, None), Moment("/w/beach.mp4", 12.2, 20.1, 0.1, None),
              Moment("/v/city.mkv", 0, 5, 0.1, None)]
    assert [p.name for p in export_targets(chosen, tmp_path)] == [
        "beach 0m12s-0m20s (2).mp4", "beach 0m12s-0m20s (3).mp4", "city 0m00s-0m05s.mkv"]
    assert all(p.parent == tmp_path for p in export_targets(chosen, tmp_path))


def test_copy_reference_puts_path_and_time_on_clipboard(qapp):
    from desktop_app.views.moment_menu import copy_reference, copy_references

    text = copy_reference(Moment("/v/beach.mp4", 12, 20.5, 0.1, None))
    assert text == "/v/beach.mp4 @ 0:12 – 0:21"       # whole seconds that cover the moment
    assert qapp.clipboard().text() == text
    copy_references([Moment("/v/a.mp4", 0, 2, 0.1, None), Moment("/v/b.mp4", 61, 65, 0.1, None)])
    assert qapp.clipboard().text() == "/v/a.mp4 @ 0:00 – 0:02\n/v/b.mp4 @ 1:01 – 1:05"


def test_recent_searches_pop_up_on_focus_and_enter_still_commits(qtbot, themed):
    from PySide6.QtWidgets import QLineEdit

    other = QLineEdit()
    field = SearchField()
    qtbot.addWidget(other)
    qtbot.addWidget(field)
    field.set_recent(["red ball", "blue square"])
    other.show()
    field.show()
    other.setFocus()
    field.setFocus()
    qtbot.waitUntil(lambda: field.completer().popup().isVisible(), timeout=2000)
    qtbot.keyClicks(field, "green")
    with qtbot.waitSignal(field.search_requested) as entered:
        qtbot.keyClick(field, Qt.Key.Key_Return)
    assert entered.args == ["green", True]
    field.completer().popup().hide()
    with qtbot.waitSignal(field.leave_down):
        qtbot.keyClick(field, Qt.Key.Key_Down)
    field.completer().popup().hide()
    with qtbot.waitSignal(field.search_requested, timeout=PAUSE_MS + 1000) as emptied:
        qtbot.keyClick(field, Qt.Key.Key_Escape)        # Esc empties the field, and the results go with it
    assert field.text() == "" and emptied.args == ["", False]


def test_context_menu_actions(qtbot, themed):
    from PySide6.QtWidgets import QWidget

    from desktop_app.views.moment_menu import MomentActions

    host = QWidget()
    qtbot.addWidget(host)
    actions = MomentActions()
    moment = Moment("/v/beach.mp4", 12, 20.5, 0.1, None)
    menu = actions.menu(moment, host)
    labels = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert labels == ["Play", "Open in player", "Show in file manager", "Copy path and time",
                      "Find similar moments", "Search only in “v”", "Search only in this video",
                      "Export moment as video…"]
    for label, signal in (("Play", actions.play), ("Open in player", actions.open),
                          ("Find similar moments", actions.similar),
                          ("Export moment as video…", actions.export)):
        with qtbot.waitSignal(signal) as blocker:
            next(a for a in menu.actions() if a.text() == label).trigger()
        assert blocker.args == [moment]
    with qtbot.waitSignal(actions.search_in) as blocker:
        next(a for a in menu.actions() if a.text() == "Search only in “v”").trigger()
    assert blocker.args == ["/v"]
    with qtbot.waitSignal(actions.search_in_video) as blocker:
        next(a for a in menu.actions() if a.text() == "Search only in this video").trigger()
    assert blocker.args == ["/v/beach.mp4"]

    chosen = [moment, Moment("/v/city.mkv", 0, 5, 0.2, None)]
    menu = actions.selection_menu(chosen, host)
    labels = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert labels == ["Copy 2 paths and times", "Find moments like these", "Export 2 moments as videos…"]
    for label, signal in (("Find moments like these", actions.similar_many),
                          ("Export 2 moments as videos…", actions.export_many)):
        with qtbot.waitSignal(signal) as blocker:
            next(a for a in menu.actions() if a.text() == label).trigger()
        assert blocker.args == [chosen]


def test_focused_buttons_claim_space_and_combo_boxes_their_letters_but_not_commands(qapp):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QComboBox, QPushButton, QSlider

    from desktop_app.views.focused_keys import widget_takes_key

    def key(code, text="", modifiers=Qt.KeyboardModifier.NoModifier):
        return QKeyEvent(QEvent.Type.ShortcutOverride, code, modifiers, text)

    space, m = key(Qt.Key.Key_Space, " "), key(Qt.Key.Key_M, "m")
    combo, editable = QComboBox(), QComboBox()
    editable.setEditable(True)
    assert widget_takes_key(QPushButton(), space) and not widget_takes_key(QPushButton(), m)
    assert widget_takes_key(combo, space) and widget_takes_key(combo, m)
    assert not widget_takes_key(combo, key(Qt.Key.Key_M, "m", Qt.KeyboardModifier.ControlModifier))
    assert not widget_takes_key(combo, key(Qt.Key.Key_F1))
    assert not widget_takes_key(editable, m)          # its line edit claims keys by itself
    assert not widget_takes_key(QSlider(), space)
