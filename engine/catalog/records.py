"""Plain rows the catalog hands out and takes in. Immutable, detached from any session."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, Sequence

import numpy as np

FILE_STATUSES = ("pending", "indexed", "skipped", "failed")
FOLDER_STATES = ("ok", "missing", "indexing")


@dataclass(frozen=True)
class FolderRow:
    id: int
    path: str
    added_at: float           # seconds since the epoch
    state: str                # one of FOLDER_STATES
    indexed: int = 0          # file counts by status; filled by Catalog.folders()
    pending: int = 0
    failed: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class FileRow:
    id: int
    folder_id: int
    path: str
    size: int
    mtime: float
    content_hash: str | None
    duration: float | None
    fps: float | None
    width: int | None
    height: int | None
    rotation: int | None
    status: str               # one of FILE_STATUSES
    error: str | None         # error text (failed) or reason (skipped)
    indexed_at: float | None
    model_fingerprint: str | None
    attempts: int             # failed tries since the content last changed
    claimed_by: str | None = None     # the indexer working on it (Catalog.claim_pending), None when free
    claimed_at: float | None = None   # when that indexer claimed or last renewed it
    recorded_at: float | None = None  # when the video was recorded, if its container says


@dataclass(frozen=True)
class SegmentRow:
    """A segment joined with what a moment needs from its file and folder."""
    id: int
    file_id: int
    start: float              # seconds
    end: float                # seconds
    thumbnail: str | None
    fingerprint: str
    frame_count: int
    path: str                 # the file
    folder: str               # the library folder holding the file
    file_date: float          # when the video was recorded if its container says, else the file's mtime
    duration: float | None    # of the whole file
    content_hash: str | None = None   # of the file: with its size, says which files are copies of one video
    size: int = 0


class MediaFacts(Protocol):
    """What record_indexed reads from a probed file (MediaInfo or any object with these attributes)."""
    duration: float
    fps: float
    width: int
    height: int
    rotation: int


class SegmentLike(Protocol):
    """What record_indexed reads from each segment (SegmentRecord or any object with these attributes)."""
    start: float
    end: float
    thumbnail: str | None
    frame_count: int
    vector: np.ndarray        # [D] float32
    clip_tokens: np.ndarray   # [K, D] (stored as float16)
    frame_tokens: np.ndarray  # [T, D] (stored as float16)
    frame_mask: np.ndarray    # [T] (stored as uint8)


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    fps: float
    width: int
    height: int
    rotation: int = 0
    recorded_at: float | None = None


@dataclass(frozen=True)
class SegmentRecord:
    start: float
    end: float
    thumbnail: str | None
    frame_count: int
    vector: np.ndarray
    clip_tokens: np.ndarray
    frame_tokens: np.ndarray
    frame_mask: np.ndarray


@dataclass(frozen=True)
class BulkFile:
    """One already-indexed file for Catalog.bulk_add_indexed (benchmarks, imports)."""
    path: str
    size: int
    mtime: float
    content_hash: str | None
    media: MediaFacts
    segments: Sequence[SegmentLike]


@dataclass(frozen=True)
class SegmentEmbeddings:
    """Stored embeddings of some segments, as float32, rows in the order of ``ids``.

    Ids asked for but no longer in the catalog are left out of ``ids`` (and of every array).
    Segments with fewer frame tokens than the longest are padded with zeros and mask 0.
    """
    ids: np.ndarray           # [N] int64
    vectors: np.ndarray       # [N, D]
    clip_tokens: np.ndarray   # [N, K, D]
    frame_tokens: np.ndarray  # [N, T, D]
    frame_mask: np.ndarray    # [N, T]


class Change(NamedTuple):
    seq: int
    segment_id: int
    op: str                   # "add" or "del"


@dataclass(frozen=True)
class CatalogStats:
    files: dict = field(default_factory=dict)   # status -> count, every status present
    segments: int = 0
    seconds_indexed: float = 0.0                # summed duration of indexed files
