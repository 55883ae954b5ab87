"""Typed settings of a library, with documented defaults.

Settings are passed in, never read from globals. They are stored as
``settings.json`` inside the library folder so that the GUI and CLI agree.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from engine.errors import LibraryError

VIDEO_EXTENSIONS = (
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts", ".mts",
)


@dataclass
class Settings:
    sample_fps: float = 2.0            # frames per second kept from each video for the model
    max_segment_seconds: float = 10.0  # a moment is never longer than this
    min_segment_seconds: float = 1.0   # shots shorter than this are merged with a neighbour
    shot_threshold: float = 0.35       # colour-histogram distance (0..1) that counts as a hard cut
    thumbnail_width: int = 320         # width in pixels of each segment's JPEG thumbnail
    workers: int = 0                   # decoding/inference worker processes; 0 = one per two cores, at least 1
    device: str = "auto"               # "auto" (CUDA when it works), "cpu" or "gpu"
    file_timeout_seconds: float = 600.0  # a worker stuck this long on one file is stopped, the file failed
    rerank_depth: int = 100            # stage-1 candidates rescored by the reranker
    watch_debounce_seconds: float = 2.0  # quiet time before a changed file is (re)indexed by `watch`
    # A shared library (docs/scaling.md): "" keeps catalog.sqlite and the hnswlib index in the library folder.
    catalog_url: str = ""              # postgresql://user@host:5432/dbname
    vector_store: str = ""             # "hnswlib", or Milvus: http://host:19530 (milvus://…), or a Milvus Lite *.db

    def resolved_workers(self) -> int:
        if self.workers > 0:
            return self.workers
        return max(1, (os.cpu_count() or 2) // 2)

    def validate(self) -> "Settings":
        if not 0.1 <= self.sample_fps <= 30:
            raise LibraryError(f"sample_fps must be between 0.1 and 30, not {self.sample_fps}")
        if not 1 <= self.max_segment_seconds <= 600:
            raise LibraryError(f"max_segment_seconds must be between 1 and 600, not {self.max_segment_seconds}")
        if self.device not in ("auto", "cpu", "gpu"):
            raise LibraryError(f"device must be one of auto, cpu, gpu, not {self.device!r}")
        if self.catalog_url and not self.catalog_url.startswith(("postgresql://", "postgresql+psycopg://")):
            raise LibraryError(f"catalog_url must be a PostgreSQL URL (postgresql://user@host:5432/dbname), not "
                               f"{self.catalog_url!r}; leave it empty for the library's own catalog.sqlite")
        store = self.vector_store
        if store not in ("", "hnswlib") and not (store.startswith(("http://", "https://", "milvus://"))
                                                 or store.endswith(".db")):
            raise LibraryError(f"vector_store must be empty or 'hnswlib' (the library's own index), a Milvus URL "
                               f"(http://host:19530) or a Milvus Lite file ending in .db, not {store!r}")
        return self

    @classmethod
    def load(cls, path: Path) -> "Settings":
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LibraryError(f"{path}: unreadable settings ({exc}); delete the file to restore defaults") from exc
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known}).validate()

    def save(self, path: Path) -> None:
        from engine.util.atomic import atomic_write_text

        atomic_write_text(path, json.dumps(asdict(self), indent=2))
