"""The date and length filters of `clipseek search`: --from / --to dates, --longer-than / --shorter-than lengths.

A video's date is when it was recorded where its container says so, else when its file was last changed (as the
window's date filter); its length is the whole video's. A date alone means that whole day, in local time.
"""
from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass
from datetime import date, datetime

from engine.api.types import days_span
from engine.errors import QueryError

_LENGTH_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_LENGTH = re.compile(r"(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>s|sec|m|min|h)?", re.IGNORECASE)
_CLOCK = re.compile(r"(?:(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d+(?:\.\d*)?)")


@dataclass(frozen=True)
class When:
    """A date or a date and time from the command line."""
    text: str
    at: datetime
    whole_day: bool          # a date alone: the day from its start to its end

    @property
    def start(self) -> float:
        return self.at.timestamp()

    @property
    def end(self) -> float:
        return days_span(self.at.date(), self.at.date())[1] if self.whole_day else self.at.timestamp()


def when_arg(text: str) -> When:
    """An argparse type: 2024-06-01, or 2024-06-01T18:30 (a space for the T, seconds and an offset may be given)."""
    cleaned = text.strip()
    try:
        at = datetime.fromisoformat(cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2024-06-01 or 2024-06-01T18:30") from None
    try:
        date.fromisoformat(cleaned)          # a date alone (2024-06-01, 20240601): that whole day
        whole_day = True
    except ValueError:
        whole_day = False
    return When(cleaned, at, whole_day)


def length_arg(text: str) -> float:
    """An argparse type: a length in seconds from 90, 90s, 1.5m, 2h or 1:30 (1:02:03 with hours)."""
    cleaned = text.strip()
    clock = _CLOCK.fullmatch(cleaned)
    plain = _LENGTH.fullmatch(cleaned)
    if clock:
        seconds = int(clock["h"] or 0) * 3600 + int(clock["m"]) * 60 + float(clock["s"])
    elif plain:
        seconds = float(plain["number"]) * _LENGTH_UNITS[(plain["unit"] or "s").lower()]
    else:
        raise argparse.ArgumentTypeError(f"{text!r} is not a length such as 90, 1:30, 10m or 2h")
    if not math.isfinite(seconds):
        raise argparse.ArgumentTypeError(f"{text!r} is not a length such as 90, 1:30, 10m or 2h")
    return seconds


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="date_from", metavar="DATE", type=when_arg,
                        help="only videos from this date on (recorded, else last changed): 2024-06-01, or "
                             "2024-06-01T18:30")
    parser.add_argument("--to", dest="date_to", metavar="DATE", type=when_arg,
                        help="only videos up to this date (a date alone: to the end of that day)")
    parser.add_argument("--longer-than", metavar="LENGTH", type=length_arg,
                        help="only videos at least this long: 90, 1:30, 10m or 2h")
    parser.add_argument("--shorter-than", metavar="LENGTH", type=length_arg,
                        help="only videos at most this long")


def search_filters(args: argparse.Namespace) -> dict:
    """``date_range`` and ``duration_range`` for the engine's searches, where asked for; a QueryError where the two
    ends leave nothing between them."""
    filters = {}
    start, end = args.date_from, args.date_to
    if start is not None or end is not None:
        if start is not None and end is not None and start.start > end.end:
            raise QueryError(f"--from {start.text} is after --to {end.text}: no video can be both")
        filters["date_range"] = (start.start if start is not None else -math.inf,
                                 end.end if end is not None else math.inf)
    low, high = args.longer_than, args.shorter_than
    if low is not None or high is not None:
        if low is not None and high is not None and low > high:
            raise QueryError(f"--longer-than {_clock(low)} is longer than --shorter-than {_clock(high)}: no video "
                             "can be both")
        filters["duration_range"] = (low if low is not None else 0.0, high if high is not None else math.inf)
    return filters


def _clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    text = f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
    return text + (f"{seconds - whole:.3f}"[1:].rstrip("0").rstrip(".") if seconds != whole else "")
