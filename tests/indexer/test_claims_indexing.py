"""The indexer claims files in the catalog: another indexer's live claim is left alone; a lapsed one, or one
of a dead process of this host, is taken. Libraries whose vectors live in Milvus take no folder lock, so
several indexers may run on them; a library with its own hnswlib index is locked, so any claim found there
is a dead indexer's."""
from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from engine.api.library import Library
from engine.indexer.claims import ClaimQueue
from engine.settings import Settings
from videogen import ShotSpec, make_video

pytestmark = pytest.mark.slow


def _library(tmp_path, tiny_bundle, vector_store: str = ""):
    folder = tmp_path / "videos"
    folder.mkdir()
    for i, name in enumerate(("one.mp4", "two.mp4")):
        make_video(folder / name, shots=[ShotSpec(2.0, shape="circle"), ShotSpec(2.0, shape="square")], seed=i)
    lib = Library.open(tmp_path / "library", model=tiny_bundle, settings=Settings(vector_store=vector_store))
    lib.add_folder(folder)
    from engine.indexer.plan import reconcile

    reconcile(lib.catalog)
    return lib, folder


@pytest.fixture
def library_with_two_files(tmp_path, tiny_bundle, milvus_store_url):
    lib, folder = _library(tmp_path, tiny_bundle, milvus_store_url)
    yield lib, folder
    lib.close()


def _dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def test_a_file_claimed_by_a_live_indexer_is_left_to_it(library_with_two_files):
    lib, folder = library_with_two_files
    other = ClaimQueue(lib.catalog, owner="other-machine:1:abc")
    held = other.take(1)
    assert len(held) == 1
    final = lib.index()
    assert final.state == "done" and final.indexed == 1 and final.files_total == 1
    statuses = {f.path: f.status for f in lib.catalog.files()}
    assert statuses[held[0].path] == "pending"
    assert lib.catalog.file_by_id(held[0].id).claimed_by == "other-machine:1:abc"
    other.release_all()
    assert lib.index().indexed == 1
    assert {f.status for f in lib.catalog.files()} == {"indexed"}


def test_a_lapsed_claim_of_a_dead_indexer_is_claimed_again(library_with_two_files, monkeypatch):
    lib, _folder = library_with_two_files
    dead = ClaimQueue(lib.catalog, owner="dead-machine:1:abc", lease_seconds=0.5)
    assert len(dead.take(2)) == 2          # then the machine dies: nobody renews or releases
    time.sleep(1.0)
    assert lib.catalog.claim_pending("probe", 5, lease_seconds=60.0) == []   # live by a 60 s lease
    from engine.indexer import pipeline

    monkeypatch.setattr(pipeline, "LEASE_SECONDS", 0.5)   # the dead claims are older than this lease
    final = lib.index()
    assert final.indexed == 2 and final.failed == 0
    assert all(f.status == "indexed" and f.claimed_by is None for f in lib.catalog.files())


def test_claims_of_a_dead_process_of_this_host_are_taken_at_once(library_with_two_files):
    lib, _folder = library_with_two_files
    crashed = ClaimQueue(lib.catalog, owner=f"{socket.gethostname()}:{_dead_pid()}:abc")
    assert len(crashed.take(2)) == 2                 # a minute ago, by an indexer that then crashed
    final = lib.index()
    assert final.indexed == 2 and {f.status for f in lib.catalog.files()} == {"indexed"}


def test_a_locked_library_takes_back_every_claim_it_finds(tmp_path, tiny_bundle):
    lib, _folder = _library(tmp_path, tiny_bundle)   # its own hnswlib index: indexing holds the folder lock
    try:
        ClaimQueue(lib.catalog, owner="elsewhere:1:abc").take(2)
        assert lib.index().indexed == 2
    finally:
        lib.close()
