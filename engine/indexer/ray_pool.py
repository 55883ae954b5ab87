"""Workers on a Ray cluster, behind the same interface as the local WorkerPool.

Each worker is a Ray actor holding one CPU of some node of the cluster: it loads the model once
(from the bundle folder when that node has it, else from a copy shipped through Ray's object
store), then decodes and encodes whole files. Results travel back to the indexer, which writes them
to the (shared) catalog and vector store; thumbnails travel back as JPEG bytes, so workers need
to read the videos (the same path on every node: a network share) but never the library folder.

A worker that dies mid-file (its process killed, its node lost) costs nothing: the file goes back
to the catalog's pending files for any indexer to claim again, and a new worker takes the place.
A worker whose file shows no progress for the time limit is killed and its file failed, as a local one
is: workers post their progress to a small board actor, which the indexer reads every few seconds. That
limit counts from the worker having loaded the model; loading has its own limit, from the moment the
worker's process started (a worker waiting for a free CPU of the cluster is not timed).
"""
from __future__ import annotations

import logging
import os
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ClipSeekError
from engine.indexer.pool import PoolConfig, Task, WatchGaps, WorkerEvent, stalled_reason
from engine.util.atomic import atomic_write_bytes

log = logging.getLogger(__name__)

RAY_NAMESPACE = "clipseek"
CONNECT_SECONDS = 5.0
PROGRESS_READ_SECONDS = 2.0   # how often the indexer reads the workers' progress board
# Workers that die before any has loaded the model (killed while loading it, out of memory): after this
# many in a row the run stops rather than respawning them forever.
MAX_DEATHS_BEFORE_LOADING = 3
BUNDLE_CACHE = Path(tempfile.gettempdir()) / "clipseek-ray-bundles"


class RayUnavailable(ClipSeekError):
    """Ray is not installed, or the cluster cannot be reached."""


def require_ray():
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable("indexing on a Ray cluster needs Ray: install clipseek[shared] "
                             "(pip install 'clipseek[shared]')") from exc
    return ray


def connect(address: str):
    """Join the cluster at ``address`` (host:port of its head node) as a driver."""
    ray = require_ray()
    if ray.is_initialized():
        return ray
    _check_reachable(address)
    try:
        ray.init(address=address, namespace=RAY_NAMESPACE, logging_level=logging.WARNING, log_to_driver=False,
                 configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RayUnavailable(f"no Ray cluster answers at {address} ({_reason(exc)}); start one with "
                             f"`ray start --head` and pass its address, host:port") from exc
    return ray


def disconnect() -> None:
    """Leave the cluster. A process that stays a driver is ended by Ray (exit status 1, nothing on stderr) when
    the cluster's head goes away, so the window or a library left open must not stay connected between runs."""
    try:
        import ray
    except ImportError:
        return
    if ray.is_initialized():
        ray.shutdown()


def _check_reachable(address: str) -> None:
    """ray.init retries an address where nothing listens for minutes: knock first, briefly."""
    if "://" in address:
        return   # a ray:// client address: Ray checks it itself
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise RayUnavailable(f"{address!r} is not a Ray address; pass the head node's host:port, e.g. "
                             "10.0.0.5:6379 (`ray start --head` prints it)")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as exc:
        raise RayUnavailable(f"no Ray cluster answers at {address} ({exc.strerror or exc}); start one with "
                             "`ray start --head` and pass its address, host:port") from exc


@dataclass
class BundleCopy:
    """A model bundle's files, for nodes that do not have the bundle folder."""
    fingerprint: str
    files: dict[str, bytes]

    @classmethod
    def of(cls, bundle_dir: Path, fingerprint: str) -> "BundleCopy":
        root = Path(bundle_dir)
        return cls(fingerprint, {str(p.relative_to(root)): p.read_bytes()
                                 for p in sorted(root.rglob("*")) if p.is_file()})

    def materialise(self, cache: Path | None = None) -> Path:
        """The copy as a bundle folder in this node's cache, written again if what is there is damaged
        (a copy shipped from a damaged bundle, fixed since, has the same fingerprint)."""
        from engine.runtime.bundle import verify

        target = (cache or BUNDLE_CACHE) / self.fingerprint
        if not (target / "bundle.json").is_file() or verify(target):
            for name, data in self.files.items():
                atomic_write_bytes(target / name, data)
        return target


class FileEncoder:
    """The actor: one model, one file at a time (Ray makes it remote in RayWorkerPool)."""

    def __init__(self, bundle_dir: str, fingerprint: str, bundle_copy_ref: Any, device: str,
                 settings_dict: dict, board: Any = None, key: int = 0) -> None:
        if board is not None:
            board.post.remote(key, 0)   # started: from now on it may take the startup limit to load the model
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
        import cv2

        from engine.indexer.worker import INDEXING_GRAPHS
        from engine.runtime.model import load_model
        from engine.settings import Settings

        cv2.setNumThreads(1)
        path = Path(bundle_dir)
        if not (path.is_dir() and _fingerprint_of(path) == fingerprint):
            import ray

            path = ray.get(bundle_copy_ref).materialise()
        self.settings = Settings(**settings_dict)
        self.model = load_model(path, device=device, intra_threads=1, graphs=INDEXING_GRAPHS)
        self.board, self.key = board, key
        self.news = 0   # how many times its files moved on (probed, a segment embedded, decoded)

    def pid(self) -> int:
        return os.getpid()

    def _moved_on(self, *_args) -> None:
        self.news += 1
        if self.board is not None:
            self.board.post.remote(self.key, self.news)   # not waited for

    def index_file(self, path: str, thumb_key: str) -> tuple[str, Any, dict[str, bytes]]:
        """("done", FileResult with thumbnail names relative to the thumbs folder, {name: jpeg})
        or ("failed", reason, {})."""
        from engine.indexer.embed_file import embed_file
        from engine.indexer.worker import file_failure

        with tempfile.TemporaryDirectory(prefix="clipseek-thumbs-") as thumbs:
            try:
                result = embed_file(path, self.model, self.settings, Path(thumbs), thumb_key,
                                    on_probe=self._moved_on, on_progress=self._moved_on, on_decoded=self._moved_on)
            except Exception as exc:  # this file's problem: reported as its failure
                return "failed", file_failure(exc), {}
            jpegs: dict[str, bytes] = {}
            for seg in result.segments:
                if seg.thumbnail:
                    name = str(Path(seg.thumbnail).relative_to(thumbs))
                    if name not in jpegs:
                        jpegs[name] = Path(seg.thumbnail).read_bytes()
                    seg.thumbnail = name
        return "done", result, jpegs


class ProgressBoard:
    """The actor the workers post their progress counts to: {worker key: count}."""

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}

    def post(self, key: int, count: int) -> None:
        self.counts[key] = count

    def read(self) -> dict[int, int]:
        return dict(self.counts)


def _fingerprint_of(path: Path) -> str | None:
    from engine.runtime.bundle import open_bundle

    try:
        return open_bundle(path).fingerprint
    except ClipSeekError:
        return None


class LoadWatch:
    """Tells a worker that died at work from workers that cannot load the model.

    Only an exception raised while loading says so at once: every replacement would raise it too. A
    death alone does not, as the process may have been killed mid-file before its first call's answer
    reached the indexer; deaths count only while workers keep dying before any has loaded the model.
    """

    def __init__(self, limit: int = MAX_DEATHS_BEFORE_LOADING) -> None:
        self.limit = limit
        self.deaths = 0

    def loaded(self) -> None:
        self.deaths = 0

    def died(self, loaded: bool, errors: list[BaseException]) -> str | None:
        """The reason to stop the run, or None to replace the worker. ``errors``: what its calls raised."""
        for exc in errors:
            if _init_failed(exc):
                return _reason(exc)
        if loaded:
            self.deaths = 0
            return None
        self.deaths += 1
        if self.deaths >= self.limit:
            return (f"{self.deaths} workers in a row stopped before loading it (last: {_reason(errors[-1])}); "
                    "nothing was lost")
        return None


@dataclass
class _Slot:
    actor: Any
    ready: Any                  # the future of the actor's first call: it fails if the model cannot load
    task: Task | None = None
    future: Any = None
    key: int = 0                # its name on the progress board
    active_at: float = 0.0      # when it was sent its file or its progress count last changed
    news: int = 0               # its progress count as last read
    spawned: float = field(default_factory=time.monotonic)
    loaded: bool = False        # its first call answered: the model is loaded
    started_at: float | None = None   # when the board showed its process started (not waiting for a CPU)


class RayWorkerPool:
    """``workers`` actors (default: one per CPU of the cluster); the WorkerPool interface."""

    def __init__(self, config: PoolConfig, address: str, fingerprint: str) -> None:
        self.config = config
        self.fatal: str | None = None
        self._load_watch = LoadWatch()
        self._ray = connect(address)
        self._paused = False
        self._gaps = WatchGaps()
        remote = self._ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(FileEncoder)
        self._board = self._ray.remote(num_cpus=0, max_restarts=0)(ProgressBoard).remote()
        self._reading: Any = None   # the board's answer, while it is awaited
        self._read_at = 0.0
        self._next_key = 0
        copy = self._ray.put(BundleCopy.of(Path(config.bundle_dir), fingerprint))
        self._spawn_actor = lambda key: remote.remote(config.bundle_dir, fingerprint, copy, config.device,
                                                      config.settings, self._board, key)
        self._slots = [self._spawn() for _ in range(max(1, config.workers))]

    @staticmethod
    def cluster_cpus(address: str) -> int:
        return max(1, int(connect(address).cluster_resources().get("CPU", 1)))

    def _spawn(self) -> _Slot:
        self._next_key += 1
        actor = self._spawn_actor(self._next_key)
        return _Slot(actor, actor.pid.remote(), key=self._next_key)

    # -- lifecycle -----------------------------------------------------------
    def close(self) -> None:
        for slot in self._slots:
            self._ray.kill(slot.actor)
        self._slots.clear()
        if self._board is not None:
            self._ray.kill(self._board)
        disconnect()

    def kill_all(self) -> list[Task]:
        held = [s.task for s in self._slots if s.task is not None]
        self.close()
        return held

    # -- dispatch ------------------------------------------------------------
    def idle_slots(self) -> int:
        return 0 if self._paused else sum(1 for s in self._slots if s.task is None)

    def busy(self) -> int:
        return sum(1 for s in self._slots if s.task is not None)

    def submit(self, task: Task) -> None:
        for slot in self._slots:
            if slot.task is None:
                slot.task, slot.active_at = task, time.monotonic()
                slot.future = slot.actor.index_file.remote(task.path, task.thumb_key)
                return
        raise RuntimeError("no idle worker")

    def pause(self) -> None:
        """Actors cannot be frozen mid-file: a paused pool finishes its files and takes no new ones."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    def poll(self, timeout: float = 0.2) -> list[WorkerEvent]:
        futures = {s.future: s for s in self._slots if s.future is not None}
        events: list[WorkerEvent] = []
        if futures:
            done, _ = self._ray.wait(list(futures), num_returns=len(futures), timeout=timeout)
            for future in done:
                events.extend(self._collect(futures[future]))
        else:
            time.sleep(timeout)
        self._note_loaded()
        events.extend(self._check_time_limits())
        return events

    def _note_loaded(self) -> None:
        waiting = {s.ready: s for s in self._slots if not s.loaded}
        if not waiting:
            return
        answered, _ = self._ray.wait(list(waiting), num_returns=len(waiting), timeout=0)
        for ref in answered:
            self._first_answer(waiting[ref])   # an error: its death is handled with the file it held

    def _first_answer(self, slot: _Slot) -> BaseException | None:
        """What the worker's first call raised, if it did; marks the worker loaded once it answered."""
        if slot.loaded:
            return None
        try:
            self._ray.get(slot.ready, timeout=0)
        except Exception as exc:
            return exc
        slot.loaded = True
        slot.active_at = max(slot.active_at, time.monotonic())   # its file's clock starts now
        self._load_watch.loaded()
        return None

    def _collect(self, slot: _Slot) -> list[WorkerEvent]:
        task, future = slot.task, slot.future
        slot.task, slot.future = None, None
        try:
            kind, payload, jpegs = self._ray.get(future)
        except self._ray.exceptions.RayError as exc:
            return self._replace(slot, task, exc)
        if kind == "done":
            for seg in payload.segments:
                if seg.thumbnail:
                    target = Path(self.config.thumbs_dir) / seg.thumbnail
                    if not target.exists():
                        atomic_write_bytes(target, jpegs[seg.thumbnail])
                    seg.thumbnail = str(target)
        return [WorkerEvent(kind, task, payload)]

    def _replace(self, slot: _Slot, task: Task, exc: BaseException) -> list[WorkerEvent]:
        """The actor died (killed, out of memory, node lost) or never loaded the model."""
        self._slots.remove(slot)
        why = self._load_failure(slot, exc)
        if why is not None:
            self.fatal = self.fatal or f"a Ray worker could not load the model: {why}"
            return [WorkerEvent("lost", task, self.fatal)]
        self._slots.append(self._spawn())
        return [WorkerEvent("lost", task, f"the Ray worker holding it stopped ({_reason(exc)})")]

    def _load_failure(self, slot: _Slot, exc: BaseException) -> str | None:
        start_exc = self._first_answer(slot)
        return self._load_watch.died(slot.loaded, [start_exc, exc] if start_exc else [exc])

    def _check_time_limits(self) -> list[WorkerEvent]:
        events: list[WorkerEvent] = []
        slept = self._gaps.missed()       # this computer slept: the workers' progress could not be read meanwhile
        for slot in self._slots:
            slot.active_at += slept
            slot.spawned += slept
            if slot.started_at is not None:
                slot.started_at += slept
        now = time.monotonic()
        self._read_board(now)
        for slot in list(self._slots):
            if not slot.loaded:
                # A file's time limit counts from its worker having loaded the model, as a local worker's does:
                # waiting for a free CPU, starting and loading a model on a busy node are not a decoder hang.
                # Loading has its own limit, from the process's start (from its request, without the board).
                began = slot.started_at if self._board is not None else slot.spawned
                if began is not None and now - began > self.config.startup_timeout:
                    events.extend(self._stuck_loading(slot))
                continue
            if slot.task is not None and now - slot.active_at > self.config.timeout:
                task = slot.task
                self._ray.kill(slot.actor)
                self._slots.remove(slot)
                self._slots.append(self._spawn())
                events.append(WorkerEvent("failed", task, stalled_reason(self.config.timeout)))
        return events

    def _stuck_loading(self, slot: _Slot) -> list[WorkerEvent]:
        """A worker still loading the model after the startup limit (a disk or driver that never answers): every
        replacement would hang the same way, so the run stops; its file goes back to be indexed later."""
        self._ray.kill(slot.actor)
        self._slots.remove(slot)
        self.fatal = self.fatal or (
            f"a Ray worker did not load the model within {self.config.startup_timeout:.0f} s; nothing was lost. "
            "Check the model with `clipseek model verify` on that machine, or index with --device cpu")
        return [] if slot.task is None else [WorkerEvent("lost", slot.task, self.fatal)]

    def _read_board(self, now: float) -> None:
        """Collect the progress board's last answer and ask again every PROGRESS_READ_SECONDS: a worker whose
        count changed restarts its file's clock. (A count moved on by a worker's previous file restarts it
        once, early in the next: the limit can come a few seconds later, never sooner.) Should the board
        be lost, it is not read again, and the limit holds for each file as a whole."""
        if self._board is None:
            return
        if self._reading is not None:
            answered, _ = self._ray.wait([self._reading], timeout=0)
            if not answered:
                return
            try:
                counts = self._ray.get(self._reading)
            except self._ray.exceptions.RayError as exc:
                log.warning("the Ray workers' progress board is lost (%s); from now on a file's time limit "
                            "counts from its start", exc)
                self._board = self._reading = None
                return
            self._reading = None
            for slot in self._slots:
                if slot.started_at is None and slot.key in counts:
                    slot.started_at = now
                news = counts.get(slot.key, slot.news)
                if news != slot.news:
                    slot.news, slot.active_at = news, now
        if now - self._read_at >= PROGRESS_READ_SECONDS:
            self._reading, self._read_at = self._board.read.remote(), now


def _init_failed(exc: BaseException) -> bool:
    """Ray marks the errors of an actor whose constructor raised."""
    return bool(getattr(exc, "actor_init_failed", False))


def _reason(exc: BaseException) -> str:
    """Ray's errors carry the remote traceback; the sentence worth showing is its last line."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else exc.__class__.__name__
