"""One QObject that re-emits the Library's events as Qt signals on the GUI thread.

The engine calls subscribers from any thread. Emitting a signal whose receivers live in
the GUI thread queues the call there, so views connect to these signals and never see
an engine thread.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from engine.api import Library


class LibraryEvents(QObject):
    """Signals:

    folders_changed(): folders were added, removed or their counts changed.
    progress(Progress): indexing advanced.
    file_done(str path, str status): one file reached a final state.
    index_started(): an indexing run began.
    index_finished(Progress): an indexing run ended (done or cancelled).
    notice(str): something the user should read (a rebuilt index, an unreachable folder).
    """

    folders_changed = Signal()
    progress = Signal(object)
    file_done = Signal(str, str)
    index_started = Signal()
    index_finished = Signal(object)
    notice = Signal(str)

    def __init__(self, library: "Library", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe: Callable[[], None] | None = library.subscribe(self._on_engine_event)

    def _on_engine_event(self, name: str, payload=None) -> None:
        # Runs on whatever thread the engine used; Qt queues the emissions.
        if name == "folders_changed":
            self.folders_changed.emit()
        elif name == "progress":
            self.progress.emit(payload)
        elif name == "file_done":
            path, status = payload if isinstance(payload, tuple) else (str(payload), "")
            self.file_done.emit(str(path), str(getattr(status, "value", status)))
        elif name == "index_started":
            self.index_started.emit()
        elif name == "index_finished":
            self.index_finished.emit(payload)
        elif name == "notice":
            self.notice.emit(str(payload))

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
