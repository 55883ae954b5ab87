"""Run pending files through a worker pool and write each result in one transaction.

The pool is local worker processes, or actors on a Ray cluster (``ray_address``). Files are claimed
in the catalog as workers fall idle (indexer/claims.py), so indexers sharing a catalog split the work.

Order of writes for one file (Chroma's rule): catalog rows first (the truth, one
transaction), then the ANN index replays the catalog's change log; the index and its
manifest are saved every few seconds and at the end, with the watermark last.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from engine.api.types import Progress
from engine.errors import ClipSeekError
from engine.indexer.claims import LEASE_SECONDS, ClaimQueue, release_stale_claims
from engine.indexer.control import IndexControl
from engine.indexer.declared_lengths import DeclaredLengthReader
from engine.indexer.pool import PoolConfig, Task, WatchGaps, WorkerPool, local_worker_threads
from engine.indexer.waiting_copies import WaitingCopies
from engine.settings import Settings
from engine.vectors.store import unsaved_notice

log = logging.getLogger(__name__)

SAVE_EVERY_SECONDS = 5.0
MAX_WORKER_LOSSES = 3   # a file whose worker dies this often in one run is failed, not retried forever


@dataclass
class _FileState:
    file_id: int
    path: str
    size: int
    duration: float | None = None     # probed by the worker
    declared: float | None = None     # what the container's header says, read beside the indexing
    seconds_done: float = 0.0


class Indexer:
    def __init__(self, catalog, vectors, bundle_dir: Path, fingerprint: str, settings: Settings,
                 thumbs_dir: Path, emit: Callable[[str, object], None] | None = None,
                 ray_address: str | None = None, exclusive: bool = False) -> None:
        self.catalog = catalog
        self.vectors = vectors
        self.bundle_dir = Path(bundle_dir)
        self.fingerprint = fingerprint
        self.settings = settings
        self.thumbs_dir = Path(thumbs_dir)
        self.emit = emit or (lambda _name, _payload: None)
        self.ray_address = ray_address
        self.exclusive = exclusive      # the library's lock is ours: no other indexer can be running
        self.lease_seconds = LEASE_SECONDS
        self._losses: dict[int, int] = {}
        self.claims: ClaimQueue | None = None
        self._copies = WaitingCopies()
        self._unsaved = False

    def run(self, progress: Callable[[Progress], None] | None = None,
            control: IndexControl | None = None, failed_in_scan: int = 0, skipped_in_scan: int = 0,
            removed_in_scan: int = 0) -> Progress:
        """``failed_in_scan``, ``skipped_in_scan``: files the scan before this run already failed or skipped
        (reconcile); they are counted with this run's, so its totals cover every file it looked at.
        ``removed_in_scan``: files the scan found gone (or left out), whose moments left the library."""
        control = control or IndexControl()
        files = self.catalog.files(status="pending")
        release_stale_claims(self.catalog, files, self.exclusive)
        tracker = _Tracker({f.id: _FileState(f.id, f.path, f.size or 0) for f in files})
        tracker.count_decided(failed=failed_in_scan, skipped=skipped_in_scan)
        tracker.removed = removed_in_scan
        report = self._reporter(progress, tracker)
        self.claims = ClaimQueue(self.catalog, lease_seconds=self.lease_seconds)
        self._copies = WaitingCopies()
        files = self._copy_twins(files, tracker, report, control)
        if not files or control.cancelled:
            final = tracker.snapshot("cancelled" if files else "done")
            report(final, force=True)
            return final

        pool = self._start_pool(len(files))
        tracker.looking_from_now()           # starting the workers, however long, was no sleep
        lengths = DeclaredLengthReader(tracker.states.values()).start()
        next_task = 0
        last_save = time.monotonic()
        state = "done"
        try:
            while True:
                self.claims.renew_if_due()
                if control.cancelled:
                    pool.kill_all()
                    state = "cancelled"
                    break
                if control.paused:
                    pool.pause()
                    tracker.pause()
                    report(tracker.snapshot("paused"), force=True)
                    control.wait_while_paused(0.25)
                    continue
                pool.resume()
                tracker.resume()
                # Claim only as many files as there are idle workers: the rest stay free for other indexers.
                taken = self.claims.take(pool.idle_slots())
                settled_here = 0     # files that need no worker: the next ones are claimed without waiting
                for f in taken:
                    tracker.add(f)
                    if self._copies.indexed_before(f) and self._copy_one(f, tracker):
                        self._segments_added()
                        settled_here += 1
                        continue
                    if self._copies.holds(f):
                        settled_here += 1
                        continue     # a copy of it is being decoded: it takes that one's moments after
                    next_task += 1
                    pool.submit(Task(next_task, f.id, f.path, f.content_hash or f"file{f.id}"))
                    tracker.current = f.path
                if pool.busy() == 0 and not taken:
                    break
                for ev in pool.poll(0 if settled_here else 0.2):
                    self._handle(ev, tracker)
                if pool.fatal:
                    raise ClipSeekError(pool.fatal)
                if self._unsaved and time.monotonic() - last_save > SAVE_EVERY_SECONDS:
                    self._save()
                    last_save = time.monotonic()
                report(tracker.snapshot("running"))
        except KeyboardInterrupt:
            pool.kill_all()   # workers ignore Ctrl+C; the files they held stay pending
            raise
        finally:
            lengths.stop()
            pool.close()
            self.claims.release_all()
            self._save()
        if state == "done":
            tracker.drop_unstarted()   # files another indexer sharing the catalog took
        final = tracker.snapshot(state)
        report(final, force=True)
        return final

    def _copy_twins(self, files: list, tracker: "_Tracker", report, control: IndexControl) -> list:
        """Index the pending files whose content an indexed file holds by copying its moments (a backup, a
        folder renamed while the library was closed: see Catalog.copy_from_twin); returns the others.
        Stops early, leaving the rest pending, when the run is cancelled."""
        twins = set(self.catalog.pending_twins(self.fingerprint)) if files else set()
        rest = []
        for n, f in enumerate(files):
            while control.paused and not control.cancelled:
                tracker.pause()
                report(tracker.snapshot("paused"), force=True)
                control.wait_while_paused(0.25)
            tracker.resume()
            if control.cancelled:
                rest.extend(files[n:])
                break
            if f.id not in twins or not self._copy_one(f, tracker):
                rest.append(f)
                continue
            report(tracker.snapshot("running"))
        if len(rest) < len(files):
            self.vectors.apply_changes(self.catalog)
            self._save()
        return rest

    def _copy_one(self, f, tracker: "_Tracker") -> bool:
        """Index ``f`` with the moments of an indexed copy of it; False when there is none to copy from."""
        if self.catalog.copy_from_twin(f.id, self.fingerprint, self.claims.owner) is None:
            return False
        self.claims.finished(f.id)
        tracker.current = f.path
        st = tracker.states[f.id]
        copied = self.catalog.file_by_id(f.id)
        st.duration = copied.duration if copied else None
        tracker.finish(st, "indexed", copied=True)
        self.emit("file_done", (f.path, "indexed"))
        return True

    def _segments_added(self) -> None:
        """The catalog has new segments: the vector index takes them now, and is saved soon."""
        self.vectors.apply_changes(self.catalog)
        self._unsaved = True

    def _settle_copies(self, file_id: int, indexed: bool, tracker: "_Tracker") -> None:
        """The files that waited for a copy of theirs to be decoded take its moments; when it ended without
        any (failed, skipped, its worker lost), they go back to the queue to be decoded themselves."""
        copied = False
        for f in self._copies.settle(file_id, indexed):
            if indexed and self._copy_one(f, tracker):
                copied = True
            else:
                self.claims.give_back(f.id)
        if copied:
            self._segments_added()

    def _start_pool(self, n_files: int):
        config = PoolConfig(
            workers=1, bundle_dir=str(self.bundle_dir), device=self.settings.device, threads_per_worker=1,
            settings=asdict(self.settings), thumbs_dir=str(self.thumbs_dir),
            timeout=self.settings.file_timeout_seconds)
        if self.ray_address:
            from engine.indexer.ray_pool import RayWorkerPool, disconnect

            try:
                wanted = self.settings.workers or RayWorkerPool.cluster_cpus(self.ray_address)
                config.workers = min(wanted, n_files)
                return RayWorkerPool(config, self.ray_address, self.fingerprint)
            except BaseException:
                disconnect()
                raise
        config.workers = min(self.settings.resolved_workers(), n_files)
        config.threads_per_worker = local_worker_threads(config.workers)
        return WorkerPool(config)

    # -- results -------------------------------------------------------------
    def _handle(self, ev, tracker: "_Tracker") -> None:
        st = tracker.states.get(ev.task.file_id)
        if st is None:
            return
        if ev.kind == "probed":
            st.duration = float(ev.payload)
        elif ev.kind == "progress":
            st.seconds_done = float(ev.payload)
        elif ev.kind == "done":
            self._write(ev.task, ev.payload)
            self.claims.finished(ev.task.file_id)
            st.duration = ev.payload.duration
            tracker.finish(st, "indexed" if ev.payload.segments else "skipped")
            self.emit("file_done", (ev.task.path, "indexed"))
            self._settle_copies(ev.task.file_id, bool(ev.payload.segments), tracker)
        elif ev.kind == "lost":
            # Its worker went away (a Ray node lost, a process killed): not the file's fault, unless it
            # keeps happening to the same file.
            self._losses[ev.task.file_id] = self._losses.get(ev.task.file_id, 0) + 1
            if self._losses[ev.task.file_id] < MAX_WORKER_LOSSES:
                self.claims.give_back(ev.task.file_id)
                st.seconds_done = 0.0
                self._settle_copies(ev.task.file_id, False, tracker)
                return
            self.catalog.mark_failed(ev.task.file_id, f"{MAX_WORKER_LOSSES} workers stopped while indexing it "
                                                      f"(last: {ev.payload})")
            self.claims.finished(ev.task.file_id)
            tracker.finish(st, "failed")
            self.emit("file_done", (ev.task.path, "failed"))
            self._settle_copies(ev.task.file_id, False, tracker)
        elif ev.kind == "failed":
            self.catalog.mark_failed(ev.task.file_id, str(ev.payload))
            self.claims.finished(ev.task.file_id)
            tracker.finish(st, "failed")
            self.emit("file_done", (ev.task.path, "failed"))
            self._settle_copies(ev.task.file_id, False, tracker)

    def _write(self, task: Task, result) -> None:
        if not result.segments:
            self.catalog.mark_skipped(task.file_id, "no frames could be decoded from this file")
            return
        self.catalog.record_indexed(task.file_id, result, result.segments, self.fingerprint)
        self._segments_added()

    def _save(self) -> None:
        self._unsaved = False
        try:
            self.vectors.save()
            # The log may be trimmed only when no other reader can still need it: one library folder's
            # index (SQLite), or a store whose watermark every process shares. Other machines' hnswlib
            # caches of a PostgreSQL catalog replay it at their own pace.
            if self.catalog.dialect == "sqlite" or self.vectors.shared_watermark:
                self.catalog.trim_changes(self.vectors.synced_through)
        except OSError as exc:
            # The catalog stays the truth; the index is rebuilt from it on the next open.
            log.info("could not save the vector index (%s); it will be rebuilt from the catalog", exc)
            self.emit("notice", unsaved_notice(exc, getattr(self.vectors, "dir", None)))

    def _reporter(self, progress, tracker):
        last = [0.0]

        def report(p: Progress, force: bool = False) -> None:
            now = time.monotonic()
            if not force and now - last[0] < 0.25:
                return
            last[0] = now
            if progress:
                progress(p)
            self.emit("progress", p)
        return report


class _Tracker:
    """Counts files and seconds of video; rate and ETA exclude paused time, and time the computer slept
    (``WatchGaps``: snapshots are taken every 0.2 s while running)."""

    def __init__(self, states: dict[int, _FileState]) -> None:
        self.states = states
        self.total = len(states)
        self.done = 0
        self.counts = {"indexed": 0, "failed": 0, "skipped": 0}
        self.seconds_finished = 0.0
        self.copied = 0
        self.seconds_copied = 0.0     # finished without decoding: left out of the rate
        self.removed = 0              # files gone from their folders, taken out by the scan before the run
        self.bytes_done = 0
        self.current = ""
        self._t0 = time.monotonic()
        self._paused_total = 0.0
        self._paused_at: float | None = None
        self._gaps = WatchGaps()

    def add(self, f) -> None:
        """A claimed file (one that became pending after the run started is counted from now)."""
        if f.id not in self.states:
            self.states[f.id] = _FileState(f.id, f.path, f.size or 0)
            self.total += 1

    def drop_unstarted(self) -> None:
        """At the end of a full run, files still listed were never claimed by it: another indexer
        sharing the catalog took them, so they leave this run's totals."""
        for st in list(self.states.values()):
            self.states.pop(st.file_id)
            self.total -= 1

    def count_decided(self, failed: int, skipped: int) -> None:
        """Files that ended before any worker saw them (in the scan)."""
        for outcome, n in (("failed", failed), ("skipped", skipped)):
            self.counts[outcome] += n
            self.done += n
            self.total += n

    def looking_from_now(self) -> None:
        """Snapshots come every 0.2 s from now on: a longer gap is a sleep."""
        self._gaps.missed()

    def pause(self) -> None:
        if self._paused_at is None:
            self._paused_at = time.monotonic()

    def resume(self) -> None:
        if self._paused_at is not None:
            self._paused_total += time.monotonic() - self._paused_at
            self._paused_at = None
            self.looking_from_now()    # the pause is left out once, above

    def finish(self, st: _FileState, outcome: str, copied: bool = False) -> None:
        self.done += 1
        self.counts[outcome] += 1
        self.seconds_finished += st.duration or 0.0
        if copied:
            self.copied += 1
            self.seconds_copied += st.duration or 0.0
        self.bytes_done += st.size
        st.seconds_done = st.duration or 0.0
        self.states.pop(st.file_id, None)

    def snapshot(self, state: str) -> Progress:
        slept = self._gaps.missed()
        if self._paused_at is None:
            self._paused_total += slept
        now = self._paused_at or time.monotonic()
        elapsed = max(1e-6, now - self._t0 - self._paused_total)
        partial = sum(s.seconds_done for s in self.states.values())
        seconds_done = self.seconds_finished + partial
        # A file not probed yet counts the length its header declares; one whose header says nothing is guessed
        # from its size at the bytes per second of the files whose length is known.
        lengths = [(s.duration or s.declared, s.size) for s in self.states.values()]
        known = self.seconds_finished + sum(seconds for seconds, _ in lengths if seconds)
        known_bytes = self.bytes_done + sum(size for seconds, size in lengths if seconds)
        unknown_bytes = sum(size for seconds, size in lengths if not seconds)
        sec_per_byte = known / known_bytes if known_bytes else 0.0
        seconds_total = known + unknown_bytes * sec_per_byte
        rate = (seconds_done - self.seconds_copied) / elapsed
        eta = (seconds_total - seconds_done) / rate if rate > 0 and state == "running" else None
        return Progress(files_done=self.done, files_total=self.total, seconds_done=seconds_done,
                        seconds_total=max(seconds_total, seconds_done), rate=rate, eta_seconds=eta,
                        current=self.current if state == "running" else "", state=state,
                        indexed=self.counts["indexed"], failed=self.counts["failed"],
                        skipped=self.counts["skipped"],
                        total_is_estimate=any(not seconds for seconds, _ in lengths),
                        copied=self.copied, seconds_copied=self.seconds_copied, removed=self.removed)
