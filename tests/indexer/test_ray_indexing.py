"""Indexing on a real Ray cluster (loopback): a killed worker's file is claimed again, a model the workers
cannot load stops the run with a sentence, and two indexers sharing one catalog index every file exactly once."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from engine.api.library import Library
from engine.errors import ClipSeekError
from engine.indexer.plan import reconcile
from engine.settings import Settings
from tests.indexer.slow_process import Stretcher, long_video
from videogen import ShotSpec, make_video

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BUSY_ACTOR_TITLE = "FileEncoder.index_file"
LOADING_ACTOR_TITLE = "FileEncoder.__init__"


def _videos(folder: Path, count: int, seconds: float) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"clip{i}.mp4"
        make_video(path, size=(320, 240), fps=25, seed=10 + i,
                   shots=[ShotSpec(seconds / 2, shape="circle", pattern="texture"),
                          ShotSpec(seconds / 2, shape="square", pattern="pan")])
        paths.append(path)
    return paths


def _actor_pids(title: str = BUSY_ACTOR_TITLE) -> list[int]:
    """Ray titles an actor's process after the method it runs (its constructor while it loads the model)."""
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [int(line.split(None, 1)[0]) for line in out.splitlines() if title in line]


def _index_in_thread(lib, ray_address):
    """``lib.index`` on the cluster in a thread: (the thread, {"final": its Progress} or {"error": its sentence})."""
    outcome: dict = {}

    def index() -> None:
        try:
            outcome["final"] = lib.index(ray_address=ray_address)
        except ClipSeekError as exc:
            outcome["error"] = str(exc)

    run = threading.Thread(target=index)
    run.start()
    return run, outcome


def _first_busy_actor(run, outcome: dict, title: str = BUSY_ACTOR_TITLE) -> int:
    """The process id of the first Ray worker seen working on a file (or ``title``) while ``run`` runs."""
    deadline = time.monotonic() + 120
    while run.is_alive() and time.monotonic() < deadline:
        pids = _actor_pids(title)
        if pids:
            return pids[0]
        time.sleep(0.02)
    raise AssertionError(f"no Ray worker was seen in {title}; the run "
                         + ("ran on" if run.is_alive() else f"ended: {outcome}"))


def test_a_killed_ray_worker_costs_nothing_its_file_is_claimed_again(ray_cluster, tiny_bundle, tmp_path):
    videos = _videos(tmp_path / "videos", 3, seconds=24.0)
    lib = Library.open(tmp_path / "library", model=tiny_bundle)
    try:
        lib.add_folder(tmp_path / "videos")
        run, outcome = _index_in_thread(lib, ray_cluster)
        os.kill(_first_busy_actor(run, outcome), signal.SIGKILL)
        run.join(300)
        assert "error" not in outcome, outcome.get("error")
        final = outcome["final"]
        assert final.state == "done" and final.failed == 0 and final.indexed == len(videos)
        files = lib.catalog.files()
        assert {f.status for f in files} == {"indexed"} and all(f.claimed_by is None for f in files)
        assert all(Path(s.thumbnail).is_file() for f in files for s in lib.catalog.segments_of_file(f.id))
        assert lib.search("a textured circle", k=3)
        import ray

        assert not ray.is_initialized()   # the run left the cluster: its head going away cannot end this process
    finally:
        lib.close()


def test_a_ray_worker_whose_file_stops_moving_on_is_stopped_and_its_file_failed(ray_cluster, tiny_bundle, tmp_path):
    (tmp_path / "videos").mkdir()
    long_video(tmp_path / "videos" / "stuck.mp4")
    settings = Settings(workers=1, file_timeout_seconds=4.0)
    with Library.open(tmp_path / "library", model=tiny_bundle, settings=settings) as lib:
        lib.add_folder(tmp_path / "videos")
        run, outcome = _index_in_thread(lib, ray_cluster)
        os.kill(_first_busy_actor(run, outcome), signal.SIGSTOP)   # from outside, a decoder that never returns
        run.join(300)
        assert "error" not in outcome, outcome.get("error")
        assert outcome["final"].failed == 1
        (problem,) = lib.problems()
        assert problem.reason == "stopped after 4 s without progress (decoder hang?)"


def test_a_ray_worker_on_a_file_longer_than_the_time_limit_finishes_it_while_it_moves_on(ray_cluster, tiny_bundle,
                                                                                           tmp_path):
    (tmp_path / "videos").mkdir()
    long_video(tmp_path / "videos" / "long.mp4", shots=120)
    # The indexer reads the workers' progress every 2 s: the limit leaves room for that and the stretch's stops,
    # also on a machine busy with other work (Ray's messages leave the stretched worker only while it runs), and
    # for the file's first segment, which pays for the decoder's start and the model's first run (a tenth of a
    # second or more, stretched 40-fold: with a 9-s limit, two runs in eleven failed on a 2-core machine).
    settings = Settings(workers=1, file_timeout_seconds=12.0)
    with Library.open(tmp_path / "library", model=tiny_bundle, settings=settings) as lib:
        lib.add_folder(tmp_path / "videos")
        run, outcome = _index_in_thread(lib, ray_cluster)
        started = time.monotonic()
        stretcher = Stretcher(_first_busy_actor(run, outcome), at_least=13.0)  # a slow laptop: longer than the limit
        run.join(300)
        stretcher.stop()
        assert time.monotonic() - started > 12.0
        assert "error" not in outcome, outcome.get("error")
        assert outcome["final"].indexed == 1, lib.problems()


def test_a_ray_worker_slow_to_load_the_model_leaves_its_files_time_limit_untouched(ray_cluster, tiny_bundle, tmp_path):
    """A busy node can take longer to start a worker than a file may go without progress: the file's clock
    starts once the model is loaded, as a local worker's does."""
    _videos(tmp_path / "videos", 1, seconds=4.0)
    settings = Settings(workers=1, file_timeout_seconds=5.0)
    with Library.open(tmp_path / "library", model=tiny_bundle, settings=settings) as lib:
        lib.add_folder(tmp_path / "videos")
        run, outcome = _index_in_thread(lib, ray_cluster)
        loading = _first_busy_actor(run, outcome, LOADING_ACTOR_TITLE)
        os.kill(loading, signal.SIGSTOP)
        time.sleep(12.0)            # longer than the file's limit and the indexer's reading of progress
        os.kill(loading, signal.SIGCONT)
        run.join(300)
        assert "error" not in outcome, outcome.get("error")
        assert outcome["final"].indexed == 1 and outcome["final"].failed == 0, lib.problems()


def test_a_ray_worker_that_never_loads_the_model_stops_the_run_with_a_sentence(ray_cluster, tiny_bundle, tmp_path):
    from engine.indexer.pool import PoolConfig, Task
    from engine.indexer.ray_pool import RayWorkerPool
    from engine.runtime.bundle import open_bundle

    (video,) = _videos(tmp_path / "videos", 1, seconds=2.0)
    config = PoolConfig(workers=1, bundle_dir=str(tiny_bundle), device="cpu", threads_per_worker=1,
                        settings=asdict(Settings()), thumbs_dir=str(tmp_path / "thumbs"), timeout=2.0,
                        startup_timeout=4.0)
    pool = RayWorkerPool(config, ray_cluster, open_bundle(tiny_bundle).fingerprint)
    try:
        pool.submit(Task(1, 1, str(video), "abc"))
        deadline = time.monotonic() + 120
        while not (pids := _actor_pids(LOADING_ACTOR_TITLE)) and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(pids[0], signal.SIGSTOP)    # a disk or driver that never answers...
        import ray

        while pool._slots[0].key not in ray.get(pool._board.read.remote()) and time.monotonic() < deadline:
            os.kill(pids[0], signal.SIGCONT)   # ...once it has said it started: a few ms at a time, until it has
            time.sleep(0.005)
            os.kill(pids[0], signal.SIGSTOP)
            time.sleep(0.05)
        events = []
        while pool.fatal is None and time.monotonic() < deadline:
            events += pool.poll(0.2)
        assert pool.fatal == ("a Ray worker did not load the model within 4 s; nothing was lost. Check the model "
                              "with `clipseek model verify` on that machine, or index with --device cpu")
        assert [(e.kind, e.task.file_id) for e in events] == [("lost", 1)]   # back to the pending files
    finally:
        pool.close()


def test_a_ray_worker_s_file_is_not_late_after_the_indexer_s_computer_slept(ray_cluster, tiny_bundle, tmp_path,
                                                                            monkeypatch):
    """The indexing computer slept (or `clipseek index` was stopped) mid-file: its first look afterwards comes
    before the worker's next progress, and is no reason to fail the file."""
    from engine.indexer import pool as pool_module
    from engine.indexer.pool import PoolConfig, Task
    from engine.indexer.ray_pool import RayWorkerPool
    from engine.runtime.bundle import open_bundle

    monkeypatch.setattr(pool_module, "ASLEEP_AFTER_SECONDS", 2.0)
    (video,) = _videos(tmp_path / "videos", 1, seconds=8.0)
    config = PoolConfig(workers=1, bundle_dir=str(tiny_bundle), device="cpu", threads_per_worker=1,
                        settings=asdict(Settings()), thumbs_dir=str(tmp_path / "thumbs"), timeout=3.0)
    pool = RayWorkerPool(config, ray_cluster, open_bundle(tiny_bundle).fingerprint)
    try:
        pool.submit(Task(1, 1, str(video), "abc"))
        deadline = time.monotonic() + 120
        while not (pool._slots[0].loaded and (pids := _actor_pids())) and time.monotonic() < deadline:
            assert pool.poll(0.05) == []
        os.kill(pids[0], signal.SIGSTOP)      # asleep: the worker stands still and the indexer looks no more
        try:
            time.sleep(5.0)                   # longer than the file's time limit
            woken = pool.poll(0.05)           # awake: the indexer looks before the worker tells its progress
        finally:
            os.kill(pids[0], signal.SIGCONT)
        assert [(e.kind, e.payload) for e in woken] == []
        events = []
        while not events and time.monotonic() < deadline:
            events += pool.poll(0.2)
        assert [e.kind for e in events] == ["done"], [e.payload for e in events]
    finally:
        pool.close()


def test_a_model_the_workers_cannot_load_stops_the_run_with_a_sentence_and_loses_nothing(ray_cluster, tiny_bundle,
                                                                                        tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    files = json.loads((bundle / "bundle.json").read_text())["files"]
    (bundle / files["frame_encoder"]).write_bytes(b"not an onnx graph")   # the search side still opens
    _videos(tmp_path / "videos", 2, seconds=2.0)
    lib = Library.open(tmp_path / "library", model=bundle)
    try:
        lib.add_folder(tmp_path / "videos")
        started = time.monotonic()
        with pytest.raises(ClipSeekError) as stopped:
            lib.index(ray_address=ray_cluster)
        assert "could not load the model" in str(stopped.value) and "damaged after export" in str(stopped.value)
        assert "Traceback" not in str(stopped.value) and len(str(stopped.value).splitlines()) == 1
        assert time.monotonic() - started < 120   # stopped, not respawning workers that fail the same way
        assert [(f.status, f.claimed_by) for f in lib.catalog.files()] == [("pending", None)] * 2
    finally:
        lib.close()


def test_two_indexers_on_one_shared_catalog_index_each_file_once(ray_cluster, postgres_url, milvus_store_url,
                                                                 tiny_bundle, tmp_path):
    videos = _videos(tmp_path / "videos", 6, seconds=6.0)
    libraries = [tmp_path / "machine-a", tmp_path / "machine-b"]
    settings = Settings(catalog_url=postgres_url, vector_store=milvus_store_url)
    for folder in libraries:
        folder.mkdir()
        settings.save(folder / "settings.json")
    lib = Library.open(libraries[0], model=tiny_bundle)
    lib.add_folder(tmp_path / "videos")
    reconcile(lib.catalog)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    runs = [subprocess.Popen([sys.executable, "-m", "engine.cli.main", "--library", str(folder), "--model",
                              str(tiny_bundle), "index", "--ray", ray_cluster, "--workers", "1", "--json-progress"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
            for folder in libraries]
    finals = []
    for run in runs:
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
        finals.append(json.loads(out.strip().splitlines()[-1]))
    try:
        # Each run counts the files it indexed itself: a file indexed by both would make the sum exceed.
        assert sum(f["indexed"] for f in finals) == len(videos) and all(f["failed"] == 0 for f in finals)
        files = lib.catalog.files()
        assert {f.status for f in files} == {"indexed"} and all(f.claimed_by is None for f in files)
        assert lib.vectors.count == lib.catalog.live_segment_count()
        assert lib.search("a textured circle", k=3)
    finally:
        lib.close()


def test_a_ray_address_where_nothing_listens_is_a_sentence_and_loses_nothing(tiny_bundle, tmp_path):
    from engine.cli.main import main

    _videos(tmp_path / "videos", 1, seconds=2.0)
    base = ["--library", str(tmp_path / "library"), "--model", str(tiny_bundle)]
    assert main([*base, "add-folder", str(tmp_path / "videos")]) == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]          # closed again: nothing listens there
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "engine.cli.main", *base, "index", "--ray", f"127.0.0.1:{port}"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "Ray" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 60
    lib = Library.open(tmp_path / "library", model=tiny_bundle)
    try:
        assert [(f.status, f.claimed_by) for f in lib.catalog.files()] == [("pending", None)]
    finally:
        lib.close()
