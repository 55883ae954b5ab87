"""Killed mid-index: SIGKILL the whole indexing process group again and again, then check everything.

After every kill the library is opened as the next run would open it and must be whole:
SQLite's integrity check passes, every indexed segment is found with its own vector, the ANN
index holds exactly the catalog's segments, no segment is duplicated, files finished before
are untouched, and the next run picks up exactly the files still unfinished.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from reliability_corpus import make_plain_library
from reliability_helpers import REPO, cli_env, clipseek, integrity
from engine.api.library import Library

pytestmark = pytest.mark.slow

KILLS = 20


class IndexRun:
    """`clipseek index --json-progress` in its own session, its progress lines read as they come."""

    def __init__(self, library: Path, bundle: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli.main", "--library", str(library), "--model", str(bundle),
             "index", "--json-progress", "--workers", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=REPO,
            start_new_session=True)
        self.lines: list[dict] = []
        self.stderr = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.lines.append(json.loads(line))

    def finished_files(self) -> int:
        return self.lines[-1]["files_done"] if self.lines else 0

    def kill_when(self, deadline: float, after_first_file: float | None) -> bool:
        """SIGKILL the process group at ``deadline`` (monotonic), or ``after_first_file`` seconds after
        this run finished its first file; returns False if the run ended by itself first."""
        fire = deadline
        while self.proc.poll() is None:
            now = time.monotonic()
            if after_first_file is not None and fire == deadline and self.finished_files() > 0:
                fire = min(deadline, now + after_first_file)
            if now >= fire:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                self._reader.join(5)
                return True
            time.sleep(0.01)
        self._reader.join(5)
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()
        return False


def check_library(library: Path, bundle: Path, finished: dict[int, tuple]) -> set[int]:
    """Open the library as a restart does and check every promise; returns the unfinished file ids.

    ``finished`` maps file id -> (indexed_at, segment ids) of files seen indexed before; it is
    checked (they were not redone) and extended with the newly finished ones.
    """
    assert integrity(library / "catalog.sqlite") == "ok"
    with Library.open(library, model=bundle) as lib:
        catalog, vectors = lib.catalog, lib.vectors
        fingerprint = lib.bundle_info.fingerprint
        files = catalog.files()
        all_segment_ids: list[int] = []
        unfinished = set()
        for f in files:
            segments = catalog.segments_of_file(f.id)
            ids = tuple(s.id for s in segments)
            all_segment_ids.extend(ids)
            spans = [(s.start, s.end) for s in segments]
            assert len(spans) == len(set(spans)), f"duplicated segments in {f.path}: {spans}"
            if f.status == "indexed":
                assert ids, f"{f.path} is indexed without segments"
                if f.id in finished:
                    assert finished[f.id] == (f.indexed_at, ids), f"{f.path} was indexed again"
                finished[f.id] = (f.indexed_at, ids)
            else:
                assert f.status == "pending", (f.path, f.status, f.error)
                assert not ids, f"{f.path} is pending but has segments {ids}"
                assert f.id not in finished, f"{f.path} was indexed before and is pending again"
                unfinished.add(f.id)
        assert len(all_segment_ids) == len(set(all_segment_ids))
        assert vectors.count == len(all_segment_ids) == catalog.live_segment_count(fingerprint)
        if all_segment_ids:
            emb = catalog.segment_embeddings(all_segment_ids)
            in_index, _ = vectors.search(emb.vectors[0], k=vectors.count)
            assert sorted(in_index[0].tolist()) == sorted(all_segment_ids), "ANN and catalog disagree"
            found, scores = vectors.search(emb.vectors, k=min(10, vectors.count))
            for row, segment_id in enumerate(emb.ids):
                # An identical twin vector may outrank a segment; its own score is then 1 too.
                assert segment_id in found[row] or scores[row, 0] > 1 - 1e-5, segment_id
            assert np.allclose(scores[:, 0], 1.0, atol=1e-4)
    return unfinished


def test_sigkill_at_random_moments_never_breaks_the_library(tmp_path, tiny_bundle, plain_videos):
    library = tmp_path / "library"
    assert clipseek(library, tiny_bundle, "add-folder", plain_videos).returncode == 0
    rng = random.Random(20261122)
    finished: dict[int, tuple] = {}
    unfinished = check_library(library, tiny_bundle, finished)
    assert not unfinished and not finished     # files enter the catalog with the first scan
    total = len(list(plain_videos.glob("*.mp4")))
    kills = runs = kills_after_a_file = 0
    while kills < KILLS:
        runs += 1
        # Once every file is indexed, a run is only start-up; a kill lands in it when it fires before the run
        # ends, which on a fast machine is a minority of runs: allow enough of them.
        assert runs < 150, f"only {kills} kills landed in {runs} runs"
        scanned = len(unfinished) + len(finished) == total
        pending_before = set(unfinished)
        run = IndexRun(library, tiny_bundle)
        if scanned and len(unfinished) >= 2 * (KILLS - kills) + 1:
            # Files to spare: kill around the writes of a finished file, at most a moment after it.
            killed = run.kill_when(time.monotonic() + rng.uniform(2.0, 12.0), after_first_file=rng.uniform(0.0, 0.4))
        else:
            # Start-up, scan, the first catalog and index writes; never past the first finished file.
            killed = run.kill_when(time.monotonic() + rng.uniform(0.05, 2.5), after_first_file=0.0)
        if not killed:
            assert run.proc.returncode == 0, run.stderr
        if run.lines and scanned:
            # The run resumed with exactly the files left unfinished (finished ones are not queued).
            assert run.lines[0]["files_total"] == len(pending_before)
        unfinished = check_library(library, tiny_bundle, finished)
        if scanned:
            assert unfinished <= pending_before
        kills += killed
        kills_after_a_file += killed and run.finished_files() > 0

    assert kills_after_a_file >= 1, "no kill landed after a file was written"
    final = IndexRun(library, tiny_bundle)
    assert not final.kill_when(time.monotonic() + 300, after_first_file=None)
    assert final.proc.returncode == 0, final.stderr
    assert final.lines[0]["files_total"] == len(unfinished)
    assert final.lines[-1]["state"] == "done" and final.lines[-1]["failed"] == 0
    assert not check_library(library, tiny_bundle, finished)
    assert len(finished) == total


def test_ctrl_c_stops_index_with_one_sentence_and_loses_nothing(tmp_path, tiny_bundle):
    # Files that take seconds each: the twelve small ones of the other tests can all be indexed between the first
    # progress line that shows a worker at work and the interrupt (lines come every 0.25 s).
    videos = tmp_path / "videos"
    make_plain_library(videos, 6, seconds=30, size=(640, 360), fps=25)
    library = tmp_path / "library"
    assert clipseek(library, tiny_bundle, "add-folder", videos).returncode == 0
    run = IndexRun(library, tiny_bundle)
    deadline = time.monotonic() + 60
    while run.proc.poll() is None and time.monotonic() < deadline:
        if run.lines and run.lines[-1]["seconds_done"] > 0:
            break                        # a worker has embedded some of a file: it is at work
        time.sleep(0.01)
    assert run.proc.poll() is None, "the run ended before a worker had a file"
    os.killpg(run.proc.pid, signal.SIGINT)   # what a terminal's Ctrl+C does: every process of the group
    run.proc.wait(60)
    run._reader.join(5)
    assert run.proc.stderr is not None
    stderr = run.proc.stderr.read()
    assert run.proc.returncode == 130, stderr
    # no worker's KeyboardInterrupt traceback: the workers ignore Ctrl+C, the parent stops them
    assert stderr == "clipseek: interrupted; finished work is kept, run the command again to continue\n", stderr
    assert check_library(library, tiny_bundle, {})                     # files left pending, library whole
    assert clipseek(library, tiny_bundle, "index").returncode == 0
    assert not check_library(library, tiny_bundle, {})
