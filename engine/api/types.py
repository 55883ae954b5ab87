"""Plain data the engine hands to its callers (CLI, GUI). No behaviour, no I/O."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum


class FileStatus(str, Enum):
    PENDING = "pending"
    INDEXED = "indexed"
    SKIPPED = "skipped"
    FAILED = "failed"


def covering_seconds(start: float, end: float) -> tuple[int, int]:
    """The whole seconds that cover a time range, start down and end up (12.4-20.5 -> 12-21): how the CLI and the
    window show a moment."""
    return math.floor(start), math.ceil(end - 0.001)


def days_span(first: date, last: date) -> tuple[float, float]:
    """Seconds since the epoch from the start of ``first`` to the last millisecond of ``last``, in local time: the
    date range that the CLI's ``--from``/``--to`` days and the window's chosen days mean."""
    start = datetime.combine(first, datetime.min.time()).timestamp()
    return start, datetime.combine(last + timedelta(days=1), datetime.min.time()).timestamp() - 1e-3


@dataclass(frozen=True)
class Moment:
    """One search result: a time range of one file."""
    path: str                 # absolute path of the video
    start: float              # seconds
    end: float                # seconds
    score: float              # higher is better; comparable within one search
    thumbnail: str | None     # absolute path of a JPEG, or None
    file_id: int = 0
    segment_ids: tuple[int, ...] = ()
    folder: str = ""          # the library folder holding the file
    file_date: float = 0.0    # when recorded if the file says, else its mtime; seconds since the epoch
    duration: float = 0.0     # of the whole file, seconds

    def to_json(self) -> dict:
        return {"path": self.path, "start": round(self.start, 3), "end": round(self.end, 3),
                "score": round(float(self.score), 6), "thumbnail": self.thumbnail}


@dataclass(frozen=True)
class PlayableCopy:
    """Part of a video made again as H.264 in MP4, for a player that cannot show the file itself."""
    path: str                 # the copy
    start: float              # seconds in the original where the copy's 0 lies
    end: float                # seconds in the original where the copy ends


@dataclass(frozen=True)
class FolderInfo:
    path: str
    indexed: int
    pending: int
    failed: int
    skipped: int
    state: str                # "ok", "missing" (folder not reachable), "indexing"


@dataclass(frozen=True)
class Problem:
    path: str
    status: FileStatus        # FAILED or SKIPPED
    reason: str
    file_id: int = 0

    @property
    def cause(self) -> str:
        """The reason without its leading "PATH: ", for a line or row that already names the file."""
        prefix = f"{self.path}: "
        return self.reason[len(prefix):] if self.reason.startswith(prefix) else self.reason


@dataclass(frozen=True)
class Progress:
    """Emitted while indexing; also one JSON line each with --json-progress."""
    files_done: int
    files_total: int
    seconds_done: float       # seconds of video finished
    seconds_total: float      # seconds of video: probed, plus an estimate from size for files not yet probed
    rate: float               # seconds of video per wall-clock second
    eta_seconds: float | None
    current: str = ""         # path being worked on
    state: str = "running"    # "running", "paused", "cancelled", "done"
    indexed: int = 0
    failed: int = 0
    skipped: int = 0
    total_is_estimate: bool = False   # some files' lengths are still guessed from their size
    copied: int = 0                   # of ``indexed``: copies of indexed videos, given their moments, not decoded
    seconds_copied: float = 0.0       # of ``seconds_done``: those copies' length (``rate`` leaves it out)
    removed: int = 0                  # files gone from their folders (or left out): their moments left the library

    def to_json(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class LibraryStatus:
    library: str
    model: str                # bundle name
    fingerprint: str
    providers: tuple[str, ...]
    folders: tuple[FolderInfo, ...]
    files: dict = field(default_factory=dict)   # status -> count
    segments: int = 0
    hours_indexed: float = 0.0
    device: str = "auto"      # the setting: "auto", "cpu" or "gpu"
    gpu_found: bool = False   # onnxruntime-gpu and an NVIDIA driver are here (runtime/gpu.py), asked without CUDA
    index_workers: int = 1    # worker processes `index` starts on this computer
    decoding: str = "cpu"     # where video is decoded: "cuda" (NVDEC, engine/media/hw_decode.py) or "cpu"
    model_trained_only_on: str | None = None   # "shapes": the model is a demonstration (BundleInfo.trained_only_on)
    catalog_on_postgres: bool = False
    catalog_copy: str | None = None   # the copy of catalog.sqlite kept after indexing, "NAME, of DATE" (catalog/copies)
    keeps_catalog_copy: bool = True   # Settings.keep_catalog_copy: a copy is kept after indexing (on SQLite)
    demo: bool = False        # the demo library (`clipseek demo`, the welcome page's demo), not the user's own

    def to_json(self) -> dict:
        return {"library": self.library, "model": self.model, "fingerprint": self.fingerprint,
                "providers": list(self.providers),
                "folders": [f.__dict__ for f in self.folders], "files": dict(self.files),
                "segments": self.segments, "hours_indexed": round(self.hours_indexed, 4),
                "device": self.device, "gpu_found": self.gpu_found, "index_workers": self.index_workers,
                "decoding": self.decoding, "model_trained_only_on": self.model_trained_only_on,
                "catalog_on_postgres": self.catalog_on_postgres, "catalog_copy": self.catalog_copy,
                "keeps_catalog_copy": self.keeps_catalog_copy, "demo": self.demo}
