"""The indexer claims files in the catalog: another indexer's live claim is left alone, a lapsed one taken."""
from __future__ import annotations

import time

import pytest

from engine.api.library import Library
from engine.indexer.claims import ClaimQueue
from videogen import ShotSpec, make_video

pytestmark = pytest.mark.slow


@pytest.fixture
def library_with_two_files(tmp_path, tiny_bundle):
    folder = tmp_path / "videos"
    folder.mkdir()
    for i, name in enumerate(("one.mp4", "two.mp4")):
        make_video(folder / name, shots=[ShotSpec(2.0, shape="circle"), ShotSpec(2.0, shape="square")], seed=i)
    lib = Library.open(tmp_path / "library", model=tiny_bundle)
    lib.add_folder(folder)
    from engine.indexer.plan import reconcile

    reconcile(lib.catalog)
    yield lib, folder
    lib.close()


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
