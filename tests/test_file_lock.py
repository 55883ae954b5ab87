"""engine.util.filelock: one exclusive holder, or any number of shared ones (a library open in several places)."""
from __future__ import annotations

import os

import pytest

from engine.util.filelock import FileLock

pytestmark = pytest.mark.skipif(os.name == "nt", reason="Windows takes no shared lock (an open file cannot be "
                                                        "replaced there anyway)")


def test_shared_holders_keep_out_an_exclusive_one_and_an_exclusive_one_keeps_out_all(tmp_path):
    path = tmp_path / "open.lock"
    window, watch = FileLock(path, shared=True), FileLock(path, shared=True)
    assert window.acquire() and watch.acquire()
    restore = FileLock(path)
    assert not restore.acquire(timeout=0.1)
    window.release()
    assert not restore.acquire()
    watch.release()
    assert restore.acquire()
    late = FileLock(path, shared=True)
    assert not late.acquire(timeout=0.1)
    restore.release()
    assert late.acquire()
    late.release()
