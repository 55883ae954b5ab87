"""The main window: wires the views to the Library through the adapter and the workers."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QPixmapCache, QShortcut
from PySide6.QtWidgets import (QApplication, QFileDialog, QHBoxLayout, QLabel, QMainWindow,
                               QSplitter, QStackedWidget, QToolButton, QVBoxLayout, QWidget)

from desktop_app import theme
from desktop_app.external_players import SYSTEM_DEFAULT, chosen_player, find_players
from desktop_app.folder_watching import FolderWatching
from desktop_app.formatting import (SCROLL_HINT, clock, counted, export_report, file_gone, folder_name,
                                   library_summary, like_subject, moment_title, progress_fraction, results_summary,
                                   time_range)
from desktop_app.models import FoldersModel, ProblemsModel, ResultsModel
from desktop_app.models.folder_paths import is_inside
from desktop_app.models.results_model import moment_key
from desktop_app.models.search_options import RecentSearches, SearchRequest
from desktop_app.models.search_trail import ResultsPlace, SearchTrail
from desktop_app.qt_adapter import LibraryEvents
from desktop_app.views.banner import Banner
from desktop_app.views.filter_bar import FilterBar
from desktop_app.views.focused_keys import FocusedKeys
from desktop_app.views.moment_menu import (MomentActions, copy_references, export_file_name, export_targets,
                                          open_with_system, reveal_in_file_manager)
from desktop_app.views.player import STEP_SECONDS, PlayerPanel
from desktop_app.views.problems import ProblemsView
from desktop_app.views.results_grid import ResultsGrid
from desktop_app.views.search_field import (QUERY_FILES, SearchField, dropped_image, dropped_video, is_image,
                                             is_video)
from desktop_app.views.settings_dialog import SettingsDialog, ask_user
from desktop_app.views.shortcuts_dialog import ShortcutsDialog
from desktop_app.views.sidebar import Sidebar
from desktop_app.views.status_bar import StatusArea
from desktop_app.views.trail_buttons import TrailButtons
from desktop_app.views.welcome import WelcomePage
from desktop_app.workers import IndexWorker, SearchWorker, TaskRunner, user_message
from engine.api.types import FolderInfo, Moment

if TYPE_CHECKING:
    from engine.api import Library
    from engine.indexer.watch import FolderWatcher

RECENT_KEY = "search/recent"
DEMONSTRATION_NOTE = ("The built-in model is a demonstration that knows only the demo's coloured shapes: it will not "
                      "find moments in your own videos. Install a pretrained CLIP in Settings › Models.")
ALERT_AFTER_SECONDS = 30   # an indexing this long, ended while the window was in the background, asks for attention
PREVIEW_STILLS = 8         # stills across a moment that hovering over its card scrubs through
LAST_LIBRARY_KEY = "library/last"
THEME_KEY = "appearance/theme"
GEOMETRY_KEY = "window/geometry"
SPLITTER_KEYS = {"main_splitter": "window/sidebar", "results_splitter": "window/player"}
SEARCH_CHOICES_KEY = "search/choices"
CARD_WIDTH_KEY = "results/card_width"
VOLUME_KEY = "player/volume"
MUTED_KEY = "player/muted"
EXTERNAL_PLAYER_KEY = "player/external"


class MainWindow(QMainWindow):
    """``MainWindow(library, prefs=None, create_demo=None, open_own_library=None)``.

    ``create_demo(on_stage) -> Library`` makes the demo videos and opens the demo library with
    its folder added (on a worker thread); the window then indexes it. ``open_own_library() -> Library`` opens
    the user's own library (on a worker thread), to leave the demo for: "Open my library" on the demo's card, and a
    folder added while the demo is shown goes there. Signals: ``library_refreshed()`` after folders/problems/status were reloaded,
    ``results_shown(int)`` after a search's results are in the grid, ``indexing_finished(object)``.
    """

    library_refreshed = Signal()
    results_shown = Signal(int)
    indexing_finished = Signal(object)

    def __init__(self, library: "Library", prefs: QSettings | None = None,
                 create_demo: Callable[..., "Library"] | None = None,
                 open_own_library: Callable[[], "Library"] | None = None) -> None:
        super().__init__()
        self.prefs = prefs or QSettings("ClipSeek", "ClipSeek")
        self._create_demo = create_demo
        self._open_own_library = open_own_library
        self._showing_demo = False             # the library shown is a demo library (LibraryStatus.demo)
        self.confirm: Callable[[str, str], bool] = lambda title, text: ask_user(self, title, text)
        self.choose_folder: Callable[[str, str], str] = \
            lambda title, start: QFileDialog.getExistingDirectory(self, title, start)
        self.choose_query_file: Callable[[], str] = lambda: QFileDialog.getOpenFileName(
            self, "Search with an image or a video", "", QUERY_FILES)[0]
        self.setWindowTitle("ClipSeek")
        self.setWindowIcon(theme.logo(64))
        self.setAcceptDrops(True)
        self.resize(1320, 840)

        QPixmapCache.setCacheLimit(96 * 1024)   # KB: a full page of result thumbnails stays decoded
        self.runner = TaskRunner(max_threads=2, parent=self)
        self.previews = TaskRunner(max_threads=1, parent=self)
        # Copies of moments the player cannot show take seconds each: on their own thread, hover stills go on.
        self.copies = TaskRunner(max_threads=1, parent=self)
        self.results_model = ResultsModel(self)
        self.folders_model = FoldersModel(self)
        self.problems_model = ProblemsModel(self)
        self.recent = RecentSearches([str(q) for q in (self.prefs.value(RECENT_KEY, []) or [])])
        self.moment_actions = MomentActions(self)
        self.find_players = find_players        # replaceable, so tests choose which players are installed
        self.index_worker: IndexWorker | None = None
        self._index_again = False
        self._again_in: set[str] | None = None      # the folders to look in then (None: every folder)
        self._index_started_at = 0.0
        self._demonstration_model = False      # the library's model knows only a synthetic world (the shapes demo)
        self._serial = 0
        self._place_to_restore: tuple[int, ResultsPlace] | None = None   # (serial, place) of a search gone back to
        self._last_request: SearchRequest | None = None
        self._shown_request: SearchRequest | None = None   # the search whose results are in the grid
        self._closing = False
        self.restore_catalog_of: Path | None = None     # closed to put back the kept copy of this library's catalog
        self._has_folders = False
        self._folder_edits = 0                 # folders added, located or removed: refreshes read before are stale

        self._build()
        self._restore_layout()
        self._connect_views()
        self.library: "Library" | None = None
        self.events: LibraryEvents | None = None
        self.search_worker: SearchWorker | None = None
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(400)
        self._refresh_timer.timeout.connect(self.refresh_library)
        self.watching = FolderWatching(self.runner, self._reachable_folders_shown, self._show_error, self)
        self.watching.settled.connect(self.start_indexing)
        self.watching.folders_changed.connect(lambda then_index: self.refresh_library(then_index=then_index))
        self.set_library(library)

    # === construction ============================================================================
    def _build(self) -> None:
        self.search_field = SearchField()
        self.search_field.set_recent(self.recent.items())
        self.trail = SearchTrail()
        self.trail_buttons = TrailButtons()
        self.settings_button = QToolButton()
        self.settings_button.setToolTip("Settings (Ctrl+,)")
        self.settings_button.setAccessibleName("Settings")
        self.shortcuts_button = QToolButton()
        self.shortcuts_button.setToolTip("Keyboard shortcuts (F1)")
        self.shortcuts_button.setAccessibleName("Keyboard shortcuts")
        logo = QLabel()
        logo.setPixmap(theme.logo(28))
        title = QLabel("ClipSeek")
        title.setObjectName("AppTitle")
        top = QWidget()
        top.setObjectName("TopBar")
        top.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(16, 10, 12, 10)
        top_layout.setSpacing(10)
        top_layout.addWidget(logo)
        top_layout.addWidget(title)
        top_layout.addSpacing(16)
        top_layout.addWidget(self.trail_buttons)
        top_layout.addWidget(self.search_field, 1)
        top_layout.addSpacing(24)
        top_layout.addWidget(self.shortcuts_button)
        top_layout.addWidget(self.settings_button)

        self.sidebar = Sidebar(self.folders_model)
        self.filter_bar = FilterBar()
        self.grid = ResultsGrid(self.results_model)
        self.grid.setAccessibleName("Results")
        self.empty_title = QLabel("")
        self.empty_title.setObjectName("EmptyTitle")
        self.empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text = QLabel("")
        self.empty_text.setObjectName("EmptyState")
        self.empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text.setWordWrap(True)
        self.empty_text.setMaximumWidth(440)
        self.empty_icon = QLabel()
        self.empty_icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty = QWidget()
        empty_layout = QVBoxLayout(empty)
        empty_layout.addStretch(1)
        empty_layout.addWidget(self.empty_icon)
        empty_layout.addWidget(self.empty_title)
        # Centred by stretches, not by an alignment: an aligned label gets its size hint's width and is cut
        # short below; between stretches it takes up to its maximum width and the height its lines need.
        text_row = QHBoxLayout()
        text_row.addStretch(1)
        text_row.addWidget(self.empty_text, 100)
        text_row.addStretch(1)
        empty_layout.addLayout(text_row)
        empty_layout.addStretch(2)
        self.results_stack = QStackedWidget()
        self.results_stack.addWidget(empty)
        self.results_stack.addWidget(self.grid)
        results_page = QWidget()
        results_layout = QVBoxLayout(results_page)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.setSpacing(0)
        results_layout.addWidget(self.filter_bar)
        results_layout.addWidget(self.results_stack, 1)

        self.player = PlayerPanel()
        self.results_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.results_splitter.addWidget(results_page)
        self.results_splitter.addWidget(self.player)
        self.results_splitter.setStretchFactor(0, 3)
        self.results_splitter.setStretchFactor(1, 2)
        self.results_splitter.setSizes([740, 420])
        self.results_splitter.setHandleWidth(1)

        self.problems_view = ProblemsView(self.problems_model)
        self.content = QStackedWidget()
        self.content.addWidget(self.results_splitter)
        self.content.addWidget(self.problems_view)
        self.banner = Banner()
        banner_host = QWidget()
        banner_layout = QVBoxLayout(banner_host)
        banner_layout.setContentsMargins(12, 8, 12, 0)
        banner_layout.addWidget(self.banner)
        banner_host.setVisible(False)
        self.banner.visibility_changed.connect(banner_host.setVisible)

        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.addWidget(self.sidebar)
        self.main_splitter.addWidget(self.content)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setSizes([260, 1100])
        self.main_splitter.setHandleWidth(1)

        self.welcome = WelcomePage()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.welcome)
        self.pages.addWidget(self.main_splitter)

        self.status_area = StatusArea()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(top)
        layout.addWidget(banner_host)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.status_area)
        self.setCentralWidget(central)
        self.filter_bar.setVisible(False)
        self.refresh_icons()
        self._show_empty("Search your videos", "Type what you are looking for above, or drop an image or a short "
                         "video on the search field to find moments that look like it.", "search")

    def _restore_layout(self) -> None:
        """The size, place, panel widths and search choices the window had when it was last closed."""
        geometry = self.prefs.value(GEOMETRY_KEY)
        if geometry:
            self.restoreGeometry(geometry)
        for name, key in SPLITTER_KEYS.items():
            state = self.prefs.value(key)
            if state:
                getattr(self, name).restoreState(state)
        self.filter_bar.set_choices(self.prefs.value(SEARCH_CHOICES_KEY) or {})
        try:
            self.grid.set_card_width(int(self.prefs.value(CARD_WIDTH_KEY, self.grid.min_card_width)))
        except (TypeError, ValueError):
            pass            # a hand-edited settings file: the default size stays
        volume, muted = self.player.sound()
        try:
            volume = float(self.prefs.value(VOLUME_KEY, volume))
        except (TypeError, ValueError):
            pass
        # QSettings' INI files give back "true"/"false" as text.
        self.player.set_sound(volume, str(self.prefs.value(MUTED_KEY, muted)).lower() in ("true", "1"))

    def _save_layout(self) -> None:
        self.prefs.setValue(GEOMETRY_KEY, self.saveGeometry())
        for name, key in SPLITTER_KEYS.items():
            self.prefs.setValue(key, getattr(self, name).saveState())
        self.prefs.setValue(SEARCH_CHOICES_KEY, self.filter_bar.choices())
        self.prefs.setValue(CARD_WIDTH_KEY, self.grid.min_card_width)
        volume, muted = self.player.sound()
        self.prefs.setValue(VOLUME_KEY, volume)
        self.prefs.setValue(MUTED_KEY, muted)

    def _connect_views(self) -> None:
        self.search_field.search_requested.connect(self._on_search_requested)
        self.search_field.image_dropped.connect(self.search_image)
        self.search_field.video_dropped.connect(self.search_video)
        self.search_field.file_wanted.connect(self._ask_query_file)
        self.search_field.moments_dropped.connect(self.find_similar)
        self.search_field.leave_down.connect(self._focus_results)
        self.trail_buttons.back.connect(self.go_back)
        self.trail_buttons.forward.connect(self.go_forward)
        self.grid.viewport().installEventFilter(self)
        self.settings_button.clicked.connect(self.open_settings)
        self.shortcuts_button.clicked.connect(self.show_shortcuts)
        self.filter_bar.changed.connect(self._rerun_search)
        self.grid.moment_selected.connect(self.player.play_moment)
        self.grid.moment_activated.connect(self.player.play_moment)
        self.grid.preview_wanted.connect(self._load_preview)
        self.grid.context_menu_wanted.connect(self._show_moment_menu)
        self.grid.selection_menu_wanted.connect(self._show_selection_menu)
        self.grid.end_reached.connect(self._more_results)
        self.moment_actions.play.connect(self.player.play_moment)
        self.moment_actions.open.connect(self.open_in_player)
        self.moment_actions.similar.connect(self.find_similar)
        self.moment_actions.export.connect(self._ask_export)
        self.moment_actions.export_many.connect(self._ask_export_many)
        self.moment_actions.similar_many.connect(self.find_similar)
        self.moment_actions.search_in.connect(self.search_in_folder)
        self.moment_actions.search_in_video.connect(self.search_in_video)
        self.player.error.connect(lambda message: self.banner.show_message(message, "error"))
        self.player.cannot_play.connect(self._on_cannot_play)
        self.player.action_requested.connect(self._on_player_action)
        self.player.copy_wanted.connect(self._make_playable_copy)
        self.sidebar.add_requested.connect(self._ask_add_folder)
        self.sidebar.remove_requested.connect(self.remove_folder)
        self.sidebar.locate_requested.connect(self._ask_locate_folder)
        self.sidebar.reveal_requested.connect(reveal_in_file_manager)
        self.sidebar.search_in_requested.connect(self.search_in_folder)
        self.sidebar.search_inside_requested.connect(self._ask_search_inside)
        self.sidebar.rescan_requested.connect(self.start_indexing)
        self.sidebar.rescan_folder_requested.connect(lambda path: self.start_indexing(folders=[path]))
        self.sidebar.problems_toggled.connect(self._on_problems_toggled)
        self.sidebar.own_library_requested.connect(self.open_own_library)
        self.problems_view.retry_requested.connect(self.retry)
        self.problems_view.leave_out_requested.connect(self.leave_out)
        self.status_area.pause_requested.connect(self.pause_indexing)
        self.status_area.resume_requested.connect(self.resume_indexing)
        self.status_area.cancel_requested.connect(self.cancel_indexing)
        self.welcome.add_folder_requested.connect(self._ask_add_folder)
        self.welcome.demo_requested.connect(self.open_demo_library)
        self.focused_keys = FocusedKeys(self)     # a focused button keeps Space, a combo box its letters
        QShortcut(QKeySequence.StandardKey.Find, self, activated=self._focus_search)
        QShortcut(QKeySequence("Ctrl+L"), self, activated=self._focus_search)
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, activated=self._on_space)
        QShortcut(QKeySequence("Ctrl+,"), self, activated=self.open_settings)
        QShortcut(QKeySequence.StandardKey.Back, self, activated=self.go_back)
        QShortcut(QKeySequence.StandardKey.Forward, self, activated=self.go_forward)
        QShortcut(QKeySequence(Qt.Key.Key_M), self, activated=self.player.toggle_mute)
        QShortcut(QKeySequence(Qt.Key.Key_F), self, activated=self.player.toggle_full_screen)
        QShortcut(QKeySequence(Qt.Key.Key_Comma), self, activated=lambda: self.player.step_frame(-1))
        QShortcut(QKeySequence(Qt.Key.Key_Period), self, activated=lambda: self.player.step_frame(1))
        QShortcut(QKeySequence.StandardKey.HelpContents, self, activated=self.show_shortcuts)
        QShortcut(QKeySequence("?"), self, activated=self.show_shortcuts)
        QShortcut(QKeySequence(Qt.Key.Key_J), self, activated=lambda: self.player.step(-STEP_SECONDS))
        QShortcut(QKeySequence(Qt.Key.Key_L), self, activated=lambda: self.player.step(STEP_SECONDS))
        QShortcut(QKeySequence.StandardKey.Copy, self.grid, context=Qt.ShortcutContext.WidgetShortcut,
                  activated=self._copy_selected)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if not self._mouse_back_or_forward(event):
            super().mousePressEvent(event)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        # The results grid takes every button it is pressed with; the mouse's back and forward buttons still go
        # through the searches over it.
        if event.type() == QEvent.Type.MouseButtonPress and self._mouse_back_or_forward(event):
            return True
        return super().eventFilter(watched, event)

    def _mouse_back_or_forward(self, event) -> bool:
        if event.button() == Qt.MouseButton.BackButton:
            self.go_back()
        elif event.button() == Qt.MouseButton.ForwardButton:
            self.go_forward()
        else:
            return False
        return True

    def refresh_icons(self) -> None:
        self.settings_button.setIcon(theme.icon("settings", size=20))
        self.shortcuts_button.setIcon(theme.icon("keyboard", size=20))
        for view in (self.sidebar, self.status_area, self.player, self.welcome, self.problems_view,
                     self.search_field, self.filter_bar, self.trail_buttons):
            view.refresh_icons()
        self.grid.viewport().update()

    # === library lifecycle =======================================================================
    def set_library(self, library: "Library") -> None:
        """Point every view at ``library`` (the previous one is closed by the caller)."""
        if self.events is not None:
            self.events.close()
            self.events.deleteLater()
        if self.search_worker is not None:
            self.search_worker.wait()
            self.search_worker.deleteLater()
        self.watching.use_library(library)
        self.library = library
        self.events = LibraryEvents(library, self)
        self.events.folders_changed.connect(self._schedule_refresh)
        self.events.file_done.connect(lambda *_: self._schedule_refresh())
        self.events.notice.connect(lambda text: self.banner.show_message(text))
        if library.notices:     # said while the library opened, before anyone listened
            self.banner.show_message(library.notices[-1])
        self.search_worker = SearchWorker(library, self)
        self.search_worker.results.connect(self._on_results)
        self.search_worker.failed.connect(self._on_search_failed)
        self._last_request = self._shown_request = None
        self.trail = SearchTrail()          # its searches name the moments of the library before
        self._show_trail()
        self.results_model.clear()
        self.filter_bar.forget_scores()
        self.player.stop()
        self._show_title()
        self.prefs.setValue(LAST_LIBRARY_KEY, str(library.path))
        self.runner.run(library.prepare, None, self._show_error)   # the first search then starts at once
        self.refresh_library(then_index=True)

    def refresh_library(self, then_index: bool = False) -> None:
        """Reload folders, problems and totals on a worker; optionally start indexing after."""
        if self._closing or self.library is None:
            return
        library = self.library
        edits = self._folder_edits

        def load():
            return library.folders(), library.problems(), library.status()

        def show(loaded) -> None:
            if library is not self.library:
                return
            if edits != self._folder_edits:
                # Read before a folder was added, located or removed (the watcher's refresh after a rename, say):
                # shown, it would put the old folders back, and untick a located folder in the folder filter.
                if then_index:
                    self.refresh_library(then_index=True)
                return
            folders, problems, status = loaded
            self.folders_model.set_folders(folders)
            self.problems_model.set_problems(problems)
            self.sidebar.set_problem_count(len(problems))
            self.filter_bar.set_folders([f.path for f in folders])
            self._has_folders = bool(folders)
            self._show_page()
            self._demonstration_model = status.model_trained_only_on is not None
            self._showing_demo = status.demo
            self.sidebar.show_demo_card(status.demo, can_leave=self._open_own_library is not None)
            self.status_area.set_idle_detail(library_summary(status.files.get("indexed", 0),
                                                             status.hours_indexed * 3600, status.model,
                                                             self._demonstration_model))
            self.welcome.set_model_note(DEMONSTRATION_NOTE if self._demonstration_model else None)
            self.watching.watch(self._reachable_folders_shown())
            self.library_refreshed.emit()
            if then_index and folders:
                self.start_indexing()

        self.runner.run(load, show, self._show_error)

    def _schedule_refresh(self) -> None:
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    @property
    def watcher(self) -> "FolderWatcher | None":
        """The watcher of the library's folders, while they are watched."""
        return self.watching.watcher

    def _reachable_folders_shown(self) -> list[str]:
        return sorted(f.path for f in self.folders_model.folders() if f.state != "missing")

    def _show_page(self) -> None:
        self.pages.setCurrentWidget(self.main_splitter if self._has_folders else self.welcome)

    # === folders =================================================================================
    def _ask_add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of videos")
        if folder:
            self.add_folder(folder)

    def add_folder(self, path: str | Path) -> None:
        if self._showing_demo and self._open_own_library is not None:
            self._add_folder_to_own_library(path)
            return
        library = self.library
        self.runner.run(lambda: library.add_folder(path), lambda _info: self._after_folder_added(announce=True),
                        self._show_error, owner=self)

    def _add_folder_to_own_library(self, path: str | Path) -> None:
        """A folder added while the demo is shown: the user's videos go into their own library, which opens."""
        open_own = self._open_own_library

        def open_and_add():
            library = open_own()
            try:
                info = library.add_folder(path)
                demonstration = library.status().model_trained_only_on is not None
            except BaseException:
                library.close()
                raise
            return library, info, demonstration

        def added(opened) -> None:
            library, info, demonstration = opened
            self._switch_to_library(library)
            message = f"Your library is open, with {folder_name(info.path)} added to it; the demo stays as it is."
            if demonstration:
                self.banner.show_message(f"{message} {DEMONSTRATION_NOTE}", seconds=20,
                                         action=("Choose a model…", lambda: self.open_settings().show_models()))
            else:
                self.banner.show_message(message)

        self.runner.run(open_and_add, added, self._show_error, owner=self)

    def open_own_library(self) -> None:
        """Leave the demo for the user's own library; the demo library stays as it is."""
        if self._open_own_library is None:
            return
        self.sidebar.own_library_button.setEnabled(False)

        def failed(message: str) -> None:
            self.sidebar.own_library_button.setEnabled(True)
            self._show_error(message)

        self.runner.run(self._open_own_library, self._switch_to_library, failed)

    def _after_folder_added(self, announce: bool = False) -> None:
        self._folder_edits += 1
        if announce and self._demonstration_model:
            self.banner.show_message(DEMONSTRATION_NOTE, seconds=20,
                                     action=("Choose a model…", lambda: self.open_settings().show_models()))
        self._has_folders = True
        self._show_page()
        self.refresh_library()
        self.start_indexing()

    def _ask_locate_folder(self, path: str) -> None:
        start = next((str(p) for p in Path(path).parents if p.is_dir()), str(Path.home()))
        picked = self.choose_folder(f"Where is the folder {folder_name(path)} now?", start)
        if picked:
            self.relocate_folder(path, picked)

    def relocate_folder(self, path: str, new_path: str | Path) -> None:
        """The library folder ``path`` is ``new_path`` now: its videos keep their moments; then what changed there
        is indexed."""
        if self.indexing:
            self._show_indexing_in_the_way("locate the folder")
            return
        library = self.library
        self.runner.run(lambda: library.relocate_folder(path, new_path), lambda info: self._after_relocating(path, info),
                        self._show_error, owner=self)

    def _after_relocating(self, path: str, info: FolderInfo) -> None:
        self.filter_bar.folder.relocate(path, info.path)
        # The searches of the trail name the folder's moments by their paths: they take the new ones, and the
        # results shown are shown again from there, with the same cards current and selected.
        self._note_place()
        showing = self._shown_request is not None and self._shown_request is self._last_request
        self.trail.relocate(path, info.path)
        if showing:
            self._revisit(self.trail.shown())
        self._after_folder_added()

    def _show_indexing_in_the_way(self, then: str) -> None:
        self.banner.show_message(f"Indexing is running: cancel it first, then {then}.", "error",
                                 action=("Cancel indexing", self.cancel_indexing))

    def remove_folder(self, path: str) -> None:
        if self.indexing:
            self._show_indexing_in_the_way("remove the folder")
            return
        if not self.confirm("Remove folder?", f"Remove {path} from the library? The videos stay on disk; "
                                              "only their index entries are deleted."):
            return
        library = self.library
        self.runner.run(lambda: library.remove_folder(path), lambda _r: self._after_folder_removed(), self._show_error,
                        owner=self)

    def _after_folder_removed(self) -> None:
        self._folder_edits += 1
        self.refresh_library()

    # Folders dropped on the window are added; an image or a video file dropped on it is a query, as on the field.
    def dragEnterEvent(self, event) -> None:
        mime = event.mimeData()
        if any(url.isLocalFile() and os.path.isdir(url.toLocalFile()) for url in mime.urls()) \
                or dropped_image(mime) is not None or dropped_video(mime) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        mime = event.mimeData()
        folders = [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and os.path.isdir(url.toLocalFile())]
        image, video = dropped_image(mime), dropped_video(mime)
        if folders:
            for folder in folders:
                self.add_folder(folder)
        elif image is None and video is None:
            return
        elif not self._has_folders:
            self.banner.show_message("Add a folder of videos first: then an image or a video dropped here finds "
                                     "the moments that look like it.")
        elif image is not None:
            self.search_image(image)
        elif video is not None:
            self.search_video(video)
        event.acceptProposedAction()

    def retry(self, file_ids: list[int]) -> None:
        library = self.library
        self.runner.run(lambda: library.retry(file_ids or None),
                        lambda _n: (self.refresh_library(), self.start_indexing()), self._show_error)

    def leave_out(self, paths: list[str]) -> None:
        """Leave these files out of the library from now on (Settings › Indexing › Leave out lists them)."""
        library = self.library
        names = ", ".join(os.path.basename(p) for p in paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3
                                                                     else "")

        def done(patterns: list[str]) -> None:
            self._left_out_changed()
            self.banner.show_message(f"Left out of the library: {names}. Settings › Indexing › Leave out lists "
                                     f"{'it' if len(paths) == 1 else 'them'}.",
                                     action=("Undo", lambda: self._take_back_left_out(library, patterns)))
        self.runner.run(lambda: library.leave_out(paths), done, self._show_error)

    def _take_back_left_out(self, library, patterns: list[str]) -> None:
        self.runner.run(lambda: library.take_back_left_out(patterns), lambda _none: self._left_out_changed(),
                        self._show_error)

    def _left_out_changed(self) -> None:
        self.watching.stop()       # it ignores the old patterns; the refresh starts one with the new
        self.start_indexing()      # what is left out now leaves the library, what no longer is comes in
        self.refresh_library()     # also turns watching on or off

    # === indexing ================================================================================
    @property
    def indexing(self) -> bool:
        return self.index_worker is not None and self.index_worker.isRunning()

    def start_indexing(self, folders: list[str] | None = None) -> None:
        """Look for what changed in every library folder (or only in ``folders``) and index it; while a run is
        going, those folders are looked at again once it ends (with those of other calls meanwhile)."""
        if self._closing or self.library is None:
            return
        if self.index_worker is not None:
            if not self._index_again:
                self._again_in = None if folders is None else set(folders)
            elif self._again_in is not None:
                self._again_in = None if folders is None else self._again_in | set(folders)
            self._index_again = True
            return
        worker = IndexWorker(self.library, self, folders=folders)
        worker.progressed.connect(self.status_area.show_progress)
        worker.progressed.connect(self._show_title)
        worker.finished_with.connect(self._on_index_finished)
        worker.failed.connect(self._on_index_failed)
        worker.finished.connect(self._on_index_thread_done)
        self.index_worker = worker
        self._index_again = False
        self._index_started_at = time.monotonic()
        self.status_area.set_paused(False)
        worker.start()

    def pause_indexing(self) -> None:
        if self.index_worker is not None:
            self.index_worker.pause()
            self.status_area.set_paused(True)

    def resume_indexing(self) -> None:
        if self.index_worker is not None:
            self.index_worker.resume()
            self.status_area.set_paused(False)

    def cancel_indexing(self) -> None:
        if self.index_worker is not None:
            self._index_again = False
            self.index_worker.cancel()
            self.status_area.title.setText("Stopping…")

    def _show_title(self, progress=None) -> None:
        """The library's path; while indexing, the share done first, so a taskbar or window list shows it."""
        if self.library is None:            # closing: the library has gone, the window goes next
            return
        title = f"ClipSeek — {self.library.path}"
        if progress is not None and progress.state in ("running", "paused"):
            share = f"{int(progress_fraction(progress) * 100)} %"
            title = f"{share} indexed{' (paused)' if progress.state == 'paused' else ''} — {title}"
        self.setWindowTitle(title)

    def _on_index_finished(self, progress) -> None:
        self._show_title()
        state = getattr(progress, "state", "done")
        self.status_area.show_idle("Indexing stopped — it continues next time" if state == "cancelled"
                                   else "Library up to date")
        self.refresh_library()
        if state == "done" and time.monotonic() - self._index_started_at >= ALERT_AFTER_SECONDS:
            self._alert()
        self.indexing_finished.emit(progress)

    def _on_index_failed(self, message: str) -> None:
        self._show_title()
        self.status_area.show_idle("Indexing stopped")
        self._show_error(message)
        self._alert()
        self.indexing_finished.emit(None)

    def _alert(self) -> None:
        """The taskbar's entry asks for attention (flashes, bounces) when the window is in the background: a long
        indexing ended, or stopped on an error."""
        if not self.isActiveWindow():
            QApplication.alert(self)

    def _on_index_thread_done(self) -> None:
        worker, self.index_worker = self.index_worker, None
        if worker is not None:
            worker.deleteLater()
        if self._index_again and not self._closing:
            self.start_indexing(None if self._again_in is None else sorted(self._again_in))

    # === search ==================================================================================
    def _focus_search(self) -> None:
        self.search_field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_field.selectAll()

    def _focus_results(self) -> None:
        if self.results_model.rowCount():
            self.grid.setFocus(Qt.FocusReason.TabFocusReason)
            if not self.grid.currentIndex().isValid():
                self.grid.setCurrentIndex(self.results_model.index(0))

    def _on_search_requested(self, text: str, committed: bool) -> None:
        if not text:
            self._last_request = self._shown_request = None
            self.trail.leave()
            self._show_trail()
            self.filter_bar.setVisible(False)
            self.results_model.clear()
            self._show_empty("Search your videos", "Type what you are looking for above.", "search")
            return
        if committed:
            self.recent.add(text)
            self.prefs.setValue(RECENT_KEY, self.recent.items())
            self.search_field.set_recent(self.recent.items())
        self.search(text, committed)

    def search(self, text: str, committed: bool = False) -> None:
        self._start(SearchRequest(self._next_serial(), text=text), committed)

    def search_image(self, image: Path) -> None:
        self._start(SearchRequest(self._next_serial(), image=Path(image)))

    def search_video(self, video: Path) -> None:
        """A short video as the query: where in the library is this clip from, or what looks like it."""
        self._start(SearchRequest(self._next_serial(), video=Path(video)))

    def _ask_query_file(self) -> None:
        picked = self.choose_query_file()
        if not picked:
            return
        path = Path(picked)
        if is_image(path):
            self.search_image(path)
        elif is_video(path):
            self.search_video(path)
        else:
            self.banner.show_message(f"{path.name} is neither an image nor a video ClipSeek can search with.",
                                     "error")

    def search_in_folder(self, path: str) -> None:
        """Narrow the folder filter to one folder (or one video): the search shown runs again there, and later
        ones stay there."""
        self.sidebar.problems_button.setChecked(False)
        self.filter_bar.folder.set_chosen([path])
        if self._last_request is None:
            self.banner.show_message(f"Searches will look only in {path}; the folder filter above the "
                                     "results widens them again.")
            self._focus_search()

    def search_in_video(self, path: str) -> None:
        """Every moment of one video: one per video would show a single result, so results show every moment."""
        self.filter_bar.show_every_moment()
        self.search_in_folder(path)

    def _ask_search_inside(self, folder: str) -> None:
        picked = self.choose_folder(f"Search only in a folder inside {folder_name(folder)}", folder)
        if not picked:
            return
        picked = os.path.abspath(picked)
        if picked != folder and not is_inside(picked, folder):
            self.banner.show_message(f"{picked} is not inside {folder}; pick a folder inside it.", "error")
            return
        self.search_in_folder(picked)

    def find_similar(self, moments: "Moment | list[Moment]") -> None:
        """Moments like one moment, or like several taken together."""
        like = (moments,) if isinstance(moments, Moment) else tuple(moments)
        self._start(SearchRequest(self._next_serial(), like=like))

    def _start(self, request: SearchRequest, committed: bool = False) -> None:
        """A new search, made with the filters as they are: a step on the trail that Back and Forward go through."""
        self.filter_bar.use_scale(request.kind)     # from another kind of search, the cut-off goes back to any
        request = request.with_options(request.serial, self.filter_bar.options())
        self._note_place()
        self.trail.visit(request, committed)
        self._show_trail()
        self._submit(request)

    def go_back(self) -> None:
        """The search before this one again (Alt+Left, the mouse's back button), with the filters as they are,
        scrolled as it was left, its current card in the player, paused."""
        self._note_place()
        self._revisit(self.trail.back())

    def go_forward(self) -> None:
        self._note_place()
        self._revisit(self.trail.forward())

    def _note_place(self) -> None:
        if self._shown_request is not None and self._shown_request is self._last_request:
            current = self.grid.current_moment()
            self.trail.note_place(ResultsPlace(self.results_model.rowCount(), self.grid.verticalScrollBar().value(),
                                               moment_key(current) if current is not None else None,
                                               frozenset(moment_key(m) for m in self.grid.selected_moments())))

    def _restore_place(self, request: SearchRequest) -> None:
        waiting, self._place_to_restore = self._place_to_restore, None
        if waiting is None or waiting[0] != request.serial:
            return
        place = waiting[1]
        self.grid.executeDelayedItemsLayout()
        self.grid.verticalScrollBar().setValue(place.scroll)
        current = self.grid.mark_cards(place.current, place.selected)
        # The player shows the card that was current again, paused: it played when it was made current.
        shown = self.player.moment
        if current is not None and (shown is None or moment_key(shown) != place.current):
            self.player.play_moment(current, paused=True)

    def _revisit(self, request: SearchRequest | None) -> None:
        if request is None:
            return
        self._show_trail()
        # The field shows the query of a text search; after an image, a video or "find similar" it would name
        # another search than the one shown, and the results header names it instead.
        self.search_field.set_query(request.text if request.kind == "text" else "")
        self.filter_bar.use_scale(request.kind)
        place = self.trail.place()
        options = self.filter_bar.options()
        request = request.with_options(self._next_serial(), options.asking_for(place.rows) if place else options)
        self._place_to_restore = (request.serial, place) if place else None
        self._submit(request)

    def _show_trail(self) -> None:
        self.trail_buttons.set_possible(self.trail.can_go_back(), self.trail.can_go_forward())

    def _rerun_search(self) -> None:
        if self._last_request is not None:
            self._submit(self._last_request.with_options(self._next_serial(), self.filter_bar.options()))

    def _next_serial(self) -> int:
        self._serial += 1
        return self._serial

    def _submit(self, request: SearchRequest) -> None:
        self._last_request = request
        self.filter_bar.setVisible(True)
        self.filter_bar.summary.setText("Searching…")
        self.search_worker.submit(request)

    def _more_results(self) -> None:
        """The grid's end came into view: ask the same search for another page, if it may have one."""
        shown = self._shown_request
        if shown is None or shown is not self._last_request:
            return      # a search is on its way
        if not shown.may_have_more(self.results_model.rowCount()):
            return      # the engine had no more
        self._last_request = shown.for_more(self._next_serial())
        self.search_worker.submit(self._last_request)

    def _on_results(self, request: SearchRequest, moments) -> None:
        self._shown_request = request
        self.filter_bar.note_scores((m.score for m in moments), request.kind)
        self.grid.set_score_span(self.filter_bar.score_span(request.kind))
        if not request.more:
            self.results_model.set_results(request.text, moments)
            self._restore_place(request)
        elif not self.results_model.grow(moments):
            self.grid.replace_keeping_place(request.text, moments)    # the ranking above changed too
        named = {"image": request.image, "video": request.video}.get(request.kind)
        named = named.name if named is not None else request.text
        subject = {"text": f"for “{named}”", "image": f"for the image {named}", "video": f"for the video {named}",
                   "like": like_subject(request.like)}
        self.filter_bar.summary.setText(results_summary(len(moments), subject[request.kind],
                                                        request.may_have_more(len(moments)),
                                                        request.options.per_video),
                                        # too long, the hint goes, then the query or the file's name is cut,
                                        # never the count
                                        cuttable=None if request.kind == "like" else named,
                                        droppable=SCROLL_HINT)
        if moments:
            self.results_stack.setCurrentWidget(self.grid)
        else:
            self._show_empty("No moments found",
                             "Try other words, lower the minimum relevance, or widen the filters.", "search")
        self.results_shown.emit(len(moments))

    def _on_search_failed(self, request: SearchRequest, message: str) -> None:
        if not request.more:                 # after a failed "more", the results shown stay, and so does their count
            self.filter_bar.summary.setText("")
        self._show_error(message)

    def _show_empty(self, title: str, text: str, icon: str) -> None:
        self.empty_icon.setPixmap(theme.icon(icon, theme.current().muted, 48).pixmap(48, 48))
        self.empty_title.setText(title)
        self.empty_text.setText(text)
        self.results_stack.setCurrentIndex(0)

    # === results actions =========================================================================
    def _load_preview(self, moment: "Moment") -> None:
        library = self.library
        # Each still shows as soon as it is made: on a long 1080p or 4K file the whole strip takes seconds.
        self.previews.run(lambda report: library.preview_frames(moment, PREVIEW_STILLS, 240, on_still=report),
                          lambda frames: self.grid.set_preview_frames(moment, frames),
                          lambda _message: None,  # a missing preview only means no scrubbing
                          on_progress=lambda still: self.grid.add_preview_frame(moment, still, PREVIEW_STILLS))

    def _make_playable_copy(self, moment: "Moment") -> None:
        library = self.library
        self.copies.run(lambda: library.playable_copy(moment), lambda copy: self.player.play_copy(moment, copy),
                        lambda message: self.player.copy_failed(moment, message))

    def _show_moment_menu(self, moment: "Moment", global_pos) -> None:
        self.moment_actions.menu(moment, self).exec(global_pos)

    def _copy_selected(self) -> None:
        chosen = self.grid.selected_moments()
        if chosen:                     # with nothing selected the clipboard keeps what it held
            copy_references(chosen)

    def _show_selection_menu(self, moments: list["Moment"], global_pos) -> None:
        self.moment_actions.selection_menu(moments, self).exec(global_pos)

    def _ask_export_many(self, moments: list["Moment"]) -> None:
        folder = QFileDialog.getExistingDirectory(self, f"Export {len(moments)} moments to a folder",
                                                  os.path.dirname(moments[0].path))
        if folder:
            self.export_moments(moments, folder)

    def export_moments(self, moments: list["Moment"], folder: str | Path) -> None:
        """Export each of ``moments`` into ``folder`` under its own name (none replaced); one that fails is
        named in the closing message, and the others are still exported."""
        library = self.library
        targets = export_targets(moments, folder)

        def work() -> list[str]:
            failures = []
            for moment, target in zip(moments, targets):
                try:
                    library.export_moment(moment, target)
                except Exception as exc:  # noqa: BLE001 - one moment's failure must not stop the others
                    failures.append(f"{moment_title(moment)} {time_range(moment.start, moment.end)}: "
                                    f"{user_message(exc)}")
            return failures

        def done(failures: list[str]) -> None:
            exported = len(failures) < len(moments)
            self.banner.show_message(export_report(len(moments), folder, failures), "error" if failures else "info",
                                     action=("Open folder", lambda: open_with_system(str(folder))) if exported
                                     else None)

        self.banner.show_message(f"Exporting {len(moments)} moments to {folder}…")
        self.runner.run(work, done, self._show_error)

    def _ask_export(self, moment: "Moment") -> None:
        start_dir = os.path.dirname(moment.path)
        target, _filter = QFileDialog.getSaveFileName(self, "Export moment as video",
                                                      os.path.join(start_dir, export_file_name(moment)),
                                                      "Video (*.mp4 *.mkv *.mov *.webm)")
        if target:
            self.export_moment(moment, target)

    def export_moment(self, moment: "Moment", target: str | Path) -> None:
        library = self.library
        self.banner.show_message(f"Exporting {moment_title(moment)} {time_range(moment.start, moment.end)}…")
        self.runner.run(lambda: library.export_moment(moment, target),
                        lambda path: self.banner.show_message(
                            f"Exported to {path}", action=("Show in folder", lambda: reveal_in_file_manager(str(path)))),
                        self._show_error)

    def _on_player_action(self, name: str, moment: "Moment") -> None:
        if name == "similar":
            self.find_similar(moment)
        elif name == "export":
            self._ask_export(moment)
        elif name == "open":
            self.open_in_player(moment)
        elif name == "reveal":
            reveal_in_file_manager(moment.path)

    def open_in_player(self, moment: "Moment") -> None:
        """Hand the moment's file to the chosen player, at the moment's start when that player can be told."""
        name = os.path.basename(moment.path)
        if not os.path.isfile(moment.path):
            self._show_error(file_gone(moment.path))
            return
        players = self.find_players()
        player = chosen_player(str(self.prefs.value(EXTERNAL_PLAYER_KEY, SYSTEM_DEFAULT)), players)
        self.player.pause()                  # one sound at a time
        if player is not None:
            try:
                player.open(moment.path, moment.start)
            except OSError as exc:
                self._show_error(f"Could not start {player.name} ({exc.strerror or exc}). Choose another player "
                                 "in Settings › General.")
                return
            self.banner.show_message(f"Opened {name} in {player.name} at {clock(moment.start)}.")
            return
        if not open_with_system(moment.path):
            self._show_error(f"No program on this computer opens {name}. Install a video player such as VLC, "
                             "then choose it in Settings › General.")
            return
        where = f"the moment is at {time_range(moment.start, moment.end)}"
        if not players:
            self.banner.show_message(f"Opened {name} in the default player, which starts at the beginning: {where}.")
            return
        other = players[0]
        self.banner.show_message(f"Opened {name} in the default player, which starts at the beginning: {where}; "
                                 f"{other.name} can open moments where they start.",
                                 action=(f"Always use {other.name}", lambda: self.use_external_player(other)))

    def use_external_player(self, player) -> None:
        """``player`` opens moments from now on (as when it is chosen in Settings › General)."""
        self.prefs.setValue(EXTERNAL_PLAYER_KEY, player.key)
        self.banner.show_message(f"Open in player starts {player.name} at the moment from now on; Settings › General "
                                 "changes it.")

    def _on_cannot_play(self, moment: "Moment", message: str) -> None:
        players = self.find_players()
        player = chosen_player(str(self.prefs.value(EXTERNAL_PLAYER_KEY, SYSTEM_DEFAULT)), players)
        self.banner.show_message(message, "error", action=(f"Open in {player.name if player else 'player'}",
                                                           lambda: self.open_in_player(moment)))

    def _on_space(self) -> None:
        self.player.toggle_play()

    def _on_problems_toggled(self, on: bool) -> None:
        self.content.setCurrentWidget(self.problems_view if on else self.results_splitter)

    def _show_error(self, message: str) -> None:
        copy = self.library.damaged_catalog_copy() if self.library is not None else None
        if copy is None or copy not in message:     # (the damage's message names the copy; another error does not)
            self.banner.show_message(message, "error")
            return
        self.banner.show_message(f"The library's catalog is damaged. ClipSeek kept a copy of it ({copy}): put it "
                                 "back to go on (ClipSeek closes and opens again; videos indexed since it was made "
                                 "are indexed again).", "error",
                                 action=("Put the copy back", self.restore_catalog_copy))

    def restore_catalog_copy(self) -> None:
        """Close, so that the kept copy of the damaged catalog can be put back; desktop_app.__main__ does that and
        opens the window again."""
        self.restore_catalog_of = self.library.path
        if not self.close():           # kept open (indexing, and the person said no)
            self.restore_catalog_of = None

    # === settings and demo =======================================================================
    def forget_recent_searches(self) -> None:
        self.recent.clear()
        self.prefs.setValue(RECENT_KEY, [])
        self.search_field.set_recent([])

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.library, self.runner, str(self.prefs.value(THEME_KEY, "system")),
                                indexing=self.indexing, parent=self, players=self.find_players(),
                                player_choice=str(self.prefs.value(EXTERNAL_PLAYER_KEY, SYSTEM_DEFAULT)),
                                recent_searches=len(self.recent.items()))
        dialog.recent_searches_cleared.connect(self.forget_recent_searches)
        dialog.theme_chosen.connect(self.set_theme)
        dialog.player_chosen.connect(lambda key: self.prefs.setValue(EXTERNAL_PLAYER_KEY, key))
        dialog.model_changed.connect(self._on_model_changed)
        before = self.library.settings
        dialog.settings_saved.connect(lambda settings: self._on_settings_saved(before, settings))
        dialog.open()
        return dialog

    def _on_settings_saved(self, before, after) -> None:
        if after.exclude != before.exclude:
            self._left_out_changed()
        else:
            self.refresh_library()     # also turns watching on or off

    def set_theme(self, choice: str) -> None:
        self.prefs.setValue(THEME_KEY, choice)
        theme.apply(QApplication.instance(), choice)
        self.refresh_icons()

    def follow_system_theme(self) -> None:
        if str(self.prefs.value(THEME_KEY, "system")) == "system":
            self.set_theme("system")

    def _on_model_changed(self, count: int) -> None:
        self.results_model.clear()
        self.filter_bar.forget_scores()
        self.banner.show_message(f"Model changed: {counted(count, 'video')} will be indexed again.")
        self.refresh_library()
        self.start_indexing()

    def open_demo_library(self) -> None:
        if self._create_demo is None:
            self._show_error("The demo library is not available in this build.")
            return
        self.welcome.set_busy("Making the demo videos…")
        relay = _DemoProgress(self)
        relay.stage.connect(self._on_demo_stage)
        create = self._create_demo
        self.runner.run(lambda: create(relay.stage.emit), self._switch_to_library, self._on_demo_failed)

    def _on_demo_stage(self, text: str) -> None:
        text = str(text).strip().rstrip(".").strip()
        if text:
            self.welcome.set_busy(text[:1].upper() + text[1:] + "…")

    def _on_demo_failed(self, message: str) -> None:
        self.welcome.set_busy(None)
        self._show_error(message)

    def _switch_to_library(self, library: "Library") -> None:
        if self._closing:
            library.close()
            return
        old = self.library
        self.welcome.set_busy(None)
        self._stop_indexing_and_wait()
        self.set_library(library)
        if old is not None and old is not library:
            old.close()

    # === closing =================================================================================
    def _stop_indexing_and_wait(self) -> None:
        worker = self.index_worker
        if worker is not None:
            self._index_again = False
            worker.cancel()
            worker.wait()

    def closeEvent(self, event) -> None:
        if self.indexing and not self.confirm(
                "Stop indexing?", "ClipSeek is still indexing. Stop now and close? Nothing is lost: "
                                  "indexing continues where it stopped the next time you open ClipSeek."):
            event.ignore()
            return
        self._closing = True
        self._refresh_timer.stop()
        self._save_layout()
        self.watching.close()
        self.player.stop()
        self.hide()                    # stopping a worker mid-file can take a moment; do not look frozen
        self._stop_indexing_and_wait()
        if self.search_worker is not None:
            self.search_worker.wait()
        self.runner.wait()             # also for the watcher's stop
        self.watching.stop_unclaimed()
        self.previews.wait()
        self.copies.wait()
        if self.events is not None:
            self.events.close()
        if self.library is not None:
            self.library.close()
            self.library = None
        event.accept()


class _DemoProgress(QObject):
    """Carries the demo maker's stage messages to the GUI thread."""

    stage = Signal(str)
