"""Hangs and concurrency: a frozen worker costs one file; searches while indexing never see ghosts."""
from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.api.library import Library
from engine.errors import QueryError
from engine.settings import Settings
from videogen import ShotSpec, make_video

pytestmark = pytest.mark.slow


def _workers() -> list:
    return [p for p in multiprocessing.active_children() if p.name.startswith("clipseek-worker")]


def test_a_worker_stuck_in_a_decoder_is_stopped_and_its_file_failed(tmp_path, tiny_bundle):
    folder = tmp_path / "videos"
    folder.mkdir()
    make_video(folder / "a_stuck.mp4", size=(64, 48), fps=1, shots=[ShotSpec(600.0, pattern="texture")])
    make_video(folder / "b_fine.mp4", size=(160, 120), fps=10, shots=[ShotSpec(2.0)])
    frozen: list[int] = []

    def freeze_once_probed(p) -> None:
        # The first file is part done (so its worker is decoding it) and not finished: freeze that
        # worker, which from outside is exactly a decoder that never returns.
        if not frozen and p.files_done == 0 and p.seconds_done > 0:
            (worker,) = _workers()
            os.kill(worker.pid, signal.SIGSTOP)
            frozen.append(worker.pid)

    settings_ = Settings(workers=1, file_timeout_seconds=3.0)
    started = time.monotonic()
    with Library.open(tmp_path / "library", model=tiny_bundle, settings=settings_) as lib:
        lib.add_folder(folder)
        final = lib.index(progress=freeze_once_probed)
        assert frozen, "the stuck file was never seen being decoded"
        assert final.state == "done" and final.failed == 1 and final.indexed == 1
        (problem,) = lib.problems()
        assert problem.path.endswith("a_stuck.mp4") and problem.status.value == "failed"
        assert "stopped after 3 s without progress" in problem.reason
        assert lib.catalog.file_by_path(folder / "b_fine.mp4").status == "indexed"
    assert time.monotonic() - started < 120
    assert not _workers()
    with pytest.raises(ProcessLookupError):
        os.kill(frozen[0], 0)


QUERIES = st.one_of(st.sampled_from(["a red circle", "a square moving left", "blue sky", "x", "🎬 été"]),
                    st.text(min_size=1, max_size=40).filter(lambda s: s.strip()))
RANGES = st.one_of(st.none(), st.tuples(st.floats(0, 5), st.floats(0, 5)).map(sorted).map(tuple))
SEARCHES = st.fixed_dictionaries({
    "query": QUERIES,
    "k": st.integers(1, 30),
    "folders": st.sampled_from([None, "one", "two", "both"]),
    "min_score": st.one_of(st.none(), st.floats(-1, 1)),
    "sort": st.sampled_from(["relevance", "date"]),
    "rerank": st.booleans(),
    "duration_range": RANGES,
    "recent": st.booleans(),
})


def test_searches_from_threads_while_indexing_return_only_real_moments(tmp_path, tiny_bundle, plain_videos):
    folders = {"one": tmp_path / "one", "two": tmp_path / "two"}
    for name, folder in folders.items():
        folder.mkdir()
        for video in sorted(plain_videos.glob("*.mp4"))[(0 if name == "one" else 6):][:6]:
            shutil.copy(video, folder / video.name)
    lib = Library.open(tmp_path / "library", model=tiny_bundle, settings=Settings(workers=2))
    for folder in folders.values():
        lib.add_folder(folder)
    failures: list[BaseException] = []
    overlapped = [0]
    searched_while_indexing = threading.Event()

    def hold_until_searched(p) -> None:
        # On a fast machine all 12 files can be indexed before the first searches finish: once some
        # moments are written, the indexer waits (at most a minute) for a few searches to overlap it.
        if p.indexed >= 1:
            searched_while_indexing.wait(60)

    indexer = threading.Thread(target=lambda: _record(failures, lambda: lib.index(progress=hold_until_searched)),
                               daemon=True)
    checked = [0]
    returned = [0]

    def real_file_of(m):
        row = lib.catalog.file_by_path(m.path)
        assert row is not None and row.status == "indexed", m
        assert row.duration is not None and 0 <= m.start < m.end <= row.duration + 1e-3, (m, row.duration)
        return row

    def one_search(spec: dict) -> None:
        chosen = {"one": [folders["one"]], "two": [folders["two"]], "both": list(folders.values()),
                  None: None}[spec["folders"]]
        date_range = (time.time() - 3600, time.time() + 3600) if spec["recent"] else None
        during = indexer.is_alive()
        try:
            moments = lib.search(spec["query"], k=spec["k"], folders=chosen, min_score=spec["min_score"],
                                 sort=spec["sort"], rerank=spec["rerank"], date_range=date_range,
                                 duration_range=spec["duration_range"])
        except QueryError:
            return          # a query the engine refuses politely (e.g. nothing left after tokenising)
        assert len(moments) <= spec["k"]
        for m in moments:
            row = real_file_of(m)
            if chosen:
                assert any(m.path.startswith(str(f) + os.sep) for f in chosen), m
            if spec["min_score"] is not None:
                assert m.score >= spec["min_score"] - 1e-6
            if spec["duration_range"]:
                low, high = spec["duration_range"]
                assert low - 1e-6 <= row.duration <= high + 1e-6
        if moments:
            for m in lib.similar(moments[0], k=3):
                real_file_of(m)
        checked[0] += 1
        returned[0] += len(moments)
        overlapped[0] += during and indexer.is_alive()
        if overlapped[0] >= 3:
            searched_while_indexing.set()

    @settings(max_examples=30, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(batch=st.lists(SEARCHES, min_size=3, max_size=3))
    def searches_in_threads(batch: list[dict]) -> None:
        errors: list[BaseException] = []
        threads = [threading.Thread(target=_record, args=(errors, one_search, spec)) for spec in batch]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        if errors:
            raise errors[0]

    try:
        lib.model      # load the text model before the race starts, so searches overlap indexing
        indexer.start()
        deadline = time.monotonic() + 120
        while indexer.is_alive() and time.monotonic() < deadline:
            searches_in_threads()
        assert not indexer.is_alive() and not failures, failures
        assert overlapped[0] > 0, "no search ran while indexing"
        assert returned[0] > 0, "no search found anything"
        searches_in_threads()    # and once more against the finished library
        assert lib.status().files["indexed"] == 12
    finally:
        indexer.join(120)
        lib.close()


def _record(errors: list, fn, *args) -> None:
    try:
        fn(*args)
    except BaseException as exc:  # handed to the test thread
        errors.append(exc)


def test_a_worker_that_never_loads_the_model_stops_the_run_without_blaming_a_file(tiny_bundle, tmp_path):
    from dataclasses import asdict

    from engine.indexer.pool import PoolConfig, Task, WorkerPool

    video = make_video(tmp_path / "v.mp4", size=(160, 120), fps=10, shots=[ShotSpec(1.0)]).path
    pool = WorkerPool(PoolConfig(workers=1, bundle_dir=str(tiny_bundle), device="cpu", threads_per_worker=1,
                                 settings=asdict(Settings()), thumbs_dir=str(tmp_path / "thumbs"), timeout=60.0,
                                 startup_timeout=2.0))
    try:
        os.kill(pool._workers[0].process.pid, signal.SIGSTOP)     # hung before the model loaded
        pool.submit(Task(1, 1, str(video), "v"))
        events = []
        deadline = time.monotonic() + 30
        while pool.fatal is None and time.monotonic() < deadline:
            events += pool.poll(0.2)
        assert pool.fatal and "did not load the model within 2 s" in pool.fatal
        assert [e for e in events if e.kind == "failed"] == []
        assert pool.busy() == 0
    finally:
        pool.close()
