"""A video's date is when it was recorded, where its container says, not when its file was copied."""
from __future__ import annotations

import os
import time
from datetime import datetime, timezone

import pytest

from engine.api.library import Library
from engine.media import probe
from engine.media.recorded import parse_date, recorded_at
from videogen import ShotSpec, make_video

pytestmark = pytest.mark.slow


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("value, expected", [
    ("2019-06-01T12:00:00.000000Z", epoch("2019-06-01T12:00:00")),             # MP4 and Matroska, from FFmpeg
    ("2021-03-04T10:20:30+0100", epoch("2021-03-04T09:20:30")),                # Apple's, local time and offset
    ("2021-03-04 10:20:30", epoch("2021-03-04T10:20:30")),                     # no zone: UTC
    ("1904-01-01T00:00:00.000000Z", None), ("1970-01-01T00:00:00Z", None),     # a zero, not a recording date
    ("2999-01-01T00:00:00Z", None), ("yesterday", None), ("", None), (None, None),
])
def test_a_recording_date_is_read_or_left_out(value, expected):
    assert parse_date(value) == expected


def test_apples_date_comes_before_the_containers_and_the_container_before_the_stream():
    apple = {"com.apple.quicktime.creationdate": "2021-03-04T10:20:30+0100",
             "creation_time": "2021-03-04T09:21:00.000000Z"}
    assert recorded_at(apple, {}) == epoch("2021-03-04T09:20:30")
    assert recorded_at({"creation_time": "1970-01-01T00:00:00Z"}, {"creation_time": "2020-02-02T02:02:02Z"}) == \
        epoch("2020-02-02T02:02:02")
    assert recorded_at({}, {}) is None


@pytest.fixture(scope="module")
def dated_folder(tmp_path_factory):
    """Three videos whose files were copied in another order than they were recorded."""
    folder = tmp_path_factory.mktemp("dated")
    made = {
        "summer_2019.mp4": ("2019-06-01T12:00:00Z", time.time()),                   # copied today
        "new_year_2023.mkv": ("2023-01-01T00:30:00Z", time.time() - 86400),         # copied yesterday
        "undated.mp4": (None, epoch("2021-05-05T00:00:00")),                          # no date: its mtime counts
    }
    for name, (recorded, mtime) in made.items():
        extra = ["-metadata", f"creation_time={recorded}"] if recorded else []
        make_video(folder / name, shots=[ShotSpec(2.0, shape="circle", pattern="texture")], encoder_args=extra)
        os.utime(folder / name, (mtime, mtime))
    return folder


def test_probe_reads_the_recording_date_of_mp4_and_matroska(dated_folder):
    assert probe(dated_folder / "summer_2019.mp4").recorded_at == epoch("2019-06-01T12:00:00")
    assert probe(dated_folder / "new_year_2023.mkv").recorded_at == epoch("2023-01-01T00:30:00")
    assert probe(dated_folder / "undated.mp4").recorded_at is None


def test_search_by_date_and_newest_first_use_the_recording_date(dated_folder, tiny_bundle, tmp_path):
    with Library.open(tmp_path / "library", model=tiny_bundle) as lib:
        lib.add_folder(dated_folder)
        assert lib.index().indexed == 3
        newest_first = lib.search("a circle", k=50, sort="date")
        order = list(dict.fromkeys(os.path.basename(m.path) for m in newest_first))
        assert order == ["new_year_2023.mkv", "undated.mp4", "summer_2019.mp4"]
        in_2019 = lib.search("a circle", k=50, date_range=(epoch("2019-01-01T00:00:00"), epoch("2020-01-01T00:00:00")))
        assert in_2019 and {os.path.basename(m.path) for m in in_2019} == {"summer_2019.mp4"}
        today = lib.search("a circle", k=50, date_range=(time.time() - 3600, time.time() + 3600))
        assert today == []                                     # copied today, recorded in 2019
        rows = {os.path.basename(f.path): f.recorded_at for f in lib.catalog.files()}
        assert rows == {"summer_2019.mp4": epoch("2019-06-01T12:00:00"),
                        "new_year_2023.mkv": epoch("2023-01-01T00:30:00"), "undated.mp4": None}
