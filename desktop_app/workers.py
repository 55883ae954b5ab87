"""Background work for the window: indexing on its own QThread, everything else on pools.

Nothing here blocks the GUI thread. Results come back as signals, which Qt queues onto
the GUI thread because the emitting QObjects live there.
"""
from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING, Any, Callable

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal

from engine.api import IndexControl
from engine.errors import ClipSeekError

if TYPE_CHECKING:
    from engine.api import Library
    from desktop_app.models.search_options import SearchRequest

log = logging.getLogger(__name__)


def user_message(exc: BaseException) -> str:
    """A ClipSeekError's own sentence; anything else is a bug: log it, say so briefly."""
    if isinstance(exc, ClipSeekError):
        return str(exc)
    log.error("unexpected error: %s", "".join(traceback.format_exception(exc)))
    return f"Something went wrong ({type(exc).__name__}: {exc}). Details are in the log."


class _TaskSignals(QObject):
    done = Signal(object)
    failed = Signal(str)
    progress = Signal(object)


class _Task(QRunnable):
    def __init__(self, fn: Callable[..., Any], signals: _TaskSignals, reports: bool = False) -> None:
        super().__init__()
        self._fn = fn
        self.signals = signals
        self._reports = reports

    def run(self) -> None:
        try:
            result = self._fn(self.signals.progress.emit) if self._reports else self._fn()
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the GUI as a message
            self.signals.failed.emit(user_message(exc))
        else:
            self.signals.done.emit(result)


class TaskRunner(QObject):
    """Runs callables on a thread pool and calls back on the GUI thread.

    ``run(fn, on_done, on_error, owner=None)``; a runner with ``max_threads=1`` keeps work in order. With
    ``on_progress``, ``fn`` is called with a ``report(value)`` function whose values reach ``on_progress``, in order,
    before ``on_done``.
    A callback belongs to ``owner`` (by default the QObject whose method it is): when the owner was
    closed and deleted before the work finished, the callback is dropped instead of touching dead
    widgets. ``wait()`` blocks until queued work finished (used at shutdown and in tests).
    """

    def __init__(self, max_threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._live: set[_TaskSignals] = set()

    def run(self, fn: Callable[..., Any], on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[str], None] | None = None, owner: QObject | None = None,
            on_progress: Callable[[Any], None] | None = None) -> None:
        # Not the runner's child: the callbacks connected to these signals may be all that keeps the runner (or the
        # window owning it), and deleting the signals then frees it. Its children would be deleted with it, these
        # signals a second time while their own deletion runs.
        signals = _TaskSignals()
        self._live.add(signals)
        if on_progress is not None:
            signals.progress.connect(_while_alive(on_progress, owner))
        if on_done is not None:
            signals.done.connect(_while_alive(on_done, owner))
        if on_error is not None:
            signals.failed.connect(_while_alive(on_error, owner))
        signals.done.connect(lambda _r, s=signals: self._forget(s))
        signals.failed.connect(lambda _m, s=signals: self._forget(s))
        self.pool.start(_Task(fn, signals, reports=on_progress is not None))

    def _forget(self, signals: _TaskSignals) -> None:
        self._live.discard(signals)
        signals.deleteLater()

    def wait(self, msecs: int = -1) -> bool:
        return self.pool.waitForDone(msecs)


def _while_alive(callback: Callable[[Any], None], owner: QObject | None) -> Callable[[Any], None]:
    owner = owner if owner is not None else getattr(callback, "__self__", None)
    if not isinstance(owner, QObject):
        return callback

    def call(value: Any) -> None:
        if shiboken6.isValid(owner):
            callback(value)
        else:
            log.debug("dropped the result of a task whose window is gone")
    return call


class SearchWorker(QObject):
    """Runs searches one at a time; only the answer to the newest request is delivered.

    Signals: ``results(SearchRequest, list[Moment])``, ``failed(SearchRequest, str)``.
    """

    results = Signal(object, object)
    failed = Signal(object, str)

    def __init__(self, library: "Library", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._library = library
        self._runner = TaskRunner(max_threads=1, parent=self)
        self._latest = -1

    def submit(self, request: "SearchRequest") -> None:
        self._latest = request.serial

        def work():
            if request.serial != self._latest:       # superseded while it waited in the queue
                return None
            kwargs = request.engine_kwargs()
            if request.like:
                return self._library.similar(list(request.like), **kwargs)
            if request.image is not None:
                return self._library.search_image(str(request.image), **kwargs)
            if request.video is not None:
                return self._library.search_video(str(request.video), **kwargs)
            return self._library.search(request.text, **kwargs)

        self._runner.run(work, lambda moments: self._deliver(request, moments),
                         lambda message: self._fail(request, message))

    def _deliver(self, request: "SearchRequest", moments) -> None:
        if moments is not None and request.serial == self._latest:
            self.results.emit(request, moments)

    def _fail(self, request: "SearchRequest", message: str) -> None:
        if request.serial == self._latest:
            self.failed.emit(request, message)

    def wait(self, msecs: int = -1) -> bool:
        return self._runner.wait(msecs)


class IndexWorker(QThread):
    """Runs ``library.index`` on its own thread with pause, resume and cancel.

    Signals: ``progressed(Progress)`` (from the engine's callback), ``finished_with(Progress)``
    when the run ends (done or cancelled), ``failed(str)``.
    """

    progressed = Signal(object)
    finished_with = Signal(object)
    failed = Signal(str)

    def __init__(self, library: "Library", parent: QObject | None = None, folders: list[str] | None = None) -> None:
        super().__init__(parent)
        self._library = library
        self._folders = folders          # the library folders to look in; None: every one
        self.control = IndexControl()
        self.paused = False

    def run(self) -> None:
        try:
            result = self._library.index(progress=self.progressed.emit, control=self.control, folders=self._folders)
        except BaseException as exc:  # noqa: BLE001
            self.failed.emit(user_message(exc))
        else:
            self.finished_with.emit(result)

    def pause(self) -> None:
        self.paused = True
        self.control.pause()

    def resume(self) -> None:
        self.paused = False
        self.control.resume()

    def cancel(self) -> None:
        self.paused = False
        self.control.cancel()
