"""The terminal progress bar of `clipseek index`."""
from __future__ import annotations

import io
import sys

from engine.api.types import Progress
from engine.cli.progress_bar import TerminalBar, format_duration, render


def test_the_bar_writes_to_the_stderr_in_use_when_it_is_made(monkeypatch):
    """Not the one in use when the module was imported (an embedding program may have replaced it since)."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    bar = TerminalBar()
    bar(Progress(files_done=1, files_total=2, seconds_done=30, seconds_total=60, rate=12.5, eta_seconds=3))
    bar(Progress(2, 2, 60, 60, 12.5, None, state="done"))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "1/2 files" in lines[0] and "0:30 of 1:00 video" in lines[0]
    assert lines[1].startswith("[" + "#" * 10) and "2/2 files" in lines[1]


def test_a_run_with_nothing_to_index_draws_no_bar(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    bar = TerminalBar()
    bar(Progress(0, 0, 0, 0, 0.0, None))
    bar(Progress(0, 0, 0, 0, 0.0, None, state="done"))
    bar.close()
    assert stream.getvalue() == ""


def test_durations_and_a_paused_run_read_as_a_person_expects():
    assert [format_duration(s) for s in (None, 5, 65, 3_725)] == ["--:--", "0:05", "1:05", "1:02:05"]
    assert "0:30 of ~1:00 video" in render(Progress(1, 2, 30, 60, 12.5, 3, total_is_estimate=True), 100)
    assert "0:00 of --:-- video" in render(Progress(0, 2, 0, 0, 0.0, None, total_is_estimate=True), 100)
    line = render(Progress(0, 4, 0, 0, 0.0, None, state="paused"), 100)
    assert line.startswith("[" + "." * 10) and line.endswith("(paused)") and len(line) < 100


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_warning_while_the_bar_is_drawn_gets_a_line_of_its_own():
    import logging

    from engine.cli.main import stderr_handler

    terminal = _Terminal()
    bar = TerminalBar(stream=terminal)
    log = logging.getLogger("clipseek.tests.bar")
    handler = stderr_handler(verbose=False, stream=terminal)
    log.addHandler(handler)
    log.propagate = False
    try:
        bar(Progress(1, 2, 30, 60, 12.5, 3))
        log.warning("the disk is nearly full")
        bar(Progress(2, 2, 60, 60, 12.5, None, state="done"))
        bar.close()
    finally:
        log.removeHandler(handler)
    lines = terminal.getvalue().split("\n")
    assert lines[0].startswith("\r[") and "1/2 files" in lines[0], lines
    assert lines[1] == "warning: the disk is nearly full", lines
    assert lines[2].startswith("\r[") and "2/2 files" in lines[2] and lines[3:] == [""], lines
