from __future__ import annotations

import pytest

from engine.catalog import Catalog

from .conftest import MEDIA, make_segments


def test_failure_inside_record_indexed_leaves_nothing_half_written(catalog, folder, monkeypatch):
    row = catalog.upsert_pending(folder.id, f"{folder.path}/a.mp4", 1, 1.0, "h")
    old = catalog.record_indexed(row.id, MEDIA, make_segments(3), "fp-a")
    seq = catalog.last_change_seq()

    def explode(*_args, **_kwargs):
        raise OSError("disk vanished")

    # The old segments are already deleted and the new ones inserted when this runs.
    monkeypatch.setattr(Catalog, "_insert_embeddings", explode)
    with pytest.raises(OSError, match="disk vanished"):
        catalog.record_indexed(row.id, MEDIA, make_segments(2, seed=9), "fp-b")
    monkeypatch.undo()

    assert [s.id for s in catalog.segments_of_file(row.id)] == old
    assert catalog.segment_embeddings(old).ids.tolist() == old
    assert catalog.changes_since(seq) == []
    f = catalog.file_by_id(row.id)
    assert (f.status, f.model_fingerprint) == ("indexed", "fp-a")
    assert catalog.fingerprints_in_use() == {"fp-a": 3}


def test_nested_tx_joins_the_outer_one_and_rolls_back_together(catalog, folder):
    with pytest.raises(RuntimeError):
        with catalog.tx():
            row = catalog.upsert_pending(folder.id, f"{folder.path}/a.mp4", 1, 1.0, "h")
            with catalog.tx():
                catalog.record_indexed(row.id, MEDIA, make_segments(2), "fp-a")
            # Reads inside the transaction see its own writes.
            assert catalog.file_by_id(row.id).status == "indexed"
            raise RuntimeError("abort")
    assert catalog.files() == [] and catalog.changes_since(0) == []


def test_tx_commits_several_calls_at_once(catalog, folder):
    with catalog.tx():
        a = catalog.upsert_pending(folder.id, f"{folder.path}/a.mp4", 1, 1.0, "ha")
        catalog.upsert_pending(folder.id, f"{folder.path}/b.mp4", 1, 1.0, "hb")
        catalog.mark_skipped(a.id, "too short")
    assert [(f.path.rsplit("/", 1)[1], f.status) for f in catalog.files()] == [("a.mp4", "skipped"),
                                                                                ("b.mp4", "pending")]


def test_other_connections_do_not_see_uncommitted_writes(catalog, folder, open_catalog):
    other = open_catalog()
    with catalog.tx():
        catalog.upsert_pending(folder.id, f"{folder.path}/a.mp4", 1, 1.0, "h")
        assert other.files() == []            # readers go on (WAL, MVCC), and see the last commit
    assert len(other.files()) == 1
