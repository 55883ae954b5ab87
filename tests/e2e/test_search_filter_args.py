"""The date and length filters `clipseek search` takes, as parsed (engine/cli/filter_args.py)."""
from __future__ import annotations

import argparse
import math
from datetime import datetime, timedelta, timezone

import pytest

from engine.cli.filter_args import length_arg, search_filters, when_arg
from engine.errors import QueryError


def args(date_from=None, date_to=None, longer_than=None, shorter_than=None) -> argparse.Namespace:
    return argparse.Namespace(date_from=date_from and when_arg(date_from), date_to=date_to and when_arg(date_to),
                              longer_than=longer_than and length_arg(longer_than),
                              shorter_than=shorter_than and length_arg(shorter_than))


@pytest.mark.parametrize("text,seconds", [("90", 90.0), ("90.5", 90.5), ("90s", 90.0), ("1:30", 90.0),
                                          ("1:02:03", 3723.0), ("10m", 600.0), ("10 min", 600.0), ("1.5h", 5400.0),
                                          ("2H", 7200.0), (" 0 ", 0.0), (".5m", 30.0)])
def test_lengths(text, seconds):
    assert length_arg(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "-5", "1:2:3:4", "10 days", "nan", "inf", "1e999"])
def test_what_is_no_length_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match="is not a length such as 90, 1:30, 10m or 2h"):
        length_arg(text)


@pytest.mark.parametrize("text", ["2024-13-01", "yesterday", "01/06/2024", "2024-06-01T25:00", ""])
def test_what_is_no_date_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match="is not a date such as 2024-06-01 or 2024-06-01T18:30"):
        when_arg(text)


def test_a_date_alone_is_that_whole_day_in_local_time():
    filters = search_filters(args("2024-06-01", "2024-06-30"))
    start, end = filters["date_range"]
    assert start == datetime(2024, 6, 1).timestamp()
    assert datetime(2024, 6, 30, 23, 59, 59).timestamp() < end < datetime(2024, 7, 1).timestamp()
    assert "duration_range" not in filters


def test_a_date_and_time_is_that_moment_and_an_offset_counts():
    start, end = search_filters(args("2024-06-01T18:30", "2024-06-02T01:00"))["date_range"]
    assert (start, end) == (datetime(2024, 6, 1, 18, 30).timestamp(), datetime(2024, 6, 2, 1).timestamp())
    start, end = search_filters(args("2024-06-01T18:30Z", "2024-06-01 22:00:05+02:00"))["date_range"]
    assert start == datetime(2024, 6, 1, 18, 30, tzinfo=timezone.utc).timestamp()
    assert end == datetime(2024, 6, 1, 20, 0, 5, tzinfo=timezone.utc).timestamp()


def test_one_end_leaves_the_other_open():
    assert search_filters(args(date_from="2024-06-01"))["date_range"][1] == math.inf
    assert search_filters(args(date_to="2024-06-01"))["date_range"][0] == -math.inf
    assert search_filters(args(longer_than="10m"))["duration_range"] == (600.0, math.inf)
    assert search_filters(args(shorter_than="1:30"))["duration_range"] == (0.0, 90.0)
    assert search_filters(args()) == {}


def test_one_day_from_and_to_is_that_day():
    start, end = search_filters(args("2024-06-01", "2024-06-01"))["date_range"]
    assert end - start == pytest.approx(timedelta(days=1).total_seconds(), abs=0.01)
    assert search_filters(args("20240601", "20240601"))["date_range"] == (start, end)     # the basic form too


def test_ends_that_leave_nothing_between_them_are_one_sentence():
    with pytest.raises(QueryError, match=r"^--from 2024-06-02 is after --to 2024-06-01: no video can be both$"):
        search_filters(args("2024-06-02", "2024-06-01"))
    with pytest.raises(QueryError, match=r"^--longer-than 10:00 is longer than --shorter-than 1:30.5: no video "):
        search_filters(args(longer_than="10m", shorter_than="90.5"))
