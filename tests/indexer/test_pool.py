"""Worker processes: a hung decoder is stopped, a crashed worker costs one file and is replaced."""
from __future__ import annotations

import multiprocessing
import os
import signal
import time
from dataclasses import asdict

import pytest

from engine.indexer import pool as pool_module
from engine.indexer.pool import PoolConfig, Task, WorkerPool
from engine.settings import Settings
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


def frozen_worker(pool):
    """Freeze the worker (SIGSTOP) once it is ready: from outside, exactly a decoder that never returns."""
    deadline = time.monotonic() + 60
    while not pool._workers[0].ready and time.monotonic() < deadline:
        pool.poll(0.2)
    pid = pool._workers[0].process.pid
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
    from engine.cli.main import main

    assert main(["--library", str(tmp_path / "lib"), "index"]) == 0
    assert pool_module._prestarted == []
    assert not [p for p in multiprocessing.active_children() if p.name.startswith("clipseek-worker")]
