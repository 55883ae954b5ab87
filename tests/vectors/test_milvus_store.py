"""What only a shared store has to get right: several processes, a server that may be absent or wrong."""
from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from engine.catalog import MediaInfo
from engine.errors import ClipSeekError, VectorStoreError
from engine.vectors import open_vector_store
from engine.vectors.milvus_store import GRPC_OPTIONS, MilvusStore, collection_name
from engine_servers.milvus import require_milvus_lite

from .conftest import DIM, FP, fill, random_segments

REPO = Path(__file__).resolve().parents[2]


def _open(target, catalog, dim=DIM) -> MilvusStore:
    return MilvusStore.open(target.uri, dim, FP, catalog, collection_prefix=target.prefix)


def _collection_ids(target) -> set[int]:
    """Every primary key in the test's collection, read straight from the server."""
    from pymilvus import MilvusClient

    client = MilvusClient(uri=target.uri, grpc_options=GRPC_OPTIONS)
    try:
        rows = client.query(collection_name(target.prefix, FP), filter="id >= 0", output_fields=["id"], limit=16384)
    finally:
        client.close()
    return {int(r["id"]) for r in rows}


def _add_file(catalog, name: str, n: int, seed: int) -> list[int]:
    row = catalog.upsert_pending(catalog.folder_by_path("/videos").id, f"/videos/{name}", 1, 1.0, None)
    return catalog.record_indexed(row.id, MediaInfo(3.0, 25.0, 64, 64), random_segments(np.random.default_rng(seed), n),
                                  FP)


class _PausingCatalog:
    """The catalog, except that reading vectors to add waits until released (a replay caught mid-page)."""

    def __init__(self, catalog) -> None:
        self._catalog = catalog
        self.paused = threading.Event()
        self.release = threading.Event()

    def segment_vectors(self, ids, fingerprint=None):
        self.paused.set()
        assert self.release.wait(20)
        return self._catalog.segment_vectors(ids, fingerprint)

    def __getattr__(self, name):
        return getattr(self._catalog, name)


def test_two_stores_replaying_at_once_do_not_lose_a_delete(milvus_uri, catalog):
    fill(catalog, 4, 5)
    first, second = _open(milvus_uri, catalog), _open(milvus_uri, catalog)
    added = _add_file(catalog, "new.mp4", 3, seed=1)
    pausing = _PausingCatalog(catalog)
    first_replay = threading.Thread(target=first.apply_changes, args=(pausing,))
    first_replay.start()
    try:
        assert pausing.paused.wait(20)                   # the first store has read the adds and holds the lock
        catalog.delete_file(catalog.file_by_path("/videos/new.mp4").id)
        second_replay = threading.Thread(target=second.apply_changes, args=(catalog,))
        second_replay.start()
        second_replay.join(0.5)
        assert second_replay.is_alive(), "the second replay ran while the first one was half done"
    finally:
        pausing.release.set()
        first_replay.join(20)
    second_replay.join(20)
    assert not _collection_ids(milvus_uri) & set(added)
    assert _collection_ids(milvus_uri) == set(catalog.segment_ids(fingerprint=FP).tolist())
    assert second.synced_through == catalog.last_change_seq()
    assert catalog.get_meta(f"vectors_synced_through:{first.collection}") == str(catalog.last_change_seq())
    first.close()
    second.close()


CHILD = """
import sys
from pathlib import Path
sys.path[:0] = [{repo!r}, {tests!r}]
from engine.catalog import Catalog
from engine.vectors.milvus_store import MilvusStore
catalog = Catalog.open({library!r})
store = MilvusStore.open({uri!r}, {dim}, {fp!r}, catalog, collection_prefix={prefix!r})
print("ready", flush=True)
while not Path({stop!r}).exists():
    store.apply_changes()
store.close()
catalog.close()
"""


def test_another_process_syncing_the_same_collection_neither_doubles_nor_loses_changes(milvus_uri, catalog,
                                                                                       tmp_path):
    fill(catalog, 3, 5)
    store = _open(milvus_uri, catalog)
    stop = tmp_path / "stop"
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(
        repo=str(REPO), tests=str(REPO / "tests"), library=str(catalog.path.parent), uri=milvus_uri.uri, dim=DIM,
        fp=FP, prefix=milvus_uri.prefix, stop=str(stop))], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert child.stdout.readline().strip() == b"ready"   # both replay from here on
        for round_ in range(12):
            _add_file(catalog, f"r{round_}.mp4", 4, seed=10 + round_)
            if round_ % 3 == 2:
                catalog.delete_file(catalog.file_by_path(f"/videos/r{round_ - 1}.mp4").id)
            store.apply_changes(catalog)
        stop.touch()
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err.decode(errors="replace")[-3000:]
    store.apply_changes(catalog)
    expected = set(catalog.segment_ids(fingerprint=FP).tolist())
    assert _collection_ids(milvus_uri) == expected and store.count == len(expected)
    assert store.synced_through == catalog.last_change_seq()
    store.close()


def test_a_changelog_trimmed_under_an_open_store_rebuilds_it(milvus_uri, catalog):
    fill(catalog, 3, 5)
    store = _open(milvus_uri, catalog)
    gone = catalog.delete_file(catalog.file_by_path("/videos/f0.mp4").id)
    catalog.trim_changes(catalog.last_change_seq())        # e.g. another process saved past it and trimmed
    store.apply_changes(catalog)
    assert "change log" in store.notices[-1] and store.count == 10
    assert not _collection_ids(milvus_uri) & set(gone)
    store.close()


def test_a_collection_of_another_dimension_is_rebuilt(milvus_uri, catalog):
    from pymilvus import DataType, MilvusClient

    fill(catalog, 2, 5)
    client = MilvusClient(uri=milvus_uri.uri, grpc_options=GRPC_OPTIONS)
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=8)
    client.create_collection(collection_name(milvus_uri.prefix, FP), schema=schema)
    client.close()
    store = _open(milvus_uri, catalog)
    assert len(store.notices) == 1 and "rebuilt from the catalog" in store.notices[0]
    assert store.count == 10 and store.search(np.ones(DIM), 3)[0].shape == (1, 3)
    store.close()


def test_a_collection_gone_from_the_server_is_rebuilt_with_a_notice(milvus_uri, catalog):
    from pymilvus import MilvusClient

    fill(catalog, 2, 5)
    _open(milvus_uri, catalog).close()
    client = MilvusClient(uri=milvus_uri.uri, grpc_options=GRPC_OPTIONS)
    client.drop_collection(collection_name(milvus_uri.prefix, FP))
    client.close()
    store = _open(milvus_uri, catalog)
    assert "missing on the Milvus server" in store.notices[0] and store.count == 10
    store.close()


def test_milvus_lite_in_process_from_a_db_path(tmp_path, catalog):
    require_milvus_lite()
    ids = fill(catalog, 3, 4)
    spec = str(tmp_path / "vectors.db")
    store = open_vector_store(spec, tmp_path / "lib", DIM, FP, catalog)
    assert isinstance(store, MilvusStore) and store.count == 12
    vector = catalog.segment_vectors(ids[:1], FP)[1]
    assert store.search(vector, 1)[0][0, 0] == ids[0]
    catalog.delete_file(catalog.file_by_path("/videos/f0.mp4").id)
    store.sync(catalog)
    store.close()
    reopened = open_vector_store(spec, tmp_path / "lib", DIM, FP, catalog)
    assert (reopened.count, reopened.notices) == (8, [])
    reopened.close()


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("spec, says", [
    ("ftp://example.org/vectors", "not a vector store address"),
    ("milvus://", "not a vector store address"),
    ("/no/such/folder/vectors.db", "does not exist"),
    ("unreachable", "cannot reach the Milvus server"),
])
def test_a_bad_address_is_a_sentence(tmp_path, catalog, spec, says):
    require_milvus_lite()
    if spec == "unreachable":
        spec = f"milvus://127.0.0.1:{_closed_port()}"
    with pytest.raises(VectorStoreError, match=says) as caught:
        open_vector_store(spec, tmp_path / "lib", DIM, FP, catalog)
    assert isinstance(caught.value, ClipSeekError)


def test_without_pymilvus_choosing_milvus_says_what_to_install(tmp_path, catalog, monkeypatch):
    monkeypatch.setitem(sys.modules, "pymilvus", None)      # what an install without the extra looks like
    with pytest.raises(VectorStoreError, match=r"install clipseek\[shared\]"):
        open_vector_store("milvus://127.0.0.1:19530", tmp_path / "lib", DIM, FP, catalog)
    assert open_vector_store("hnswlib", tmp_path / "lib", DIM, FP, catalog).count == 0
