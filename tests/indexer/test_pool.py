"""Worker processes: a hung decoder is stopped, a crashed worker costs one file and is replaced."""
from __future__ import annotations

import multiprocessing
import os
import signal
import time
from dataclasses import asdict

import numpy as np
import pytest

from engine.indexer import pool as pool_module
from engine.indexer.pool import PoolConfig, Task, WorkerPool
from engine.settings import Settings
from tests.indexer.slow_process import Stretcher, long_video
from videogen import ShotSpec, make_video

pytestmark = pytest.mark.slow


def wait_for(pool, kinds, timeout=60):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        for ev in pool.poll(0.2):
            seen.append(ev)
            if ev.kind in kinds:
                return ev, seen
    raise AssertionError(f"no {kinds} event in {timeout} s; saw {[e.kind for e in seen]}")


@pytest.fixture
def pool_factory(tiny_bundle, tmp_path):
    pools = []

    def make(timeout=60.0):
        pool = WorkerPool(PoolConfig(workers=1, bundle_dir=str(tiny_bundle), device="cpu", threads_per_worker=1,
                                     settings=asdict(Settings()), thumbs_dir=str(tmp_path / "thumbs"),
                                     timeout=timeout))
        pools.append(pool)
        return pool
    yield make
    for p in pools:
        p.close()


def test_a_file_is_embedded_in_a_worker(pool_factory, tmp_path):
    video = make_video(tmp_path / "v.mp4", shots=[ShotSpec(2.0), ShotSpec(2.0)]).path
    pool = pool_factory()
    pool.submit(Task(1, 7, str(video), "abc123"))
    ev, seen = wait_for(pool, {"done", "failed"})
    assert ev.kind == "done", ev.payload
    assert ev.payload.segments and ev.payload.duration == pytest.approx(4.0, abs=0.1)
    assert "probed" in [e.kind for e in seen]
    assert all(os.path.isfile(s.thumbnail) for s in ev.payload.segments)


def frozen_worker(pool, freeze=True):
    """Freeze the worker (SIGSTOP) once it is ready: from outside, exactly a decoder that never returns.
    Its process id; ``freeze=False`` only waits for it to be ready."""
    deadline = time.monotonic() + 60
    while not pool._workers[0].ready and time.monotonic() < deadline:
        pool.poll(0.2)
    pid = pool._workers[0].process.pid
    if freeze:
        os.kill(pid, signal.SIGSTOP)
    return pid


def test_a_hung_decoder_is_stopped_and_the_pool_goes_on(pool_factory, tmp_path):
    video = make_video(tmp_path / "stuck.mp4").path
    pool = pool_factory(timeout=3.0)
    frozen_worker(pool)
    pool.submit(Task(1, 1, str(video), "stuck"))
    ev, _ = wait_for(pool, {"done", "failed"}, timeout=60)
    assert ev.kind == "failed" and "stopped after 3 s" in ev.payload
    video = make_video(tmp_path / "ok.mp4").path
    pool.submit(Task(2, 2, str(video), "ok"))
    ev, _ = wait_for(pool, {"done", "failed"})
    assert ev.kind == "done", ev.payload


def test_a_file_that_takes_longer_than_the_limit_but_moves_on_is_indexed(pool_factory, tmp_path):
    video = long_video(tmp_path / "long.mp4")
    # The limit leaves room for a noisy machine: stretched, the worker tells its progress every 2 s or so.
    pool = pool_factory(timeout=8.0)
    worker = frozen_worker(pool, freeze=False)
    # A worker's first file also pays for starting its decoder and the model's first run (a tenth of a second or
    # more): stretched 40-fold, that alone could outlast the limit before any progress. The slow laptop comes after.
    pool.submit(Task(1, 1, str(make_video(tmp_path / "first.mp4").path), "first"))
    ev, _ = wait_for(pool, {"done", "failed"})
    assert ev.kind == "done", ev.payload
    started = time.monotonic()
    stretcher = Stretcher(worker, at_least=9.0)
    try:
        pool.submit(Task(2, 2, str(video), "long"))
        ev, seen = wait_for(pool, {"done", "failed"}, timeout=240)
    finally:
        stretcher.stop()
    assert time.monotonic() - started > 8.0                    # longer than the limit, as the test means
    assert ev.kind == "done", ev.payload
    assert len([e for e in seen if e.kind == "progress"]) >= 2


def test_a_computer_that_slept_mid_file_does_not_fail_the_file(pool_factory, tmp_path, monkeypatch):
    """The whole computer stopped (a laptop's lid closed, on a system whose clock runs on through sleep; or
    `clipseek index` stopped with Ctrl+Z): neither the workers nor the indexer ran, so no worker was late."""
    monkeypatch.setattr(pool_module, "ASLEEP_AFTER_SECONDS", 2.0)
    video = long_video(tmp_path / "long.mp4", shots=20)
    pool = pool_factory(timeout=3.0)
    worker = frozen_worker(pool, freeze=False)
    pool.submit(Task(1, 1, str(video), "long"))
    wait_for(pool, {"probed"})
    os.kill(worker, signal.SIGSTOP)            # asleep: the worker stops, and the indexer polls no more
    time.sleep(5.0)                            # longer than the file's time limit
    woken = pool.poll(0.2)                     # awake: the indexer looks before the worker tells its next progress
    assert [(e.kind, e.payload) for e in woken] == []
    os.kill(worker, signal.SIGCONT)
    ev, _ = wait_for(pool, {"done", "failed"}, timeout=120)
    assert ev.kind == "done", ev.payload

    pool.submit(Task(2, 2, str(video), "hang"))   # while the indexer polls, a stopped worker is still a hang
    wait_for(pool, {"probed"})
    worker = pool._workers[0].process.pid
    os.kill(worker, signal.SIGSTOP)
    try:
        ev, _ = wait_for(pool, {"done", "failed"}, timeout=60)
    finally:
        if pool._workers and pool._workers[0].process.pid == worker:
            os.kill(worker, signal.SIGCONT)
    assert ev.kind == "failed" and "stopped after 3 s" in ev.payload


def test_a_crashed_worker_fails_its_file_only(pool_factory, tmp_path):
    video = make_video(tmp_path / "crash.mp4").path
    pool = pool_factory()
    pid = frozen_worker(pool)
    pool.submit(Task(1, 1, str(video), "x"))
    os.kill(pid, signal.SIGKILL)   # what a native crash in a decoder looks like from outside
    ev, _ = wait_for(pool, {"done", "failed"})
    assert ev.kind == "failed" and "crashed" in ev.payload
    video = make_video(tmp_path / "ok.mp4").path
    pool.submit(Task(2, 2, str(video), "ok"))
    ev, _ = wait_for(pool, {"done", "failed"})
    assert ev.kind == "done", ev.payload


def test_a_prestarted_worker_becomes_the_pools_worker(pool_factory, tmp_path):
    """`clipseek index` starts its worker before opening the library; the pool takes it instead of a new one."""
    video = make_video(tmp_path / "v.mp4", shots=[ShotSpec(2.0)]).path
    pool_module.prestart_workers(1, threads=1)
    prestarted = pool_module._prestarted[0][0]
    pool = pool_factory()
    assert pool._workers[0].process is prestarted and pool_module._prestarted == []
    pool.submit(Task(1, 7, str(video), "abc123"))
    ev, _ = wait_for(pool, {"done", "failed"})
    assert ev.kind == "done", ev.payload


def test_prestarted_workers_a_pool_cannot_use_are_stopped(pool_factory, tmp_path):
    pool_module.prestart_workers(2, threads=3)     # the pool below runs one thread per worker
    unused = [proc for proc, _conn, _threads in pool_module._prestarted]
    pool = pool_factory()
    assert pool._workers[0].process not in unused and pool_module._prestarted == []
    assert not any(proc.is_alive() for proc in unused)
    video = make_video(tmp_path / "v.mp4", shots=[ShotSpec(2.0)]).path
    pool.submit(Task(1, 7, str(video), "abc123"))
    assert wait_for(pool, {"done", "failed"})[0].kind == "done"


def test_index_with_nothing_to_do_leaves_no_worker_behind(tmp_path):
    from engine.api import Library
    from engine.cli.main import main

    Library.open(tmp_path / "lib").close()             # a library with no folders
    assert main(["--library", str(tmp_path / "lib"), "index"]) == 0
    assert pool_module._prestarted == []
    assert not [p for p in multiprocessing.active_children() if p.name.startswith("clipseek-worker")]


def test_a_model_that_fails_to_load_while_the_first_file_decodes_stops_the_run_and_loses_nothing(tiny_bundle,
                                                                                               tmp_path):
    """The worker decodes its first file while the model loads: a load that fails then is the model's fault."""
    import json
    import shutil

    from engine.api import Library
    from engine.errors import ClipSeekError

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    files = json.loads((bundle / "bundle.json").read_text())["files"]
    (bundle / files["frame_encoder"]).write_bytes(b"not an onnx graph")   # the search side still opens
    (tmp_path / "videos").mkdir()
    for i in range(2):
        make_video(tmp_path / "videos" / f"v{i}.mp4", shots=[ShotSpec(2.0)])
    lib = Library.open(tmp_path / "library", model=bundle)
    try:
        lib.add_folder(tmp_path / "videos")
        with pytest.raises(ClipSeekError) as stopped:
            lib.index()
        message = str(stopped.value)
        assert "the model could not be loaded" in message and "damaged after export" in message, message
        assert "Traceback" not in message
        assert [f.status for f in lib.catalog.files()] == ["pending"] * 2
    finally:
        lib.close()


def test_a_worker_decodes_its_first_file_while_the_model_loads(tiny_bundle, tmp_path):
    import threading

    from engine.indexer.background_model import BackgroundModel, ModelLoadFailed
    from engine.runtime.model import load_model

    release = threading.Event()

    def slow_load():
        release.wait(10)
        return load_model(tiny_bundle, device="cpu", graphs=("frame_encoder", "clip_encoder"))

    model = BackgroundModel(tiny_bundle, slow_load)
    assert model.info.frames_per_clip > 0          # bundle.json is read at once
    outcome = []
    model.when_loaded(outcome.append)
    assert outcome == []
    release.set()
    frames = np.zeros((2, 64, 64, 3), np.uint8)
    assert model.encode_frames(frames).shape == (2, model.info.embed_dim)
    assert outcome == [None]

    def broken():
        raise ValueError("the frame encoder is not an ONNX graph")

    failing = BackgroundModel(tiny_bundle, broken)
    with pytest.raises(ModelLoadFailed, match="not an ONNX graph"):
        failing.encode_frames(frames)
    seen = []
    failing.when_loaded(seen.append)
    assert isinstance(seen[0], ValueError)


def _serve_in_thread(tiny_bundle, tmp_path, monkeypatch, load, hand_over=True):
    """worker._serve on a thread with ``load`` as load_model; with ``hand_over`` its first file and then None
    are sent before it starts, else the test sends its own."""
    import threading
    from multiprocessing import Pipe

    import cv2

    import engine.runtime.model as runtime_model
    from engine.indexer import worker

    monkeypatch.setattr(runtime_model, "load_model", load)
    threads = cv2.getNumThreads()
    video = make_video(tmp_path / "v.mp4", shots=[ShotSpec(2.0)]).path
    parent, child = Pipe()
    if hand_over:
        parent.send(Task(1, 7, str(video), "abc123"))
        parent.send(None)
    serving = threading.Thread(target=worker._serve, args=(0, child, str(tiny_bundle), "cpu", 1, asdict(Settings()),
                                                            str(tmp_path / "thumbs")))
    serving.start()
    yield parent
    serving.join(60)
    cv2.setNumThreads(threads)
    assert not serving.is_alive()


def _messages_until(conn, kinds):
    seen = []
    while not seen or seen[-1][0] not in kinds:
        assert conn.poll(60), f"the worker went quiet after {seen}"
        seen.append(conn.recv())
    return [m[0] for m in seen]


def test_a_worker_probes_its_first_file_while_the_model_loads(tiny_bundle, tmp_path, monkeypatch):
    import threading

    from engine.runtime.model import load_model

    loaded = threading.Event()
    release = threading.Event()

    def slow_load(*args, **kwargs):
        release.wait(30)
        model = load_model(*args, **kwargs)
        loaded.set()
        return model

    for parent in _serve_in_thread(tiny_bundle, tmp_path, monkeypatch, slow_load):
        assert _messages_until(parent, {"probed"}) == ["probed"] and not loaded.is_set()
        release.set()
        kinds = _messages_until(parent, {"done", "failed", "fatal"})
        assert "decoded" in kinds   # the file may be decoded before the model is ready: decoding needs none
        kinds.remove("decoded")
        assert kinds[0] == "ready" and kinds[-1] == "done", kinds


def test_a_model_load_that_fails_mid_file_is_fatal_and_not_the_files_failure(tiny_bundle, tmp_path, monkeypatch):
    import threading

    release = threading.Event()

    def failing_load(*args, **kwargs):
        release.wait(30)
        raise RuntimeError("no session for frame_encoder.onnx")

    for parent in _serve_in_thread(tiny_bundle, tmp_path, monkeypatch, failing_load):
        assert _messages_until(parent, {"probed"}) == ["probed"]
        release.set()
        later = []
        while parent.poll(60 if not later else 2):
            later.append(parent.recv())
        fatal = [message for kind, _wid, _tid, message in later if kind == "fatal"]
        assert fatal == ["the model could not be loaded: no session for frame_encoder.onnx"]
        # The file is neither done nor failed (it may have been decoded meanwhile).
        assert {kind for kind, *_ in later} <= {"fatal", "decoded"}, later


def test_a_worker_decodes_its_next_file_while_the_model_finishes_the_last(tiny_bundle, tmp_path, monkeypatch):
    import threading

    from engine.runtime.model import load_model

    release = threading.Event()

    class HeldClips:
        """The clip encoder waits for the test: the first file's last segment stays with the model."""

        def __init__(self, model):
            self.model, self.info = model, model.info

        def encode_frames(self, frames):
            return self.model.encode_frames(frames)

        def encode_clips(self, *args):
            release.wait(30)
            return self.model.encode_clips(*args)

    def held_load(*args, **kwargs):
        return HeldClips(load_model(*args, **kwargs))

    def until(conn, wanted):
        seen = []
        while wanted not in seen:
            assert conn.poll(60), f"the worker went quiet after {seen}"
            kind, _wid, tid, _payload = conn.recv()
            seen.append((kind, tid))
        return seen

    first = make_video(tmp_path / "first.mp4", shots=[ShotSpec(2.0)]).path
    second = make_video(tmp_path / "second.mp4", shots=[ShotSpec(1.5, pattern="texture")]).path
    for parent in _serve_in_thread(tiny_bundle, tmp_path, monkeypatch, held_load, hand_over=False):
        parent.send(Task(1, 1, str(first), "first"))
        until(parent, ("decoded", 1))
        parent.send(Task(2, 2, str(second), "second"))
        seen = until(parent, ("decoded", 2))
        assert ("probed", 2) in seen and ("done", 1) not in seen   # decoded while the first was with the model
        release.set()
        seen += until(parent, ("done", 2)) if ("done", 2) not in seen else []
        if ("done", 1) not in seen:
            seen += until(parent, ("done", 1))
        assert not [m for m in seen if m[0] in ("failed", "fatal")], seen
        parent.send(None)


def _holding_two(pool, *, decoded_first=True):
    """A worker (its process faked) holding file 1, whose decoding is done, and file 2, being decoded."""
    worker = pool_module._Worker(1, _StuckProcess(), _Pipe(), spawned=time.monotonic(), ready=True)
    worker.task = Task(1, 1, "/videos/1.mp4", "k1")
    worker.active_at = time.monotonic()
    worker.decoded = decoded_first
    pool._workers.append(worker)
    return worker


def _unspawning_pool(tmp_path, monkeypatch, timeout=3.0):
    pool = WorkerPool(PoolConfig(workers=0, bundle_dir="unused", device="cpu", threads_per_worker=1,
                                 settings=asdict(Settings()), thumbs_dir=str(tmp_path), timeout=timeout))
    monkeypatch.setattr(pool, "_spawn", lambda: None)
    return pool


def test_a_worker_is_sent_its_next_file_only_once_its_file_is_decoded(tmp_path, monkeypatch):
    pool = _unspawning_pool(tmp_path, monkeypatch)
    worker = _holding_two(pool, decoded_first=False)
    assert pool.idle_slots() == 0
    worker.decoded = True
    assert pool.idle_slots() == 1
    pool.submit(Task(2, 2, "/videos/2.mp4", "k2"))
    assert worker.conn.sent == [Task(2, 2, "/videos/2.mp4", "k2")] and pool.idle_slots() == 0
    # Messages of either file are its own; when the first is done, the second is the worker's file.
    [probed] = pool._handle(("probed", 1, 2, 3.0))
    assert probed.task.task_id == 2 and worker.queued.probed
    [done] = pool._handle(("done", 1, 1, "result"))
    assert done.task.task_id == 1 and worker.task.task_id == 2 and worker.queued is None
    assert worker.probed and not worker.decoded and pool.busy() == 1


def test_a_crash_fails_the_file_being_decoded_and_gives_the_other_back(tmp_path, monkeypatch):
    pool = _unspawning_pool(tmp_path, monkeypatch)
    worker = _holding_two(pool)
    pool.submit(Task(2, 2, "/videos/2.mp4", "k2"))
    worker.process = _DeadProcess()
    events = {e.task.task_id: e for e in pool._check_health()}
    assert events[2].kind == "failed" and "decoder crashed" in events[2].payload
    assert events[1].kind == "lost"


def test_a_hang_in_the_next_file_fails_it_and_gives_the_other_back(tmp_path, monkeypatch):
    pool = _unspawning_pool(tmp_path, monkeypatch)
    worker = _holding_two(pool)
    pool.submit(Task(2, 2, "/videos/2.mp4", "k2"))
    worker.queued.active_at = time.monotonic() - 4.0     # past the 3-s limit; the first file is within it
    events = {e.task.task_id: e for e in pool._check_health()}
    assert events[2].kind == "failed" and "stopped after 3 s" in events[2].payload
    assert events[1].kind == "lost"


def test_a_long_file_that_keeps_telling_its_progress_outlasts_the_time_limit(tmp_path, monkeypatch):
    """The limit is on silence, not on a file's length: a two-hour film indexed at 10x takes 12 minutes."""
    pool = _unspawning_pool(tmp_path, monkeypatch)
    worker = _holding_two(pool, decoded_first=False)
    for seconds_done in (80.0, 160.0, 240.0):
        worker.active_at = time.monotonic() - 2.5       # 2.5 s since its last word: within the 3-s limit
        assert pool._check_health() == []
        [progress] = pool._handle(("progress", 1, 1, seconds_done))
        assert progress.kind == "progress"
    assert time.monotonic() - worker.active_at < 1.0 and pool._check_health() == []
    worker.active_at = time.monotonic() - 4.0           # then nothing for longer than the limit
    [failed] = pool._check_health()
    assert failed.kind == "failed" and failed.payload == "stopped after 3 s without progress (decoder hang?)"


def test_the_next_files_news_keeps_it_alive_and_the_first_files_does_not(tmp_path, monkeypatch):
    pool = _unspawning_pool(tmp_path, monkeypatch)
    worker = _holding_two(pool)
    pool.submit(Task(2, 2, "/videos/2.mp4", "k2"))
    worker.queued.active_at = time.monotonic() - 4.0
    pool._handle(("probed", 1, 2, 600.0))              # the file being decoded was probed: it moves on
    assert pool._check_health() == []
    worker.queued.active_at = time.monotonic() - 4.0
    pool._handle(("progress", 1, 1, 300.0))            # the first file's progress says nothing of the second's
    events = {e.task.task_id: e.kind for e in pool._check_health()}
    assert events == {2: "failed", 1: "lost"}


class _DeadProcess:
    pid = None
    exitcode = -11

    def is_alive(self):
        return False


class _StuckProcess:
    """A worker process that never answers (as if stopped), for the pool's health checks."""
    pid = None
    exitcode = None

    def is_alive(self):
        return True

    def kill(self):
        pass

    def join(self, _timeout=None):
        pass


class _Pipe:
    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)

    def close(self):
        pass


def test_a_hang_while_the_model_loads_fails_the_file_once_then_stops_the_run(tmp_path, monkeypatch):
    """A worker decodes its first file while its model loads: a hang then is the file's fault the first time;
    the next worker hanging the same way points at the model load, and the run stops with its file pending."""
    pool = WorkerPool(PoolConfig(workers=0, bundle_dir="unused", device="cpu", threads_per_worker=1,
                                 settings=asdict(Settings()), thumbs_dir=str(tmp_path), timeout=3.0))
    spawned = []
    monkeypatch.setattr(pool, "_spawn", lambda: spawned.append(1))

    def stuck_worker(task_id):
        worker = pool_module._Worker(task_id, _StuckProcess(), _Pipe(), spawned=time.monotonic())
        worker.task = Task(task_id, task_id, f"/videos/{task_id}.mp4", "k")
        worker.probed = True                        # decoding: "probed" came, "ready" did not
        worker.active_at = time.monotonic() - 4.0   # past the 3-s limit
        pool._workers.append(worker)

    stuck_worker(1)
    [event] = pool._check_health()
    assert event.kind == "failed" and event.task.task_id == 1 and "stopped after 3 s" in event.payload
    assert spawned == [1] and pool.fatal is None
    stuck_worker(2)
    assert pool._check_health() == [] and spawned == [1]
    assert "two workers in a row stopped answering before their model was loaded" in pool.fatal
