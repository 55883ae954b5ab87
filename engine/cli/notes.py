"""Notes on stderr: what the library asked the user to read, each said once."""
from __future__ import annotations

import logging
import sys

from engine.cli.progress_bar import end_the_bars_line

_warned: set[str] = set()      # warnings printed so far by this command


def forget_warnings() -> None:
    _warned.clear()


def remember_warning(record: logging.LogRecord) -> bool:
    """A logging filter: keeps the warnings printed, lets every record through."""
    if record.levelno >= logging.WARNING:
        _warned.add(record.getMessage())
    return True


def print_notes(notices) -> None:
    """"note: …" on stderr for each notice not already printed as a warning (the search index, say, warns as it
    is rebuilt, and the library keeps the same sentence as a notice)."""
    for notice in notices:
        if notice not in _warned:
            end_the_bars_line()
            print(f"note: {notice}", file=sys.stderr)
