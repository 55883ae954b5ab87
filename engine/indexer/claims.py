"""The files one indexer is working on, claimed in the catalog so that no other indexer takes them.

Several indexers (processes, machines, Ray drivers) may share one catalog. Each claims pending
files a few at a time, only as many as it has free workers, and renews its claims while it works.
Writing a file's result clears its claim. A claim not renewed for ``lease_seconds`` (its indexer
was killed, or its machine lost) lapses, and the next indexer to ask claims the file again.
"""
from __future__ import annotations

import os
import socket
import time
import uuid

from engine.catalog.records import FileRow

LEASE_SECONDS = 120.0


def claim_owner() -> str:
    """A name no other indexer uses: host, process and a random part (pids repeat across hosts)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_gone(owner: str) -> bool:
    """True for the claim of an indexer of this host whose process no longer runs (killed, crashed)."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False     # it exists, but belongs to someone else
    return False


def release_stale_claims(catalog, pending: list[FileRow], exclusive: bool) -> int:
    """Give back claims no live indexer holds, so a restart need not wait for their lease to lapse.

    ``exclusive``: this indexer holds the library's lock, so every claim found is a dead one's.
    Otherwise only claims of this host's dead processes are known to be stale; other machines'
    claims lapse with their lease.
    """
    released = 0
    for owner in sorted({f.claimed_by for f in pending if f.claimed_by}):
        if exclusive or owner_is_gone(owner):
            released += catalog.release_claims(owner)
    return released


class ClaimQueue:
    def __init__(self, catalog, owner: str | None = None, lease_seconds: float = LEASE_SECONDS) -> None:
        self.catalog = catalog
        self.owner = owner or claim_owner()
        self.lease_seconds = float(lease_seconds)
        self.held: set[int] = set()
        self._renewed = time.monotonic()

    def take(self, count: int) -> list[FileRow]:
        """Claim up to ``count`` pending files (fewer, or none, when the others hold the rest)."""
        if count <= 0:
            return []
        rows = self.catalog.claim_pending(self.owner, count, self.lease_seconds)
        self.held.update(r.id for r in rows)
        return rows

    def finished(self, file_id: int) -> None:
        """The file's result is written (which cleared its claim in the catalog)."""
        self.held.discard(file_id)

    def give_back(self, file_id: int) -> None:
        """Not done, not this file's fault (a lost worker): any indexer may claim it again now."""
        self.held.discard(file_id)
        self.catalog.release_claims(self.owner, [file_id])

    def renew_if_due(self) -> None:
        """Keep the claims alive; called from the indexer's loop, cheap when nothing is due."""
        now = time.monotonic()
        if self.held and now - self._renewed >= self.lease_seconds / 4:
            self.catalog.renew_claims(self.owner, sorted(self.held))
            self._renewed = now

    def release_all(self) -> None:
        """Stopping (done, cancelled or failed): whatever is still held goes back to the others."""
        self.held.clear()
        self.catalog.release_claims(self.owner)
