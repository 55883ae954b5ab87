"""Scanning folders and reconciling them with a real catalog."""
from __future__ import annotations

import os
import time

import numpy as np
import pytest

from engine.catalog import Catalog, MediaInfo, SegmentRecord
from engine.indexer import plan as plan_module
from engine.indexer.plan import reconcile
from engine.indexer.scan import content_hash, scan_folder

OLD = 1_600_000_000.0


def write(path, data: bytes, mtime=OLD):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def fake_segments(n=2, d=8):
    rng = np.random.default_rng(0)
    return [SegmentRecord(start=i, end=i + 1.0, thumbnail=None, frame_count=1,
                          vector=rng.normal(size=d).astype(np.float32),
                          clip_tokens=np.zeros((1, d), np.float32), frame_tokens=np.zeros((2, d), np.float32),
                          frame_mask=np.array([1, 0], np.uint8)) for i in range(n)]


@pytest.fixture
def catalog(tmp_path):
    cat = Catalog.open(tmp_path / "lib")
    yield cat
    cat.close()


def test_scan_finds_videos_skips_hidden_and_survives_symlink_loops(tmp_path):
    root = tmp_path / "v"
    write(root / "a.mp4", b"a")
    write(root / "sub" / "B.MKV", b"b")
    write(root / "notes.txt", b"x")
    write(root / ".hidden" / "c.mp4", b"c")
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    found = sorted(os.path.relpath(f.path, root) for f in scan_folder(root))
    assert found == ["a.mp4", "sub/B.MKV"]


def test_content_hash_ignores_name_and_sees_content(tmp_path):
    a = write(tmp_path / "a.mp4", b"x" * 5_000_000)
    b = write(tmp_path / "b.mp4", b"x" * 5_000_000)
    c = write(tmp_path / "c.mp4", b"x" * 4_999_999 + b"y")
    assert content_hash(a) == content_hash(b) != content_hash(c)


def test_reconcile_new_changed_moved_deleted(tmp_path, catalog):
    root = tmp_path / "v"
    write(root / "keep.mp4", b"k" * 100)
    write(root / "move.mp4", b"m" * 100)
    write(root / "gone.mp4", b"g" * 100)
    catalog.add_folder(str(root))
    s = reconcile(catalog)
    assert (s.new, s.moved, s.deleted) == (3, 0, 0)
    for row in catalog.files():
        catalog.record_indexed(row.id, MediaInfo(2.0, 25.0, 10, 10), fake_segments(), "fp")
    (root / "gone.mp4").unlink()
    (root / "sub").mkdir()
    os.replace(root / "move.mp4", root / "sub" / "moved.mp4")
    write(root / "keep.mp4", b"K" * 120, mtime=OLD + 10)
    write(root / "touched-only.mp4", b"t" * 10)
    s = reconcile(catalog)
    assert (s.new, s.changed, s.moved, s.deleted) == (1, 1, 1, 1)
    moved = catalog.file_by_path(str(root / "sub" / "moved.mp4"))
    assert moved.status == "indexed" and len(catalog.segments_of_file(moved.id)) == 2
    assert catalog.file_by_path(str(root / "gone.mp4")) is None
    assert catalog.file_by_path(str(root / "keep.mp4")).status == "pending"


def test_same_bytes_new_mtime_keeps_embeddings(tmp_path, catalog):
    root = tmp_path / "v"
    write(root / "a.mp4", b"a" * 50)
    catalog.add_folder(str(root))
    reconcile(catalog)
    row = catalog.files()[0]
    catalog.record_indexed(row.id, MediaInfo(1.0, 25.0, 10, 10), fake_segments(1), "fp")
    os.utime(root / "a.mp4", (OLD + 99, OLD + 99))
    s = reconcile(catalog)
    assert s.unchanged == 1 and catalog.files()[0].status == "indexed"


def test_unreachable_folder_is_left_alone(tmp_path, catalog):
    root = tmp_path / "drive"
    write(root / "a.mp4", b"a")
    catalog.add_folder(str(root))
    reconcile(catalog)
    os.rename(root, tmp_path / "unplugged")
    s = reconcile(catalog)
    assert s.missing_folders == [str(root)] and s.deleted == 0 and len(catalog.files()) == 1


def test_a_file_still_growing_waits_for_the_next_scan(tmp_path, catalog, monkeypatch):
    root = tmp_path / "v"
    growing = write(root / "copying.mp4", b"x" * 10, mtime=time.time())
    catalog.add_folder(str(root))
    real_sleep = time.sleep

    def sleep_while_copy_continues(seconds):
        with open(growing, "ab") as fh:
            fh.write(b"more")
        real_sleep(0.01)
    monkeypatch.setattr(plan_module.time, "sleep", sleep_while_copy_continues)
    s = reconcile(catalog)
    row = catalog.files()[0]
    assert s.unsettled == 1 and row.status == "skipped" and "being copied" in row.error
    monkeypatch.setattr(plan_module.time, "sleep", real_sleep)
    os.utime(growing, (OLD, OLD))
    s = reconcile(catalog)
    assert catalog.files()[0].status == "pending"
