"""The library's catalog (catalog.sqlite or a shared PostgreSQL database, through SQLAlchemy):
the source of truth."""
from __future__ import annotations

from engine.catalog.catalog import Catalog
from engine.catalog.database import CATALOG_FILE
from engine.catalog.migrations import SCHEMA_VERSION
from engine.catalog.records import (
    FILE_STATUSES, FOLDER_STATES, BulkFile, CatalogStats, Change, FileRow, FolderRow, MediaInfo,
    SegmentEmbeddings, SegmentRecord, SegmentRow,
)

__all__ = [
    "CATALOG_FILE", "Catalog", "SCHEMA_VERSION", "FILE_STATUSES", "FOLDER_STATES", "BulkFile", "CatalogStats",
    "Change", "FileRow", "FolderRow", "MediaInfo", "SegmentEmbeddings", "SegmentRecord", "SegmentRow",
]
