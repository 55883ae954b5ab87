"""The copies of catalog.sqlite kept beside it, and putting one back over a damaged catalog.

The catalog holds every embedding: losing it means decoding the whole library again, hours for a large one.
So after indexing, at most once a day, a checked copy is kept (``catalog.sqlite.copy.bak``; not where it would
leave less than a GiB of the disk free), beside the copies made before schema upgrades (``catalog.sqlite.v<N>.bak``).
Restoring the newest puts the library back as it was then; the next indexing finds what changed since, and the
vector index rebuilds itself from the catalog (its watermark is ahead of the restored change log). The damaged
file is kept, renamed, never deleted.
"""
from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.errors import CatalogError
from engine.util.atomic import atomic_write

log = logging.getLogger(__name__)

COPY_SUFFIX = ".copy.bak"
COPY_INTERVAL_SECONDS = 24 * 3600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")     # (a rollback journal on a network drive)
FREE_SPACE_LEFT = 1 << 30        # a copy never takes the last GiB of the disk


@dataclass(frozen=True)
class CatalogCopy:
    path: Path
    made: datetime

    def describe(self) -> str:
        return f"{self.path.name}, of {self.made:%d %b %Y %H:%M}"


def backup_database(db_path: Path, backup_path: Path) -> Path:
    """Consistent copy of a live database (WAL included) through SQLite's backup API."""
    def write(tmp: Path) -> None:
        source = sqlite3.connect(db_path)
        target = sqlite3.connect(tmp)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()

    atomic_write(backup_path, write)
    return backup_path


def copy_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + COPY_SUFFIX)


def drop_copy(db_path: Path) -> bool:
    """Delete the daily copy (copies made before schema upgrades stay); whether there was one."""
    try:
        copy_path(db_path).unlink()
    except FileNotFoundError:
        return False
    return True


def latest_copy(db_path: Path) -> CatalogCopy | None:
    """The newest copy kept of this catalog (the daily one, or one made before a schema upgrade), or None."""
    found = []
    for path in [copy_path(db_path), *db_path.parent.glob(f"{db_path.name}.v*.bak")]:
        try:
            found.append(CatalogCopy(path, datetime.fromtimestamp(path.stat().st_mtime)))
        except OSError:
            continue
    return max(found, key=lambda c: c.made, default=None)


def keep_copy(db_path: Path, interval_seconds: float = COPY_INTERVAL_SECONDS) -> bool:
    """Copy the catalog to ``copy_path`` if the copy there is older than ``interval_seconds`` (or missing) and
    the catalog changed since; the catalog is checked first, so a damaged one never replaces a good copy.
    Returns whether a copy was made."""
    target = copy_path(db_path)
    try:
        copied = target.stat().st_mtime
    except OSError:
        copied = None
    if copied is not None and (time.time() - copied < interval_seconds or not _changed_since(db_path, copied)):
        return False
    size = sum(os.stat(p).st_size for p in _files_of(db_path))
    if shutil.disk_usage(db_path.parent).free < 2 * size + FREE_SPACE_LEFT:
        log.warning("no copy of %s is kept: the disk has too little room for it", db_path)
        return False
    problem = check_file(db_path)
    if problem is not None:
        log.warning("%s fails its check (%s): the copy %s is kept as it is", db_path, problem, target.name)
        return False
    backup_database(db_path, target)
    return True


def restore_latest_copy(db_path: Path) -> tuple[CatalogCopy, Path | None]:
    """Put the newest copy in the damaged (or missing) catalog's place. Returns (the copy, where the damaged file
    went, None where there was none). The caller makes sure that nothing has the catalog open."""
    chosen = latest_copy(db_path)
    if chosen is None:
        raise CatalogError(f"no copy of {db_path} was kept, so there is none to restore; delete the library "
                           f"folder {db_path.parent} and add your folders again to rebuild it")
    problem = check_file(chosen.path, still=True)
    if problem is not None:
        raise CatalogError(f"the copy {chosen.path} is damaged too ({problem}); delete the library folder "
                           f"{db_path.parent} and add your folders again to rebuild it")
    aside = db_path.with_name(f"{db_path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    kept = aside if db_path.exists() else None
    try:
        for place in _files_of(db_path):       # the log and shared memory belong to the damaged (or lost) file
            os.replace(place, aside.with_name(place.name.replace(db_path.name, aside.name, 1)))
        atomic_write(db_path, lambda tmp: shutil.copyfile(chosen.path, tmp))
    except OSError as exc:
        raise CatalogError(f"the copy {chosen.path} could not be put in place of {db_path} "
                           f"({exc.strerror or exc}); close every ClipSeek window and command using this "
                           "library, and check that its folder can be written") from exc
    return chosen, kept


def lost(db_path: Path) -> bool:
    """The catalog file is missing or empty: new, or (where a copy of it was kept) lost."""
    return not db_path.exists() or db_path.stat().st_size == 0


def _files_of(db_path: Path) -> list[Path]:
    """The catalog and its write-ahead log and shared memory, or its rollback journal, those that are there."""
    return [p for p in (db_path.with_name(db_path.name + side) for side in ("", *SQLITE_SIDE_FILES)) if p.exists()]


def _changed_since(db_path: Path, when: float) -> bool:
    return any(p.stat().st_mtime > when for p in _files_of(db_path))


def check_file(db_path: Path, still: bool = False) -> str | None:
    """None when SQLite finds the file whole (PRAGMA quick_check), else what it says. ``still``: a file nothing
    writes (a copy), read as immutable, so no -wal or -shm file is made beside it."""
    try:
        conn = sqlite3.connect(Path(db_path).resolve().as_uri() + ("?immutable=1" if still else "?mode=ro"), uri=True)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    result = "; ".join(str(row[0]) for row in rows[:3])
    return None if result == "ok" else result
