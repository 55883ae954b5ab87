"""What the user asked for: query text plus sort, filters and cut-off. Pure data, no Qt."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from engine.api.types import Moment, days_span

DAY = 86400.0
RESULTS_PAGE = 60      # results asked of the engine at first, and added each time the grid is scrolled to its end
MAX_RESULTS = 600

# label -> age in seconds (None = any time)
DATE_PRESETS: dict[str, float | None] = {
    "Any date": None,
    "Past week": 7 * DAY,
    "Past month": 31 * DAY,
    "Past year": 366 * DAY,
}

# label -> (min, max) seconds of the whole video (None = any length)
DURATION_PRESETS: dict[str, tuple[float, float] | None] = {
    "Any length": None,
    "Under 1 min": (0.0, 60.0),
    "1 – 10 min": (60.0, 600.0),
    "Over 10 min": (600.0, float("inf")),
}


def days_label(first: date, last: date) -> str:
    """"1 Jun 2024", "1–30 Jun 2024", "1 Jun – 2 Jul 2024", "20 Dec 2023 – 5 Jan 2024"."""
    def day(d: date, month: bool = True, year: bool = True) -> str:
        return " ".join([str(d.day)] + ([d.strftime("%b")] if month else []) + ([str(d.year)] if year else []))
    if first == last:
        return day(first)
    if first.year != last.year:
        return f"{day(first)} – {day(last)}"
    if first.month != last.month:
        return f"{day(first, year=False)} – {day(last)}"
    return f"{first.day}–{day(last)}"


@dataclass(frozen=True)
class SearchOptions:
    sort: str = "relevance"              # "relevance" or "date"
    folders: tuple[str, ...] = ()        # empty = every folder
    date_preset: str = "Any date"        # a key of DATE_PRESETS
    dates: tuple[date, date] | None = None   # days chosen (first, last), in place of the preset
    duration_preset: str = "Any length"  # a key of DURATION_PRESETS
    min_score: float | None = None       # relevance cut-off; None = keep all
    k: int = RESULTS_PAGE                # results asked of the engine
    per_video: bool = False              # the best moment of each video, not every moment

    def asking_for(self, rows: int) -> "SearchOptions":
        """The same options asking the engine for at least ``rows`` results (at most MAX_RESULTS)."""
        return replace(self, k=min(MAX_RESULTS, max(self.k, rows)))


@dataclass(frozen=True)
class SearchRequest:
    """One search to run: by text, by an image file, by a video file (a short clip), or like existing moments."""
    serial: int                          # newer requests have larger serials; stale answers are dropped
    text: str = ""
    image: Path | None = None
    like: tuple[Moment, ...] = ()        # "find similar moments": like these, taken together
    options: SearchOptions = field(default_factory=SearchOptions)
    more: bool = False                   # the same search asking for more: the results shown grow
    video: Path | None = None            # a short video as the query

    @property
    def kind(self) -> str:
        if self.like:
            return "like"
        return "image" if self.image is not None else ("video" if self.video is not None else "text")

    def with_options(self, serial: int, options: SearchOptions) -> "SearchRequest":
        return replace(self, serial=serial, options=options, more=False)

    def for_more(self, serial: int) -> "SearchRequest | None":
        """The same search with another page of results, or None at ``MAX_RESULTS``."""
        if self.options.k >= MAX_RESULTS:
            return None
        options = replace(self.options, k=min(MAX_RESULTS, self.options.k + RESULTS_PAGE))
        return replace(self, serial=serial, options=options, more=True)

    def may_have_more(self, found: int) -> bool:
        """Whether the engine may hold more than the ``found`` moments it answered this request with: it
        filled the page asked for, and another page may still be asked."""
        return found >= self.options.k and self.options.k < MAX_RESULTS

    def engine_kwargs(self, now: float | None = None) -> dict:
        """Keyword arguments for ``Library.search`` / ``search_image`` / ``search_video`` (``similar`` takes k,
        folders, sort and per_video)."""
        opts = self.options
        kwargs: dict = {"k": opts.k, "sort": opts.sort}
        if opts.per_video:
            kwargs["per_video"] = True
        if opts.folders:
            kwargs["folders"] = list(opts.folders)
        if self.like:
            return kwargs
        if opts.min_score is not None:
            kwargs["min_score"] = opts.min_score
        age = DATE_PRESETS.get(opts.date_preset)
        if opts.dates is not None:
            kwargs["date_range"] = days_span(*opts.dates)
        elif age is not None:
            now = time.time() if now is None else now
            kwargs["date_range"] = (now - age, now)
        span = DURATION_PRESETS.get(opts.duration_preset)
        if span is not None:
            kwargs["duration_range"] = span
        return kwargs


class RecentSearches:
    """Most-recent-first list of distinct queries, capped; persistence is the caller's job."""

    def __init__(self, items: list[str] | None = None, limit: int = 20) -> None:
        self.limit = limit
        self._items: list[str] = []
        for item in reversed(items or []):
            self.add(item)

    def add(self, query: str) -> None:
        query = query.strip()
        if not query:
            return
        self._items = [query] + [q for q in self._items if q.lower() != query.lower()]
        del self._items[self.limit:]

    def items(self) -> list[str]:
        return list(self._items)

    def clear(self) -> None:
        self._items = []
