"""Several indexers on one catalog: claims, writers taking turns, the change log, named locks, URLs."""
from __future__ import annotations

import multiprocessing
import random
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from engine.catalog import BulkFile, Catalog, MediaInfo
from engine.errors import CatalogError
from engine_servers.postgres import PASSWORD, PASSWORD_USER

from .conftest import MEDIA, make_segments


def _pending(catalog, folder, n: int) -> list[int]:
    return [catalog.upsert_pending(folder.id, f"{folder.path}/{i:03d}.mp4", 1, 1.0, None).id for i in range(n)]


def _run_threads(target, n: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(k: int) -> None:
        try:
            target(k)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


# -- claims ------------------------------------------------------------------------------------
def test_claims_hand_out_pending_files_once_in_id_order(catalog, folder):
    ids = _pending(catalog, folder, 5)
    first = catalog.claim_pending("a", 3, lease_seconds=60)
    assert [f.id for f in first] == ids[:3]
    assert all(f.claimed_by == "a" and f.claimed_at > time.time() - 60 for f in first)
    assert catalog.file_by_id(ids[0]).claimed_by == "a"
    assert [f.id for f in catalog.claim_pending("b", 10, lease_seconds=60)] == ids[3:]
    assert catalog.claim_pending("c", 10, lease_seconds=60) == []
    assert catalog.claim_pending("c", 0, lease_seconds=60) == []
    assert catalog.pending_count() == 5                      # claimed files are still pending


def test_an_expired_claim_goes_to_another_owner(catalog, folder):
    ids = _pending(catalog, folder, 2)
    catalog.claim_pending("dead", 2, lease_seconds=60)
    assert catalog.claim_pending("alive", 2, lease_seconds=60) == []
    time.sleep(0.05)
    again = catalog.claim_pending("alive", 2, lease_seconds=0.01)
    assert [(f.id, f.claimed_by) for f in again] == [(i, "alive") for i in ids]
    assert catalog.renew_claims("dead", ids) == 0            # the dead indexer lost them


def test_claims_are_renewed_released_and_cleared_by_every_outcome(catalog, folder):
    ids = _pending(catalog, folder, 5)
    catalog.claim_pending("a", 5, lease_seconds=60)
    before = catalog.file_by_id(ids[0]).claimed_at
    time.sleep(0.01)
    assert catalog.renew_claims("b", ids) == 0
    assert catalog.renew_claims("a", ids[:2]) == 2
    assert catalog.file_by_id(ids[0]).claimed_at > before
    assert catalog.release_claims("a", [ids[0]]) == 1
    assert [f.id for f in catalog.claim_pending("b", 10, lease_seconds=60)] == [ids[0]]

    catalog.record_indexed(ids[1], MEDIA, make_segments(1), "fp")
    catalog.mark_failed(ids[2], "boom")
    catalog.mark_skipped(ids[3], "too short")
    changed = catalog.upsert_pending(folder.id, catalog.file_by_id(ids[4]).path, 2, 2.0, "new")
    assert changed.claimed_by is None and changed.claimed_at is None
    assert [catalog.file_by_id(i).claimed_by for i in ids] == ["b", None, None, None, None]
    assert catalog.release_claims("a") == 0
    assert catalog.release_claims("b") == 1
    assert catalog.reset_to_pending(ids[1:3]) == 2
    assert catalog.pending_count() == 4
    assert [f.id for f in catalog.claim_pending("c", 10, lease_seconds=60)] == [ids[0], ids[1], ids[2], ids[4]]
    catalog.purge_fingerprint("fp")                          # ids[1] is pending again, claim included
    assert catalog.file_by_id(ids[1]).claimed_by is None


def test_concurrent_claimers_never_share_a_file(catalog, folder, open_catalog):
    ids = _pending(catalog, folder, 60)
    claimers = [open_catalog() for _ in range(4)]
    got: dict[int, list[int]] = {}
    start = threading.Barrier(len(claimers))

    def claim(k: int) -> None:
        mine: list[int] = []
        start.wait()
        while batch := claimers[k].claim_pending(f"worker-{k}", 3, lease_seconds=60):
            mine += [f.id for f in batch]
        got[k] = mine

    assert _run_threads(claim, len(claimers)) == []
    claimed = [i for mine in got.values() for i in mine]
    assert sorted(claimed) == ids                            # every file exactly once
    owners = {f.id: f.claimed_by for f in catalog.files()}
    assert all(owners[i] == f"worker-{k}" for k, mine in got.items() for i in mine)


def _claim_and_skip(library_dir: str, url: str | None, owner: str, start, results) -> None:
    """One indexer process: claim small batches until none are left, finish each file."""
    cat = Catalog.open(Path(library_dir), url=url)
    try:
        start.wait(60)
        mine: list[int] = []
        while batch := cat.claim_pending(owner, 2, lease_seconds=60):
            for f in batch:
                cat.mark_skipped(f.id, owner)
                mine.append(f.id)
        results.put((owner, mine))
    finally:
        cat.close()


def test_indexer_processes_each_finish_every_file_once(catalog, folder, catalog_url, tmp_path):
    ids = _pending(catalog, folder, 40)
    # Fork where there is one (quick); each process opens the catalog itself, as an indexer would.
    ctx = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    start, results = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_claim_and_skip, args=(str(tmp_path / "lib"), catalog_url, f"proc-{k}", start,
                                                       results)) for k in range(3)]
    for p in procs:
        p.start()
    done = dict(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    claimed = [i for mine in done.values() for i in mine]
    assert sorted(claimed) == ids
    files = {f.id: f for f in catalog.files()}
    assert all(files[i].status == "skipped" and files[i].error == owner for owner, mine in done.items() for i in mine)
    assert catalog.pending_count() == 0


def test_postgres_claims_do_not_wait_for_a_writer(postgres_url, tmp_path):
    writer = Catalog.open(tmp_path / "lib", url=postgres_url)
    claimer = Catalog.open(tmp_path / "lib", url=postgres_url)
    try:
        folder = writer.add_folder("/videos")
        _pending(writer, folder, 3)
        claimed: list = []
        with writer.tx():                                    # holds the writers' lock
            writer.set_meta("busy", "yes")
            t = threading.Thread(target=lambda: claimed.extend(claimer.claim_pending("w", 5, lease_seconds=60)))
            t.start()
            t.join(10)
            assert len(claimed) == 3
    finally:
        claimer.close()
        writer.close()


# -- writers, ids and the change log ----------------------------------------------------------
def test_a_second_writer_waits_for_the_first(catalog, folder, open_catalog):
    other = open_catalog()
    finished = threading.Event()

    def write() -> None:
        other.set_meta("second", "yes")
        finished.set()

    with catalog.tx():
        catalog.upsert_pending(folder.id, f"{folder.path}/a.mp4", 1, 1.0, None)
        t = threading.Thread(target=write)
        t.start()
        assert not finished.wait(0.5)
    t.join(30)
    assert finished.is_set() and catalog.get_meta("second") == "yes"


def test_segment_ids_and_change_seqs_are_never_reused(open_catalog, tmp_path):
    cat = open_catalog()
    folder = cat.add_folder(tmp_path / "videos")
    row = cat.upsert_pending(folder.id, f"{folder.path}/a.mp4", 1, 1.0, None)
    first = cat.record_indexed(row.id, MEDIA, make_segments(3), "fp")
    cat.delete_file(row.id)                                  # the highest ids are gone
    last_seq = cat.last_change_seq()
    cat.trim_changes(last_seq)
    cat.close()
    cat = open_catalog()
    row = cat.upsert_pending(folder.id, f"{folder.path}/b.mp4", 1, 1.0, None)
    second = cat.record_indexed(row.id, MEDIA, make_segments(2), "fp")
    assert min(second) > max(first)
    assert min(c.seq for c in cat.changes_since(0)) > last_seq
    bulk = cat.bulk_add_indexed(folder.id, [BulkFile(f"{folder.path}/c.mp4", 1, 1.0, None,
                                                     MediaInfo(2.0, 25.0, 64, 48), make_segments(2, seed=3))], "fp")
    assert min(bulk) > max(second)
    row = cat.upsert_pending(folder.id, f"{folder.path}/d.mp4", 1, 1.0, None)   # after a bulk insert of files
    assert row.id > cat.file_by_path(f"{folder.path}/c.mp4").id


def test_change_log_is_complete_and_in_order_under_concurrent_writers(catalog, folder, open_catalog):
    writers, reader = [open_catalog(), open_catalog()], open_catalog()
    added: list[int] = []
    deleted: list[int] = []
    seen = []
    stop = threading.Event()

    def write(k: int) -> None:
        pause = random.Random(k)
        for i in range(12):
            with writers[k].tx():
                row = writers[k].upsert_pending(folder.id, f"{folder.path}/{k}_{i}.mp4", 1, 1.0, None)
                new_ids = writers[k].record_indexed(row.id, MEDIA, make_segments(2, seed=i), "fp")
                time.sleep(pause.random() * 0.01)           # logged, not yet committed: the risky moment
            added.extend(new_ids)
            if i % 3 == 0:
                deleted.extend(writers[k].delete_file(row.id))

    def follow() -> None:
        """What the vector index does: replay from a watermark, never look back."""
        watermark = 0
        while True:
            last_round = stop.is_set()
            for change in reader.changes_since(watermark):
                seen.append(change)
                watermark = change.seq
            if last_round:
                return
            time.sleep(0.002)

    follower = threading.Thread(target=follow)
    follower.start()
    errors = _run_threads(write, len(writers))
    stop.set()
    follower.join(30)
    assert errors == []
    log = catalog.changes_since(0)
    assert [c.seq for c in log] == sorted({c.seq for c in log})
    assert seen == log                                       # a reader following the watermark missed nothing
    assert sorted(c.segment_id for c in log if c.op == "add") == sorted(added)
    assert sorted(c.segment_id for c in log if c.op == "del") == sorted(deleted)
    position = {(c.segment_id, c.op): n for n, c in enumerate(log)}
    assert all(position[(i, "add")] < position[(i, "del")] for i in deleted)
    assert catalog.last_change_seq() == log[-1].seq


# -- named locks -------------------------------------------------------------------------------
def test_named_lock_excludes_a_second_holder(catalog, open_catalog):
    other = open_catalog()
    got_it = threading.Event()
    thread_errors: list[BaseException] = []

    def wait_for_it() -> None:
        with other.named_lock("apply-changes"):
            got_it.set()

    def try_from_a_thread() -> None:
        try:
            with catalog.named_lock("apply-changes", timeout=0.1):
                pass
        except CatalogError as exc:
            thread_errors.append(exc)

    with catalog.named_lock("apply-changes"):
        with pytest.raises(CatalogError, match="'apply-changes'.*still held.*try again"):
            with other.named_lock("apply-changes", timeout=0.2):
                pass
        t = threading.Thread(target=try_from_a_thread)
        t.start()
        t.join(10)
        assert len(thread_errors) == 1                       # threads of one process are excluded too
        with other.named_lock("another name", timeout=0.2):
            pass
        waiter = threading.Thread(target=wait_for_it)
        waiter.start()
        assert not got_it.wait(0.3)
    waiter.join(10)
    assert got_it.is_set()
    with catalog.named_lock("apply-changes", timeout=0):    # given back by the waiter
        pass


# -- where the catalog is ------------------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_server_is_a_sentence_without_the_password(tmp_path):
    url = f"postgresql://clipseek:s3cret@127.0.0.1:{_closed_port()}/library"
    with pytest.raises(CatalogError) as caught:
        Catalog.open(tmp_path / "lib", url=url)
    message = str(caught.value)
    assert "cannot reach the catalog database" in message and "check that the PostgreSQL server is running" in message
    assert "s3cret" not in message and "clipseek:***@127.0.0.1" in message


def test_a_wrong_password_missing_database_or_user_is_a_sentence(postgres_server, tmp_path):
    with pytest.raises(CatalogError, match="does not exist.*createdb"):
        Catalog.open(tmp_path / "lib", url=postgres_server.url("no_such_library"))
    server = f"{postgres_server.host}:{postgres_server.port}/postgres"
    with pytest.raises(CatalogError, match="does not let this user in.*check the user name"):
        Catalog.open(tmp_path / "lib", url=f"postgresql://nobody@{server}")
    with pytest.raises(CatalogError, match="refused the login.*check the user name and password") as caught:
        Catalog.open(tmp_path / "lib", url=f"postgresql://{PASSWORD_USER}:wrong-password@{server}")
    assert "wrong-password" not in str(caught.value)
    with pytest.raises(CatalogError, match="needs the rights to create and change tables"):   # logged in
        Catalog.open(tmp_path / "lib", url=f"postgresql://{PASSWORD_USER}:{PASSWORD}@{server}")


@pytest.mark.parametrize("url, problem", [
    ("mysql://u@h/db", "lives on PostgreSQL"),
    ("postgresql://u@h:5432", "names no database"),
    ("not a url", "is not a database URL"),
])
def test_a_malformed_url_is_a_sentence(tmp_path, url, problem):
    with pytest.raises(CatalogError, match=problem):
        Catalog.open(tmp_path / "lib", url=url)


def test_a_missing_driver_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)      # as if the shared extra were not installed
    with pytest.raises(CatalogError, match=r"install clipseek\[shared\]"):
        Catalog.open(tmp_path / "lib", url="postgresql://u@127.0.0.1:5432/db")


def test_postgres_location_hides_the_password(postgres_server, postgres_url, tmp_path):
    with_password = postgres_url.replace(f"{postgres_server.user}@", f"{postgres_server.user}:hunter2@")
    cat = Catalog.open(tmp_path / "lib", url=with_password.replace("postgresql://", "postgresql+psycopg://"))
    try:
        assert cat.dialect == "postgresql" and cat.path is None
        assert "hunter2" not in cat.location
        assert cat.location.startswith(f"postgresql+psycopg://{postgres_server.user}:***@")   # as it was given
    finally:
        cat.close()
