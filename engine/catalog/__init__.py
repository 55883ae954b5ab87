"""The library's catalog (catalog.sqlite through SQLAlchemy): the source of truth."""
from __future__ import annotations

from engine.catalog.catalog import CATALOG_FILE, Catalog
from engine.catalog.migrations import SCHEMA_VERSION
from engine.catalog.records import (
    FILE_STATUSES, FOLDER_STATES, BulkFile, CatalogStats, Change, FileRow, FolderRow, MediaInfo,
    SegmentEmbeddings, SegmentRecord, SegmentRow,
)

__all__ = [
    "CATALOG_FILE", "Catalog", "SCHEMA_VERSION", "FILE_STATUSES", "FOLDER_STATES", "BulkFile", "CatalogStats",
    "Change", "FileRow", "FolderRow", "MediaInfo", "SegmentEmbeddings", "SegmentRecord", "SegmentRow",
]
