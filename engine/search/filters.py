"""Filters on search results: folder, file date and duration, a relevance cut-off."""
from __future__ import annotations

import os
from dataclasses import dataclass

from engine.errors import QueryError


@dataclass(frozen=True)
class SearchFilters:
    folders: tuple[str, ...] = ()                       # library folders to search in; () = all
    date_range: tuple[float, float] | None = None       # file date (recorded, else mtime), seconds since the epoch
    duration_range: tuple[float, float] | None = None   # file duration in seconds
    min_score: float | None = None                      # relevance cut-off
    # Folders inside library folders, or single videos, asked for (their library folders are then in
    # ``folders``): vector stores filter by library folder only, so these are checked on the rows.
    under: tuple[str, ...] = ()

    @classmethod
    def make(cls, folders=None, date_range=None, duration_range=None, min_score=None, under=None) -> "SearchFilters":
        if isinstance(folders, str):
            folders = [folders]
        for rng, name in ((date_range, "date range"), (duration_range, "duration range")):
            if rng is not None and (len(rng) != 2 or rng[0] > rng[1]):
                raise QueryError(f"the {name} must be (from, to) with from <= to, not {rng!r}")
        return cls(tuple(os.path.abspath(f) for f in (folders or ())), date_range and tuple(date_range),
                   duration_range and tuple(duration_range), min_score,
                   tuple(os.path.abspath(f) for f in (under or ())))

    @property
    def restricts_rows(self) -> bool:
        return bool(self.folders or self.date_range or self.duration_range)

    def accepts(self, row) -> bool:
        if self.folders and row.folder not in self.folders:
            return False
        if self.under and not any(row.path == place or row.path.startswith(place + os.sep) for place in self.under):
            return False
        if self.date_range and not self.date_range[0] <= row.file_date <= self.date_range[1]:
            return False
        if self.duration_range and not self.duration_range[0] <= (row.duration or 0.0) <= self.duration_range[1]:
            return False
        return True
