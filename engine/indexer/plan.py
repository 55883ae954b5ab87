"""Reconcile what is on disk with the catalog before indexing.

new file -> pending; changed (size/mtime and content) -> pending; unchanged -> nothing;
moved or renamed (same content hash, old path gone) -> the row follows the file and
keeps its embeddings; gone -> the file and its segments leave the library. A folder
that cannot be reached (an unplugged drive) or read (no permission) is left alone, never
emptied. An entry with a video's name that is no regular file, or whose name the catalog
cannot hold, is recorded as skipped with the reason and never opened.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.indexer.scan import FoundFile, RefusedFile, content_hash, scan_folder

log = logging.getLogger(__name__)

# A file modified this recently may still be being copied: it is looked at twice,
# GROWTH_CHECK_SECONDS apart, and left for the next scan if it grew meanwhile.
SETTLE_SECONDS = 2.0
GROWTH_CHECK_SECONDS = 0.5


@dataclass
class PlanSummary:
    new: int = 0
    changed: int = 0
    moved: int = 0
    deleted: int = 0
    unchanged: int = 0
    unsettled: int = 0
    failed: int = 0       # marked failed by the scan itself (cannot be read)
    skipped: int = 0      # marked skipped by the scan itself (still being copied, not a regular file, name not UTF-8)
    missing_folders: list[str] = field(default_factory=list)
    unreadable_folders: list[tuple[str, str]] = field(default_factory=list)   # (folder, why)
    removed_segments: list[int] = field(default_factory=list)


def reconcile(catalog, now: float | None = None, exclude: Sequence[str] = (),
              folders: Sequence[str] | None = None) -> PlanSummary:
    """What changed on disk since the catalog last looked; files matching ``exclude`` (the setting) count as
    gone, so a pattern added later takes their moments out of the library. ``folders``: only these library
    folders are looked at (the others stay as the catalog has them)."""
    now = time.time() if now is None else now
    summary = PlanSummary()
    gone: dict[str, object] = {}          # path -> catalog file row no longer on disk
    arrivals: list[tuple[object, FoundFile]] = []  # (folder row, file) not yet in the catalog
    changes: list[tuple[object, FoundFile]] = []   # (catalog row, file) whose size or mtime changed
    refusals: list[tuple[object, RefusedFile, object]] = []   # (folder row, entry, its catalog row or None)
    for folder in catalog.folder_rows():
        if folders is not None and folder.path not in folders:
            continue
        if not os.path.isdir(folder.path):
            summary.missing_folders.append(folder.path)
            continue
        scan = scan_folder(folder.path, exclude)
        summary.unreadable_folders.extend(scan.unreadable)
        found = {f.path: f for f in scan.files}
        refused = {r.path: r for r in scan.refused if r.path not in found}
        known = {row.path: row for row in catalog.files(folder=folder.path)}
        for path, row in known.items():
            if path in refused:
                refusals.append((folder, refused[path], row))
                if row.content_hash or row.status == "indexed":
                    gone[path] = row      # a video was here: its row may follow it, else it leaves
            elif path not in found and not _below_any(path, scan.unreadable):
                gone[path] = row
        refusals.extend((folder, r, None) for path, r in refused.items() if path not in known)
        for path, f in found.items():
            row = known.get(path)
            if row is None:
                arrivals.append((folder, f))
            elif row.size == f.size and abs(row.mtime - f.mtime) < 1e-3:
                summary.unchanged += 1
            else:
                changes.append((row, f))
    arrivals, changes = _drop_growing(catalog, arrivals, changes, now, summary)
    for row, f in changes:
        _changed(catalog, row, f, summary)

    by_hash: dict[str, list] = {}
    for row in gone.values():
        if row.content_hash:
            by_hash.setdefault(row.content_hash, []).append(row)
    for folder, f in arrivals:
        try:
            digest = content_hash(f.path)
        except OSError as exc:
            row = catalog.upsert_pending(folder.id, f.path, f.size, f.mtime, None)
            catalog.mark_failed(row.id, f"cannot be read: {exc.strerror or exc}")
            summary.new += 1
            summary.failed += 1
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
    for folder, entry, row in refusals:
        if row is not None and row.path not in gone and row.status == "skipped" and row.error == entry.reason:
            continue              # said at an earlier scan
        catalog.record_skipped(folder.id, entry.path, entry.reason)
        summary.skipped += 1
    return summary


def _below_any(path: str, folders: list[tuple[str, str]]) -> bool:
    return any(path.startswith(os.path.join(folder, "")) for folder, _why in folders)


def _drop_growing(catalog, arrivals, changes, now: float, summary: PlanSummary):
    """Leave out files still being written: recent ones whose size or mtime moves within a moment."""
    recent = [f for _owner, f in arrivals + changes if now - f.mtime < SETTLE_SECONDS]
    if not recent:
        return arrivals, changes
    time.sleep(GROWTH_CHECK_SECONDS)
    growing = set()
    for f in recent:
        try:
            st = os.stat(f.path)
        except OSError:
            growing.add(f.path)
            continue
        if st.st_size != f.size or st.st_mtime != f.mtime:
            growing.add(f.path)
    for owner, f in arrivals + changes:
        if f.path in growing:
            summary.unsettled += 1
            summary.skipped += 1
            folder_id = owner.folder_id if hasattr(owner, "folder_id") else owner.id
            row = catalog.upsert_pending(folder_id, f.path, f.size, f.mtime, None)
            catalog.mark_skipped(row.id, "still being copied or written; it is indexed once it stops changing")
    keep = lambda pairs: [(o, f) for o, f in pairs if f.path not in growing]  # noqa: E731
    return keep(arrivals), keep(changes)


def _changed(catalog, row, f: FoundFile, summary: PlanSummary) -> None:
    try:
        digest = content_hash(f.path)
    except OSError as exc:
        catalog.mark_failed(row.id, f"cannot be read: {exc.strerror or exc}")
        summary.failed += 1
        return
    if digest == row.content_hash and row.size == f.size:
        catalog.touch_file(row.id, f.mtime)   # same bytes, new timestamp: keep the embeddings
        summary.unchanged += 1
        return
    catalog.upsert_pending(row.folder_id, f.path, f.size, f.mtime, digest)
    summary.changed += 1
