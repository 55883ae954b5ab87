"""A one-line terminal progress bar for indexing (files, video time, rate, ETA)."""
from __future__ import annotations

import shutil
import sys

from engine.api.types import Progress


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def render(p: Progress, width: int) -> str:
    frac = p.files_done / p.files_total if p.files_total else 1.0
    if p.seconds_total > 0:
        frac = max(frac, min(1.0, p.seconds_done / p.seconds_total))
    if p.total_is_estimate:   # "~" while some lengths are guessed from file sizes; "--:--" before any is known
        total = "~" + format_duration(p.seconds_total) if p.seconds_total > 0 else format_duration(None)
    else:
        total = format_duration(p.seconds_total)
    info = (f" {p.files_done}/{p.files_total} files  {format_duration(p.seconds_done)} of "
            f"{total} video  {p.rate:5.1f}x  ETA {format_duration(p.eta_seconds)}")
    if p.state == "paused":
        info += "  (paused)"
    bar_width = max(10, min(40, width - len(info) - 3))
    filled = int(round(frac * bar_width))
    return f"[{'#' * filled}{'.' * (bar_width - filled)}]{info}"[: width - 1]


_drawing: "TerminalBar | None" = None      # the bar whose line the terminal's cursor is on


def end_the_bars_line() -> None:
    """Before other text goes to the terminal: the bar's line ends there (the bar is drawn again below it), so
    that a warning does not share the bar's line."""
    if _drawing is not None:
        _drawing.close()


class TerminalBar:
    def __init__(self, stream=None) -> None:
        self.stream = stream if stream is not None else sys.stderr   # the one in use now, not at import
        self.tty = self.stream.isatty()
        self._last_line = ""

    def __call__(self, p: Progress) -> None:
        if p.files_total == 0 and not self._last_line:
            return          # nothing to index: an empty bar says nothing the summary line does not
        global _drawing
        line = render(p, shutil.get_terminal_size((100, 20)).columns)
        if self.tty:
            self.stream.write("\r" + line.ljust(len(self._last_line)))
            _drawing = self
        elif p.state != "running" or p.files_done != getattr(self, "_last_done", -1):
            self.stream.write(line + "\n")
            self._last_done = p.files_done
        self._last_line = line
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line; a later run draws a bar of its own."""
        global _drawing
        if _drawing is self:
            _drawing = None
        if self.tty and self._last_line:
            self.stream.write("\n")
            self.stream.flush()
        self._last_line = ""
        self._last_done = -1
