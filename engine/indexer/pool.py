"""Worker processes for decoding and inference.

A native crash or a hang inside a decoder must cost one file, not the application
(calibre's and Frigate's lesson): each worker is a separate process talking over its own
pipe, so the parent always knows which file a dead or stuck worker held, and a worker
killed mid-message cannot leave a lock shared with the others held (a shared
multiprocessing.Queue would). A stuck worker, one that has told nothing of its file's progress
for the time limit, is killed and replaced.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait as wait_any
from typing import Any

from engine.indexer.worker import prestarted_worker_main, worker_main

_CTX = mp.get_context("spawn")
ASLEEP_AFTER_SECONDS = 30.0   # longer than this between two looks at the workers: the computer slept (WatchGaps)
# Worker processes started before their pool (prestart_workers): (process, parent's pipe end, threads).
_prestarted: list[tuple[Any, Any, int]] = []


def local_worker_threads(workers: int) -> int:
    """Threads for each of ``workers`` local workers: each one's decode thread keeps about one core busy,
    its model gets the rest of its share."""
    return max(1, (os.cpu_count() or 2) // workers - 1)


def prestart_workers(count: int, threads: int) -> None:
    """Start ``count`` workers now, before their pool's settings are known, so that their imports overlap
    the caller's own start-up (`clipseek index` opening the library). The next pool takes those whose
    ``threads`` match its own and stops the rest; discard_prestarted stops them when no pool came."""
    for _ in range(count):
        parent_end, child_end = _CTX.Pipe(duplex=True)
        proc = _CTX.Process(target=prestarted_worker_main, args=(child_end, threads),
                            name="clipseek-worker-prestarted", daemon=True)
        _start_ignoring_ctrl_c(proc)
        child_end.close()
        _prestarted.append((proc, parent_end, threads))


def _start_ignoring_ctrl_c(proc) -> None:
    """Start a worker that ignores SIGINT from its first instruction (an ignored signal stays ignored across
    exec, and Python then installs no KeyboardInterrupt handler). A terminal's Ctrl+C reaches the whole
    process group; the parent stops its workers itself, and a worker's KeyboardInterrupt would only print
    its traceback. Only the main thread may change handlers: elsewhere (the window's indexing thread) the
    worker ignores SIGINT once it runs (worker._prepare_process)."""
    if threading.current_thread() is not threading.main_thread():
        proc.start()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        proc.start()
    finally:
        signal.signal(signal.SIGINT, previous)


def discard_prestarted() -> None:
    while _prestarted:
        proc, conn, _threads = _prestarted.pop()
        _stop(proc, conn)


def _take_prestarted(threads: int) -> tuple[Any, Any] | None:
    """A prestarted worker for a pool whose workers run ``threads`` threads; others are stopped."""
    while _prestarted:
        proc, conn, started_with = _prestarted.pop(0)
        if started_with == threads and proc.is_alive():
            return proc, conn
        _stop(proc, conn)
    return None


def _stop(proc, conn) -> None:
    """Stop a prestarted worker no pool took: it holds no file and no model yet, so it is simply killed."""
    proc.kill()
    proc.join(2)
    conn.close()


@dataclass
class Task:
    task_id: int
    file_id: int
    path: str
    thumb_key: str


@dataclass
class _Queued:
    """The file a worker was sent while the model finishes its current one (see WorkerPool)."""
    task: Task
    active_at: float   # when the worker last said it was getting on with this file
    paused_for: float = 0.0
    probed: bool = False
    decoded: bool = False


@dataclass
class _Worker:
    wid: int
    process: Any
    conn: Any            # the parent's end of this worker's pipe
    task: Task | None = None
    active_at: float = 0.0   # when it was sent its file or last said it was getting on with it
    paused_for: float = 0.0
    ready: bool = False
    spawned: float = 0.0   # when the process started (for the start-up limit)
    probed: bool = False   # its task's file was probed: it is decoding (its model may still be loading)
    decoded: bool = False  # its task's file is decoded: only the model's work on it is left
    queued: _Queued | None = None

    def can_take_next(self) -> bool:
        return self.task is not None and self.decoded and self.queued is None

    def decoding(self) -> Task | None:
        """The task whose file is being decoded (the one a hang or a native crash is blamed on)."""
        return self.queued.task if self.queued is not None else self.task

    def held(self) -> list[Task]:
        return [t for t in (self.task, self.queued.task if self.queued else None) if t is not None]

    def promote(self) -> None:
        """The current task ended: the queued one, if any, becomes current."""
        q, self.queued = self.queued, None
        self.task = q.task if q else None
        self.active_at, self.paused_for = (q.active_at, q.paused_for) if q else (0.0, 0.0)
        self.probed, self.decoded = (q.probed, q.decoded) if q else (False, False)


class WatchGaps:
    """How long the indexer could not watch its workers: more than ``ASLEEP_AFTER_SECONDS`` between two looks means
    the computer slept (a laptop's lid closed, on a system whose monotonic clock runs on through sleep) or the
    indexer was stopped (Ctrl+Z, then fg). Its workers stood still too, or went on unseen; either way none of them
    was late, and their time limits move on by that gap."""

    def __init__(self) -> None:
        self._looked = time.monotonic()

    def missed(self) -> float:
        """Seconds not watched since the last look, when that was a sleep; else 0."""
        now = time.monotonic()
        gap, self._looked = now - self._looked, now
        return gap if gap > ASLEEP_AFTER_SECONDS else 0.0


def stalled_reason(timeout: float) -> str:
    """The failure of a file whose worker told nothing of its progress for ``timeout`` seconds."""
    return f"stopped after {timeout:.0f} s without progress (decoder hang?)"


@dataclass
class WorkerEvent:
    kind: str            # "probed", "progress", "done", "failed"; "lost": not finished, not its fault (retry it)
    task: Task
    payload: Any = None


@dataclass
class PoolConfig:
    workers: int
    bundle_dir: str
    device: str
    threads_per_worker: int
    settings: dict
    thumbs_dir: str
    timeout: float
    startup_timeout: float = 300.0   # seconds a new worker may take to load the model
    extra: dict = field(default_factory=dict)


class WorkerPool:
    """Local worker processes, each decoding one file at a time.

    Once a worker reports its file decoded, it may be sent the next file: it decodes that one while its
    model finishes the last segments of the first, so that the decoder and the model are not left waiting
    for each other at every change of file (one core was idle for about a third of a second at each; on
    a folder of 24-s clips, a fifth of the run). A worker holds at most those two files.
    """

    def __init__(self, config: PoolConfig) -> None:
        self.config = config
        self._workers: list[_Worker] = []
        self._next_wid = 0
        self._paused_at: float | None = None
        self.fatal: str | None = None
        self._hung_before_ready = False   # the last worker stopped for a hang had not loaded its model
        self._gaps = WatchGaps()
        for _ in range(config.workers):
            self._spawn()
        discard_prestarted()   # started for this pool, but more than it needs or with other threads

    # -- lifecycle ---------------------------------------------------------
    def _spawn(self) -> _Worker:
        wid = self._next_wid
        self._next_wid += 1
        proc, parent_end = self._prestarted(wid) or self._start_process(wid)
        worker = _Worker(wid, proc, parent_end, spawned=time.monotonic())
        self._workers.append(worker)
        return worker

    def _prestarted(self, wid: int) -> tuple[Any, Any] | None:
        c = self.config
        taken = _take_prestarted(c.threads_per_worker)
        if taken is None:
            return None
        proc, parent_end = taken
        try:
            parent_end.send((wid, c.bundle_dir, c.device, c.settings, c.thumbs_dir))
        except (OSError, ValueError):
            _stop(proc, parent_end)
            return None
        return taken

    def _start_process(self, wid: int) -> tuple[Any, Any]:
        c = self.config
        parent_end, child_end = _CTX.Pipe(duplex=True)
        proc = _CTX.Process(
            target=worker_main,
            args=(wid, child_end, c.bundle_dir, c.device, c.threads_per_worker, c.settings, c.thumbs_dir),
            name=f"clipseek-worker-{wid}", daemon=True)
        _start_ignoring_ctrl_c(proc)
        child_end.close()
        return proc, parent_end

    def close(self) -> None:
        self.resume()
        for w in self._workers:
            try:
                w.conn.send(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 3
        for w in self._workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
            if w.process.is_alive():
                w.process.kill()
                w.process.join(1)
            w.conn.close()
        self._workers.clear()

    def kill_all(self) -> list[Task]:
        """Stop every worker now; returns the tasks they held (left unfinished)."""
        self.resume()
        held = [task for w in self._workers for task in w.held()]
        for w in self._workers:
            w.process.kill()
            w.process.join(2)
            w.conn.close()
        self._workers.clear()
        return held

    # -- dispatch ------------------------------------------------------------
    def idle_slots(self) -> int:
        return sum(1 for w in self._workers if w.task is None or w.can_take_next())

    def busy(self) -> int:
        return sum(1 for w in self._workers if w.task is not None)

    def submit(self, task: Task) -> None:
        for w in self._workers:
            if w.task is None:
                w.task = task
                w.active_at = time.monotonic()
                w.paused_for = 0.0
                w.probed = w.decoded = False
                w.conn.send(task)
                return
        for w in self._workers:
            if w.can_take_next():
                w.queued = _Queued(task, active_at=time.monotonic())
                w.conn.send(task)
                return
        raise RuntimeError("no idle worker")

    def pause(self) -> None:
        """Freeze workers mid-file (POSIX); elsewhere they finish their current file."""
        if self._paused_at is not None:
            return
        self._paused_at = time.monotonic()
        if hasattr(signal, "SIGSTOP"):
            for w in self._workers:
                _signal(w.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self._paused_at is None:
            return
        paused = time.monotonic() - self._paused_at
        self._paused_at = None
        for w in self._workers:
            w.paused_for += paused
            w.spawned += paused
            if w.queued is not None:
                w.queued.paused_for += paused
            if hasattr(signal, "SIGCONT"):
                _signal(w.process.pid, signal.SIGCONT)

    def poll(self, timeout: float = 0.2) -> list[WorkerEvent]:
        """Collect worker messages; turn crashes and time-outs into failures."""
        events: list[WorkerEvent] = []
        conns = [w.conn for w in self._workers]
        for conn in wait_any(conns, timeout) if conns else []:
            while True:
                try:
                    if not conn.poll():
                        break
                    msg = conn.recv()
                except (EOFError, OSError):
                    break   # the worker died; _check_health reports it
                events.extend(self._handle(msg))
        events.extend(self._check_health())
        return events

    def _by_wid(self, wid: int) -> _Worker | None:
        return next((w for w in self._workers if w.wid == wid), None)

    def _handle(self, msg: tuple) -> list[WorkerEvent]:
        kind, wid, task_id, payload = msg
        worker = self._by_wid(wid)
        if kind == "fatal":
            self.fatal = payload
            if worker:
                worker.task = None   # not the file's fault (no model, a full disk): it stays pending
            return []
        if kind == "ready":
            if worker:
                worker.ready = True
                self._hung_before_ready = False   # the model loads: a hang is a file's
                # The time limit is for decoding one file, not for starting a worker.
                worker.active_at = time.monotonic()
                worker.paused_for = 0.0
                if worker.queued is not None:
                    worker.queued.active_at, worker.queued.paused_for = worker.active_at, 0.0
            return []
        if worker is None:
            return []  # a late message from a worker already replaced
        if worker.task is not None and worker.task.task_id == task_id:
            task, state = worker.task, worker
        elif worker.queued is not None and worker.queued.task.task_id == task_id:
            task, state = worker.queued.task, worker.queued
        else:
            return []
        # The time limit is for a file that stops moving on (a hung decoder), not for a long one: a two-hour
        # film on a slow laptop takes longer than the limit, telling its progress after every segment.
        state.active_at, state.paused_for = time.monotonic(), 0.0
        if kind == "probed":
            state.probed = True
        if kind == "decoded":
            state.decoded = True
            return []
        if kind in ("done", "failed"):
            if state is worker:
                worker.promote()
            else:
                worker.queued = None
        return [WorkerEvent(kind, task, payload)]

    def _check_health(self) -> list[WorkerEvent]:
        events: list[WorkerEvent] = []
        slept = self._gaps.missed()
        for w in self._workers:
            w.paused_for += slept
            w.spawned += slept
            if w.queued is not None:
                w.queued.paused_for += slept
        now = time.monotonic()
        for w in list(self._workers):
            if (not w.ready and not w.probed and self._paused_at is None and w.process.is_alive()
                    and now - w.spawned > self.config.startup_timeout):
                # Stuck loading the model (a driver or disk that never answers): every replacement
                # would hang the same way, so stop the run; its files stay pending.
                w.process.kill()
                w.process.join(2)
                w.conn.close()
                self._workers.remove(w)
                self.fatal = self.fatal or (
                    f"a worker did not load the model within {self.config.startup_timeout:.0f} s; nothing was "
                    "lost. Check the model with `clipseek model verify`, or index with --device cpu")
                continue
            if w.task is None and w.process.is_alive():
                continue
            if not w.process.is_alive():
                code = w.process.exitcode
                w.conn.close()
                self._workers.remove(w)
                if w.task is not None:
                    events.extend(self._blame(w, f"the decoder crashed on this file (worker exit code {code})"))
                if self.fatal is None:
                    self._spawn()
                continue
            queued_late = (w.queued is not None and self._paused_at is None
                           and now - w.queued.active_at - w.queued.paused_for > self.config.timeout)
            if ((w.ready or w.probed) and self._paused_at is None
                    and now - w.active_at - w.paused_for > self.config.timeout) or queued_late:
                w.process.kill()
                w.process.join(2)
                w.conn.close()
                self._workers.remove(w)
                if not w.ready:
                    # It hung decoding while its model loaded (see background_model): the file's fault,
                    # unless it happens again to the next worker, which points at the model load.
                    if self._hung_before_ready:
                        self.fatal = self.fatal or (
                            "two workers in a row stopped answering before their model was loaded; nothing more "
                            "was lost. Check the model with `clipseek model verify`, or index with --device cpu")
                        continue
                    self._hung_before_ready = True
                events.extend(self._blame(
                    w, stalled_reason(self.config.timeout)))
                self._spawn()
        return events

    @staticmethod
    def _blame(w: _Worker, reason: str) -> list[WorkerEvent]:
        """A stopped or crashed worker's files: the one it was decoding failed; the one whose decoding was done,
        if it held two, goes back to be indexed again."""
        blamed = w.decoding()
        return [WorkerEvent("failed", task, reason) if task is blamed else
                WorkerEvent("lost", task, "its worker stopped while decoding another file")
                for task in w.held()]


def _signal(pid: int | None, sig: int) -> None:
    if pid is None:
        return
    try:
        os.kill(pid, sig)
    except OSError:
        pass
