"""Human-readable text for times, sizes and progress. Pure functions, no Qt."""
from __future__ import annotations

import os
import time

from engine.api.types import Moment, Progress, covering_seconds


def clock(seconds: float) -> str:
    """12.4 -> '0:12'; 3725 -> '1:02:05'."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def time_range(start: float, end: float) -> str:
    """Whole seconds that cover the moment: 12.4-20.5 -> '0:12 – 0:21' (as `clipseek search` prints it)."""
    first, last = covering_seconds(start, end)
    return f"{clock(first)} – {clock(last)}"


def sentence(text: str) -> str:
    """The engine's messages start in lower case (they also end CLI lines); the window starts them with a capital.
    A message that starts with a file name ("clip.mp4 is ...") or a path keeps it as it is."""
    first = text.split(" ", 1)[0]
    return text[:1].upper() + text[1:] if first.isalpha() and first.islower() else text


def moment_title(moment: Moment) -> str:
    return os.path.basename(moment.path)


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def calendar_date(seconds: float) -> str:
    """Seconds since the epoch -> '1 Jun 2019' in local time; '' for no date (0)."""
    if seconds <= 0:
        return ""
    day = time.localtime(seconds)
    return f"{day.tm_mday} {MONTHS[day.tm_mon - 1]} {day.tm_year}"


def moment_details(moment: Moment) -> str:
    """The line under a playing moment's name: '0:12 – 0:21  ·  1 Jun 2019  ·  score 0.312'. The date is when the
    video was recorded where it says so, else when its file last changed."""
    parts = [time_range(moment.start, moment.end), calendar_date(moment.file_date), f"score {moment.score:.3f}"]
    return "  ·  ".join(part for part in parts if part)


def moment_reference(moment: Moment) -> str:
    """What "Copy path and time" puts on the clipboard."""
    return f"{moment.path} @ {time_range(moment.start, moment.end)}"


def folder_name(path: str) -> str:
    """The last part of a folder's path ('Holidays'), or the whole path for a root ('/')."""
    return os.path.basename(path.rstrip("/\\")) or path


def file_gone(path: str) -> str:
    """What a moment whose file has gone since indexing says, when it is played or opened."""
    return (f"{path} is no longer there: it was moved or deleted since it was indexed, or its drive is not "
            "connected. Index again to bring the library up to date.")


def counted(count: int, noun: str) -> str:
    """'1 video', '2 videos', '0 videos'."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


SCROLL_HINT = " · scroll for more"   # ends a results header while the grid's end brings another page


def results_summary(count: int, subject: str, more_below: bool = False, per_video: bool = False) -> str:
    """'1 moment for “a red car”'; '60 moments like these 2 · scroll for more' when the grid's end brings another
    page; '12 videos for “a red car”' when each result is the best moment of its video."""
    text = f"{counted(count, 'video' if per_video else 'moment')} {subject}"
    return text + SCROLL_HINT if more_below else text


def export_report(count: int, folder, failures: list[str]) -> str:
    """What exporting ``count`` moments into ``folder`` came to; each failure is 'what: why', the first three named."""
    if not failures:
        return f"Exported {counted(count, 'moment')} to {folder}"
    named = "; ".join(failures[:3]) + (f"; and {len(failures) - 3} more" if len(failures) > 3 else "")
    return f"Exported {count - len(failures)} of {count} moments to {folder}; {len(failures)} failed: {named}"


def like_subject(moments) -> str:
    """What a "find similar" search looks for: 'like beach.mp4 0:12 – 0:20', or 'like these 3'."""
    if len(moments) == 1:
        return f"like {moment_title(moments[0])} {time_range(moments[0].start, moments[0].end)}"
    return f"like these {len(moments)}"


def hours(seconds: float) -> str:
    h = seconds / 3600
    if h >= 10:
        return f"{h:.0f} h"
    if h >= 1:
        return f"{h:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def duration(seconds: float | None) -> str:
    """A coarse remaining-time text: 'about 3 min left'."""
    if seconds is None:
        return "estimating time left…"
    if seconds < 60:
        return "less than a minute left"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"


def size(num_bytes: int) -> str:
    value = float(num_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def library_summary(videos: int, seconds: float, model: str, demonstration: bool = False) -> str:
    """The status bar when nothing runs: '30 videos · 13 min indexed · model clipseek-shapes (a demonstration)'."""
    model = f"{model} (a demonstration)" if demonstration else model
    if videos == 0:
        return f"No videos indexed yet · model {model}"
    return f"{counted(videos, 'video')} · {hours(seconds)} indexed · model {model}"


def progress_summary(progress: Progress) -> str:
    """'12 of 30 files · 0.4 h of about 1.2 h of video · 3.1× real time · about 2 min left'."""
    if progress.total_is_estimate and progress.seconds_total <= 0:
        video = f"{hours(progress.seconds_done)} of video"      # no file's length known yet
    elif progress.total_is_estimate:
        video = f"{hours(progress.seconds_done)} of about {hours(progress.seconds_total)} of video"
    else:
        video = f"{hours(progress.seconds_done)} of {hours(progress.seconds_total)} of video"
    parts = [f"{progress.files_done} of {counted(progress.files_total, 'file')}", video]
    if progress.rate > 0:
        parts.append(f"{progress.rate:.1f}× real time")
    if progress.state == "paused":
        parts.append("paused")
    elif progress.state == "running":
        parts.append(duration(progress.eta_seconds))
    return " · ".join(parts)


def progress_fraction(progress: Progress) -> float:
    """Share done, by seconds of video when known (files differ in length), else by files."""
    if progress.seconds_total > 0:
        return min(1.0, progress.seconds_done / progress.seconds_total)
    if progress.files_total > 0:
        return min(1.0, progress.files_done / progress.files_total)
    return 0.0
