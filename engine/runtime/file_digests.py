"""sha256 digests of a bundle's files, remembered by each file's status so that loading a model need not read
every byte of it again.

Loading a bundle checks its fingerprint (bundle.py). Hashing ViT-B-32 int8's files takes 0.16-0.3 s of CPU in
every process that loads it: each indexing worker as it starts, each `clipseek search`. A file whose size,
inode, modification time and change time are those it had when it was last hashed is taken to have the
digest it had then. Writing to a file changes its change time (ctime), and so does setting its modification
time back; no user call can set the ctime. What the status cannot show, a sector damaged on the disk, is what
`clipseek model verify` is for: it always reads every byte.

The memo is one small JSON file in the user's data folder. Reading or writing it never fails a load: a memo
that cannot be read counts as empty, one that cannot be written is left as it is.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Sequence

log = logging.getLogger(__name__)

MEMO_NAME = "file-digests.json"
MEMO_ENTRIES = 64          # a few bundles' files; older entries go first
_BLOCK = 1 << 20


def memo_path() -> Path:
    from engine.paths import data_dir

    return data_dir() / "cache" / MEMO_NAME


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_files(paths: Sequence[Path], remembered: bool = False) -> list[str]:
    """The digest of each file; with ``remembered``, those of files unchanged since they were last hashed come
    from the memo, and the others are hashed and added to it."""
    if not remembered:
        return [sha256_file(p) for p in paths]
    memo = _read_memo()
    found: dict[str, dict] = {}
    digests = []
    for path in paths:
        key = str(Path(path).resolve())
        stamp = _stamp(path)   # before reading: a file written meanwhile gets a new ctime, so is hashed again next time
        entry = memo.get(key)
        if isinstance(entry, dict) and entry.get("stat") == stamp and isinstance(entry.get("sha256"), str):
            digests.append(entry["sha256"])
            continue
        digests.append(sha256_file(path))
        found[key] = {"stat": stamp, "sha256": digests[-1]}
    if found:
        _remember(found)
    return digests


def _stamp(path: Path) -> list[int]:
    st = os.stat(path)
    return [st.st_size, st.st_ino, st.st_dev, st.st_mtime_ns, st.st_ctime_ns]


def _read_memo() -> dict:
    try:
        memo = json.loads(memo_path().read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


def _remember(found: dict[str, dict]) -> None:
    from engine.util.atomic import atomic_write_text

    # Read again: another process may have added its files since.
    memo = {key: entry for key, entry in _read_memo().items() if key not in found and Path(key).is_file()}
    memo.update(found)
    kept = dict(list(memo.items())[-MEMO_ENTRIES:])
    try:
        atomic_write_text(memo_path(), json.dumps(kept))
    except OSError as exc:
        log.debug("file digests not remembered in %s: %s", memo_path(), exc)
