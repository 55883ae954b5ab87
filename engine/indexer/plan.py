"""Reconcile what is on disk with the catalog before indexing.

new file -> pending; changed (size/mtime and content) -> pending; unchanged -> nothing;
moved or renamed (same content hash, old path gone) -> the row follows the file and
keeps its embeddings; gone -> the file and its segments leave the library. A folder
that cannot be reached (an unplugged drive) is left alone, never emptied.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

from engine.indexer.scan import FoundFile, content_hash, scan_folder

log = logging.getLogger(__name__)

# A file modified this recently may still be being copied; look again next time.
SETTLE_SECONDS = 2.0


@dataclass
class PlanSummary:
    new: int = 0
    changed: int = 0
    moved: int = 0
    deleted: int = 0
    unchanged: int = 0
    unsettled: int = 0
    missing_folders: list[str] = field(default_factory=list)
    removed_segments: list[int] = field(default_factory=list)


def reconcile(catalog, now: float | None = None) -> PlanSummary:
    now = time.time() if now is None else now
    summary = PlanSummary()
    gone: dict[str, object] = {}          # path -> catalog file row no longer on disk
    arrivals: list[tuple[object, FoundFile]] = []  # (folder row, file) not yet in the catalog
    for folder in catalog.folder_rows():
        if not os.path.isdir(folder.path):
            summary.missing_folders.append(folder.path)
            continue
        found = {f.path: f for f in scan_folder(folder.path)}
        known = {row.path: row for row in catalog.files(folder=folder.path)}
        for path, row in known.items():
            if path not in found:
                gone[path] = row
        for path, f in found.items():
            row = known.get(path)
            if row is None:
                arrivals.append((folder, f))
            elif row.size == f.size and abs(row.mtime - f.mtime) < 1e-3:
                summary.unchanged += 1
            elif now - f.mtime < SETTLE_SECONDS:
                summary.unsettled += 1
            else:
                _changed(catalog, row, f, summary)

    by_hash: dict[str, list] = {}
    for row in gone.values():
        if row.content_hash:
            by_hash.setdefault(row.content_hash, []).append(row)
    for folder, f in arrivals:
        if now - f.mtime < SETTLE_SECONDS:
            summary.unsettled += 1
            continue
        try:
            digest = content_hash(f.path)
        except OSError as exc:
            row = catalog.upsert_pending(folder.id, f.path, f.size, f.mtime, None)
            catalog.mark_failed(row.id, f"cannot be read: {exc.strerror or exc}")
            summary.new += 1
            continue
        candidates = by_hash.get(digest)
        if candidates:
            old = candidates.pop()
            gone.pop(old.path, None)
            catalog.move_file(old.id, f.path, folder.id, f.mtime)
            summary.moved += 1
        else:
            catalog.upsert_pending(folder.id, f.path, f.size, f.mtime, digest)
            summary.new += 1
    for row in gone.values():
        summary.removed_segments.extend(catalog.delete_file(row.id))
        summary.deleted += 1
    return summary


def _changed(catalog, row, f: FoundFile, summary: PlanSummary) -> None:
    try:
        digest = content_hash(f.path)
    except OSError as exc:
        catalog.mark_failed(row.id, f"cannot be read: {exc.strerror or exc}")
        return
    if digest == row.content_hash and row.size == f.size:
        catalog.touch_file(row.id, f.mtime)   # same bytes, new timestamp: keep the embeddings
        summary.unchanged += 1
        return
    catalog.upsert_pending(row.folder_id, f.path, f.size, f.mtime, digest)
    summary.changed += 1
