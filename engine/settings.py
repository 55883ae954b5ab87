"""Typed settings of a library, with documented defaults.

Settings are passed in, never read from globals. They are stored as
``settings.json`` inside the library folder so that the GUI and CLI agree.
"""
from __future__ import annotations

import json
import os
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from engine.errors import LibraryError

VIDEO_EXTENSIONS = (
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts", ".mts",
    ".m2ts", ".m2t", ".vob", ".ogv",   # AVCHD and Blu-ray, HDV camcorders, DVDs, Ogg
    ".mxf", ".dv", ".mod", ".tod",     # professional cameras (XDCAM, Canon), DV tapes, JVC and Panasonic camcorders
    ".asf", ".f4v", ".divx", ".3g2",   # older Windows, Flash, DivX and phone files
    ".rm", ".rmvb",                    # RealMedia, as old collections hold it
)

# Folders that NAS and operating systems fill with copies, previews and deleted files: Synology's
# @eaDir holds low-resolution copies of each video (SYNOPHOTO_FILM_*.mp4), #recycle and $RECYCLE.BIN
# deleted files, #snapshot read-only snapshots.
DEFAULT_EXCLUDE = ("@eaDir", "#recycle", "#snapshot", "$RECYCLE.BIN", "System Volume Information")
MAX_EXCLUDE_PATTERN = 1000

MAX_WORKERS = 1024   # a Ray cluster may use hundreds; more than this is a typo (local use is capped lower)
# Default workers when the model runs on an NVIDIA GPU. Measured on 16 cores and an H200 (RESULTS.md,
# "The CUDA path"), 1080p at 1 frame/s: 1 worker 45.7x real time, 2: 59.3x, 4: 59.6x, 8: 55.0x, and each
# worker holds about 1.6 GB of GPU memory (CUDA context, weights, arena; 13 GB with 8), too much for a
# laptop's GPU.
GPU_WORKERS = 2
# Results one search may ask for: deeper, the reranker would read the stored tokens of much of a big library.
MAX_RESULTS = 1000

# Each number's (whole numbers only, lowest, highest): values the decoder, segmenter, thumbnailer or
# searcher would refuse, or choke on, file by file, are refused once when the library opens.
NUMBERS = {
    "sample_fps": (False, 0.1, 30),
    "max_segment_seconds": (False, 1, 600),
    "min_segment_seconds": (False, 0, 600),
    "shot_threshold": (False, 0.01, 1),
    "thumbnail_width": (True, 16, 1920),
    "workers": (True, 0, MAX_WORKERS),
    "file_timeout_seconds": (False, 1, 86400),
    "rerank_depth": (True, 1, 10000),
    "watch_debounce_seconds": (False, 0, 600),
}


@dataclass
class Settings:
    sample_fps: float = 2.0            # frames per second kept from each video for the model
    max_segment_seconds: float = 10.0  # a moment is never longer than this
    min_segment_seconds: float = 1.0   # shots shorter than this are merged with a neighbour
    shot_threshold: float = 0.35       # colour-histogram distance (0..1) that counts as a hard cut
    thumbnail_width: int = 320         # width in pixels of each segment's JPEG thumbnail
    workers: int = 0                   # decoding/inference worker processes; 0 = one per two cores, at least 1
                                       # (at most GPU_WORKERS when the model will run on an NVIDIA GPU)
    device: str = "auto"               # "auto" (CUDA when it works), "cpu" or "gpu"; also where video is decoded
                                       # (NVDEC on an NVIDIA GPU unless "cpu", see engine.media.hw_decode)
    file_timeout_seconds: float = 600.0  # a file showing no progress this long: its worker is stopped, it failed
    rerank_depth: int = 100            # stage-1 candidates rescored by the reranker
    watch_debounce_seconds: float = 2.0  # quiet time before a changed file is (re)indexed by `watch`
    watch_folders: bool = True         # the window indexes changes in its folders while it is open
    # After indexing, at most daily, a checked copy of catalog.sqlite beside it (catalog/copies.py): as large as the
    # catalog. Turned off, the copy kept is deleted (Library.update_settings).
    keep_catalog_copy: bool = True
    # Names or paths below a folder to leave out (indexer/scan.py: left_out); hidden ones always are.
    exclude: list[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    # A shared library (docs/scaling.md): "" keeps catalog.sqlite and the hnswlib index in the library folder.
    catalog_url: str = ""              # postgresql://user@host:5432/dbname
    vector_store: str = ""             # "hnswlib", or Milvus: http://host:19530 (milvus://…), or a Milvus Lite *.db

    def resolved_workers(self) -> int:
        """Worker processes to start on this computer."""
        if self.workers > 0:
            return min(self.workers, max_local_workers())
        by_cores = max(1, (os.cpu_count() or 2) // 2)
        if self.device != "cpu":
            from engine.runtime.gpu import gpu_likely

            if gpu_likely():   # decoding then limits indexing, and each worker's CUDA context costs GPU memory
                return min(by_cores, GPU_WORKERS)
        return by_cores

    def validate(self) -> "Settings":
        for name, (whole, low, high) in NUMBERS.items():
            value = getattr(self, name)
            if whole and isinstance(value, float) and value.is_integer():
                value = int(value)
                setattr(self, name, value)
            kinds = (int,) if whole else (int, float)
            if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
                kind = "a whole number" if whole else "a number"
                extra = " (0: one per two cores)" if name == "workers" else ""
                raise _invalid(name, f"must be {kind} between {low} and {high}{extra}, not {_shown(value)}")
        for name in ("catalog_url", "vector_store"):
            if not isinstance(getattr(self, name), str):
                raise _invalid(name, f"must be text, not {_shown(getattr(self, name))}")
        if not isinstance(self.exclude, list) or not all(
                isinstance(p, str) and p.strip("/ ") and len(p) <= MAX_EXCLUDE_PATTERN for p in self.exclude):
            raise _invalid("exclude", f"must be a list of names or paths such as [\"@eaDir\", \"Work/raw\"], "
                                      f"not {_shown(self.exclude)}")
        for name in ("watch_folders", "keep_catalog_copy"):
            if not isinstance(getattr(self, name), bool):
                raise _invalid(name, f"must be true or false, not {_shown(getattr(self, name))}")
        if self.device not in ("auto", "cpu", "gpu"):
            raise _invalid("device", f'must be one of "auto", "cpu", "gpu", not {_shown(self.device)}')
        if self.catalog_url and not self.catalog_url.startswith(("postgresql://", "postgresql+psycopg://")):
            raise _invalid("catalog_url", f"must be a PostgreSQL URL (postgresql://user@host:5432/dbname), not "
                                          f"{self.catalog_url!r}; leave it empty for the library's own catalog.sqlite")
        store = self.vector_store
        if store not in ("", "hnswlib") and not (store.startswith(("http://", "https://", "milvus://"))
                                                 or store.endswith(".db")):
            raise _invalid("vector_store", f"must be empty or 'hnswlib' (the library's own index), a Milvus URL "
                                           f"(http://host:19530) or a Milvus Lite file ending in .db, not {store!r}")
        return self

    @classmethod
    def load(cls, path: Path) -> "Settings":
        """The settings saved at ``path`` (defaults where it is missing); keys it does not know are ignored."""
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LibraryError(f"{path}: unreadable settings ({exc}); delete the file to restore defaults") from exc
        if not isinstance(data, dict):
            raise LibraryError(f'{path} must hold a JSON object such as {{"sample_fps": 2.0}}, not '
                               f"{_shown(data)}; correct it, or delete the file to restore defaults")
        known = {f.name: f.default if f.default_factory is MISSING else f.default_factory() for f in fields(cls)}
        settings = cls(**{k: v for k, v in data.items() if k in known})
        try:
            return settings.validate()
        except LibraryError as exc:
            default = known[exc.setting]
            raise LibraryError(f"{path}: {exc}; correct it, or remove it from the file to use the default "
                               f"({_shown(default)})") from exc

    def save(self, path: Path) -> None:
        from engine.util.atomic import atomic_write_text

        atomic_write_text(path, json.dumps(asdict(self), indent=2))


def max_local_workers() -> int:
    """The most worker processes started on this computer. Each decodes on about one core and holds
    its own copy of the model, so more than two per core only costs memory (and thousands would
    exhaust it); the second one per core covers a worker waiting on a slow disk."""
    return 2 * (os.cpu_count() or 1)


def _invalid(name: str, problem: str) -> LibraryError:
    error = LibraryError(f"{name} {problem}")
    error.setting = name   # which one, for Settings.load to add its default
    return error


def _shown(value) -> str:
    """A value as it is written in settings.json."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
