"""The search field: debounced search-as-you-type, Enter, recent searches, an image or a video dropped on it."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtWidgets import QCompleter, QLineEdit, QToolButton

from desktop_app import theme
from desktop_app.models.moment_drag import dropped_moments
from engine.settings import VIDEO_EXTENSIONS

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
# For a file dialog: the images and videos a search can be made with (upper case too: cameras write .MOV, .JPG).
_QUERY_SUFFIXES = [*sorted(IMAGE_SUFFIXES), *VIDEO_EXTENSIONS]
QUERY_FILES = f"Images and videos ({' '.join('*' + s for s in _QUERY_SUFFIXES + [s.upper() for s in _QUERY_SUFFIXES])})"
PAUSE_MS = 350


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def is_video(path: Path) -> bool:
    return path.name.lower().endswith(VIDEO_EXTENSIONS)


def dropped_image(mime) -> Path | None:
    """The first local image file in a drag's data, if any."""
    return _dropped_file(mime, is_image)


def dropped_video(mime) -> Path | None:
    """The first local video file in a drag's data, if any."""
    return _dropped_file(mime, is_video)


def _dropped_file(mime, wanted) -> Path | None:
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if wanted(path) and path.is_file():
                return path
    return None


class SearchField(QLineEdit):
    """Signals: ``search_requested(str text, bool committed)`` after the user pauses typing or
    presses Enter (``committed`` is True on Enter), ``image_dropped(Path)``, ``video_dropped(Path)``,
    ``moments_dropped(list[Moment])``
    (results dragged from the grid), ``leave_down()``.
    Focusing the empty field lists the recent searches; Esc empties it."""

    search_requested = Signal(str, bool)
    image_dropped = Signal(object)
    video_dropped = Signal(object)
    file_wanted = Signal()         # the image button: pick an image or a video to search with
    moments_dropped = Signal(list)
    leave_down = Signal()          # Down arrow with no suggestions open: move on to the results

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("SearchField")
        self.setPlaceholderText("Describe a moment — “a dog running on the beach”   (Ctrl+F)")
        self.setClearButtonEnabled(True)
        self.setAcceptDrops(True)
        self.setMinimumWidth(380)
        self.setAccessibleName("Search")
        self._icon_action = self.addAction(theme.icon("search", theme.current().muted, 18),
                                           QLineEdit.ActionPosition.LeadingPosition)
        self._icon_action.setText("Search")
        self._file_action = self.addAction(theme.icon("image", theme.current().muted, 18),
                                           QLineEdit.ActionPosition.TrailingPosition)
        self._file_action.setText("Search with an image or a video…")
        self._file_action.setToolTip("Search with an image or a short video… (or drop one here)")
        self._file_action.triggered.connect(self.file_wanted)
        for button in self.findChildren(QToolButton):    # the clear button Qt adds has no name of its own
            if button.defaultAction() is self._file_action:
                button.setAccessibleName(self._file_action.text())
            elif button.defaultAction() is not self._icon_action:
                button.setAccessibleName("Clear the search")
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(PAUSE_MS)
        self._debounce.timeout.connect(lambda: self.search_requested.emit(self.text().strip(), False))
        self.textEdited.connect(lambda _t: self._debounce.start())
        self.returnPressed.connect(self._on_return)
        self.recent_model = QStringListModel(self)
        completer = QCompleter(self.recent_model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.activated.connect(lambda text: self.search_requested.emit(text.strip(), True))
        self.setCompleter(completer)
        # The leading action is decoration; the QSS padding already makes room for it.
        self.setStyleSheet("")

    def refresh_icons(self) -> None:
        self._icon_action.setIcon(theme.icon("search", theme.current().muted, 18))
        self._file_action.setIcon(theme.icon("image", theme.current().muted, 18))

    def set_query(self, text: str) -> None:
        """Show ``text`` as the query without searching for it (the window shows a search it made before)."""
        self._debounce.stop()
        self.completer().popup().hide()
        self.setText(text)

    def set_recent(self, items: list[str]) -> None:
        self.recent_model.setStringList(items)

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        if not self.text() and self.recent_model.rowCount():
            self.completer().setCompletionPrefix("")
            self.completer().complete()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Down and not self.completer().popup().isVisible():
            self.leave_down.emit()
            return
        if event.key() == Qt.Key.Key_Escape and self.text() and not self.completer().popup().isVisible():
            self.clear()                     # as the clear button does
            self.textEdited.emit("")
            return
        super().keyPressEvent(event)

    def _on_return(self) -> None:
        self._debounce.stop()
        self.search_requested.emit(self.text().strip(), True)

    # --- an image, a video or results dropped -------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        mime = event.mimeData()
        if dropped_moments(mime) or dropped_image(mime) is not None or dropped_video(mime) is not None:
            self._set_drop_active(True)
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragLeaveEvent(self, event) -> None:
        self._set_drop_active(False)
        super().dragLeaveEvent(event)

    def dropEvent(self, event) -> None:
        self._set_drop_active(False)
        moments = dropped_moments(event.mimeData())
        if moments:
            event.acceptProposedAction()
            self._debounce.stop()
            self.setText("")
            self.moments_dropped.emit(moments)
            return
        image, video = dropped_image(event.mimeData()), dropped_video(event.mimeData())
        if image is None and video is None:
            super().dropEvent(event)
            return
        event.acceptProposedAction()
        self._debounce.stop()
        self.setText("")
        if image is not None:
            self.setPlaceholderText(f"Searching by image: {image.name}")
            self.image_dropped.emit(image)
        else:
            self.setPlaceholderText(f"Searching by video: {video.name}")
            self.video_dropped.emit(video)

    def _set_drop_active(self, active: bool) -> None:
        self.setProperty("dropActive", active)
        self.style().unpolish(self)
        self.style().polish(self)
