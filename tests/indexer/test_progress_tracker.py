"""How indexing progress counts video time while some files' lengths are still unknown."""
from __future__ import annotations

import pytest

from engine.indexer.pipeline import _FileState, _Tracker


def test_unprobed_files_are_guessed_from_size_and_the_total_says_it_is_a_guess():
    tracker = _Tracker({1: _FileState(1, "a.mp4", 1_000), 2: _FileState(2, "b.mp4", 3_000)})
    nothing_known = tracker.snapshot("running")
    assert nothing_known.total_is_estimate and nothing_known.seconds_total == 0

    tracker.states[1].duration = 10.0
    one_known = tracker.snapshot("running")
    assert one_known.total_is_estimate and one_known.seconds_total == 40.0   # b guessed at a's 100 bytes a second

    tracker.states[2].duration = 20.0
    all_known = tracker.snapshot("running")
    assert not all_known.total_is_estimate and all_known.seconds_total == 30.0

    tracker.finish(tracker.states[1], "indexed")
    tracker.finish(tracker.states[2], "indexed")
    done = tracker.snapshot("done")
    assert not done.total_is_estimate and done.seconds_done == done.seconds_total == 30.0
    assert done.to_json()["total_is_estimate"] is False


def test_files_not_probed_yet_count_the_length_their_header_declares():
    tracker = _Tracker({1: _FileState(1, "a.mp4", 1_000), 2: _FileState(2, "b.mkv", 3_000),
                        3: _FileState(3, "c.ts", 5_000)})
    tracker.states[1].declared = 10.0
    tracker.states[2].declared = 90.0          # a tenth of a's bytes a second: a guess from a's would say 30 s
    one_unknown = tracker.snapshot("running")
    assert one_unknown.total_is_estimate and one_unknown.seconds_total == pytest.approx(100.0 + 5_000 / 40)

    tracker.states[3].duration = 7.0           # probed: the worker's length
    all_known = tracker.snapshot("running")
    assert not all_known.total_is_estimate and all_known.seconds_total == pytest.approx(107.0)

    tracker.states[1].duration = 11.0          # the worker's length wins over the header's
    assert tracker.snapshot("running").seconds_total == pytest.approx(108.0)


def test_copies_of_indexed_videos_count_as_indexed_but_not_in_the_speed(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("engine.indexer.pipeline.time.monotonic", lambda: clock[0])
    tracker = _Tracker({1: _FileState(1, "copy.mp4", 1_000, duration=600.0),
                        2: _FileState(2, "new.mp4", 1_000, duration=60.0),
                        3: _FileState(3, "next.mp4", 1_000, duration=60.0)})
    tracker.finish(tracker.states[1], "indexed", copied=True)    # its moments copied in no time
    clock[0] += 10.0
    tracker.finish(tracker.states[2], "indexed")                 # 60 s of video decoded in 10 s
    running = tracker.snapshot("running")
    assert (running.indexed, running.copied, running.seconds_copied) == (2, 1, 600.0)
    assert running.seconds_done == 660.0 and running.rate == pytest.approx(6.0)
    assert running.eta_seconds == pytest.approx(10.0)            # the file left, at the decoding speed


def test_the_summary_says_which_files_were_copies_and_how_fast_the_rest_decoded():
    from engine.api.types import Progress
    from engine.cli.commands import index_summary

    plain = Progress(2, 2, 216.0, 216.0, 10.9, None, state="done", indexed=2)
    assert index_summary(plain) == "indexed 2, failed 0, skipped 0 (3:36 of video at 10.9x real time)"
    mixed = Progress(3, 3, 220.0, 220.0, 8.0, None, state="done", indexed=3, copied=2, seconds_copied=216.0)
    assert index_summary(mixed) == ("indexed 3 (2 of them copies of videos already indexed), failed 0, skipped 0 "
                                    "(0:04 of video decoded at 8.0x real time)")
    only = Progress(1, 2, 216.0, 216.0, 0.0, None, state="done", indexed=1, failed=1, copied=1,
                    seconds_copied=216.0)
    assert index_summary(only) == ("indexed 1 (a copy of a video already indexed), failed 1, skipped 0 "
                                   "(3:36 of video, nothing decoded)")
    gone = Progress(2, 2, 216.0, 216.0, 10.9, None, state="done", indexed=2, removed=3)
    assert index_summary(gone) == ("indexed 2, failed 0, skipped 0 (3:36 of video at 10.9x real time); 3 videos "
                                   "deleted, moved away or left out have left the library")


def test_the_rate_leaves_out_time_the_computer_slept(monkeypatch):
    import time

    from engine.indexer import pool

    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    tracker = _Tracker({1: _FileState(1, "a.mp4", 1_000), 2: _FileState(2, "b.mp4", 1_000)})
    for state in tracker.states.values():
        state.duration = 600.0
    for _ in range(50):                                  # 10 s of indexing, looked at every 0.2 s: 100 s of video
        now[0] += 0.2
        tracker.states[1].seconds_done += 2.0
        tracker.snapshot("running")
    assert tracker.snapshot("running").rate == pytest.approx(10.0)
    now[0] += 3600.0                                     # the lid closed for an hour
    tracker.states[1].seconds_done += 2.0
    woken = tracker.snapshot("running")
    assert woken.rate == pytest.approx(102.0 / 10.0)     # the hour asleep is not indexing time
    assert woken.eta_seconds == pytest.approx((1200.0 - 102.0) / woken.rate)

    tracker.pause()                                      # a pause is left out as it was, and once
    now[0] += 3600.0
    tracker.snapshot("paused")
    tracker.resume()
    now[0] += 0.2
    assert tracker.snapshot("running").rate == pytest.approx(102.0 / 10.2)
    assert pool.ASLEEP_AFTER_SECONDS < 3600.0
