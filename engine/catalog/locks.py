"""Named locks shared by every process and machine using one catalog (Catalog.named_lock).

PostgreSQL: a session-level advisory lock on hashtext(name), held by one connection taken from
the pool for as long as the lock is held; the server drops it if that connection dies.
SQLite: an OS lock on a file next to catalog.sqlite (the operating system drops it when the
process dies), plus a thread lock for the threads of one process.
"""
from __future__ import annotations

import hashlib
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, ContextManager, Iterator

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from engine.errors import CatalogError
from engine.util.filelock import FileLock

LOCK_NOT_AVAILABLE = "55P03"   # PostgreSQL's SQLSTATE when lock_timeout ran out


def _busy(name: str, timeout: float, location: str) -> CatalogError:
    return CatalogError(f"the lock {name!r} on the catalog {location} is still held by another process or "
                        f"machine after {timeout:g} s; wait for it to finish (or stop it) and try again")


@contextmanager
def advisory_lock(engine: Engine, name: str, timeout: float | None, location: str,
                  translate_errors: Callable[[], ContextManager[None]]) -> Iterator[None]:
    """Hold pg_advisory_lock(hashtext(name)) on a connection of its own, outside any transaction."""
    with translate_errors():
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        try:
            with translate_errors():
                got = _take_advisory(conn, name, timeout)
        except BaseException:
            conn.invalidate()    # interrupted while waiting: the server may grant it anyway, so end the session
            raise
        if not got:
            raise _busy(name, timeout or 0.0, location)
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(hashtext(:name))"), {"name": name})
            except Exception:   # the connection is gone or broken: ending the session releases the lock
                conn.invalidate()
    finally:
        conn.close()


def _take_advisory(conn, name: str, timeout: float | None) -> bool:
    if timeout is None:
        conn.execute(text("SELECT pg_advisory_lock(hashtext(:name))"), {"name": name})
        return True
    if timeout <= 0:           # lock_timeout 0 would mean "wait for ever"
        return bool(conn.execute(text("SELECT pg_try_advisory_lock(hashtext(:name))"), {"name": name}).scalar())
    conn.execute(text("SELECT set_config('lock_timeout', :ms, false)"), {"ms": f"{max(1, int(timeout * 1000))}ms"})
    try:
        conn.execute(text("SELECT pg_advisory_lock(hashtext(:name))"), {"name": name})
        return True
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            return False
        raise
    finally:
        conn.execute(text("RESET lock_timeout"))


class FileLocks:
    """One FileLock per name, in files next to the SQLite database."""

    def __init__(self, db_path: Path) -> None:
        self._db_path = db_path
        self._locks: dict[str, FileLock] = {}
        self._guard = threading.Lock()

    def path_for(self, name: str) -> Path:
        # Names are free text; the file name keeps a readable part and a hash that tells names apart.
        readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:40]
        digest = hashlib.sha256(name.encode()).hexdigest()[:12]
        return self._db_path.with_name(f"{self._db_path.name}.{readable}-{digest}.lock")

    @contextmanager
    def hold(self, name: str, timeout: float | None, location: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(name, FileLock(self.path_for(name)))
        if not lock.acquire(timeout=timeout):
            raise _busy(name, timeout or 0.0, location)
        try:
            yield
        finally:
            lock.release()
