"""Scanning folders and reconciling them with a real catalog."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from engine.catalog import Catalog, MediaInfo, SegmentRecord
from engine.indexer import plan as plan_module
from engine.indexer.plan import reconcile
from engine.indexer.scan import content_hash, left_out, scan_folder

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
    scan = scan_folder(root)
    assert sorted(os.path.relpath(f.path, root) for f in scan.files) == ["a.mp4", "sub/B.MKV"]
    assert scan.refused == [] and scan.unreadable == []


def test_scan_finds_camcorder_and_disc_videos(tmp_path):
    root = tmp_path / "card"
    for name in ("PRIVATE/AVCHD/BDMV/STREAM/00000.MTS", "BDMV/STREAM/00001.m2ts", "HDV/tape1.m2t",
                 "VIDEO_TS/VTS_01_1.VOB", "clip.ogv", "BDMV/index.bdmv"):
        write(root / name, b"v")
    scan = scan_folder(root)
    assert len(scan.files) == 5 and not any(f.path.endswith(".bdmv") for f in scan.files)


def test_scan_finds_professional_tape_and_older_camcorder_videos(tmp_path):
    root = tmp_path / "archive"
    names = ("XDROOT/Clip/C0001.MXF", "CONTENTS/CLIPS001/AA0001.mxf", "tapes/1998.dv", "SD_VIDEO/PRG001/MOV001.MOD",
             "SD_VIDEO/PRG001/MOV002.TOD", "old/clip.asf", "old/flash.f4v", "old/movie.divx", "old/phone.3g2", "old/film.rmvb", "old/news.RM")
    for name in (*names, "XDROOT/Clip/C0001M01.XML", "SD_VIDEO/PRG001/MOV001.MOI"):
        write(root / name, b"v")
    scan = scan_folder(root)
    assert sorted(os.path.relpath(f.path, root) for f in scan.files) == sorted(names)


@pytest.mark.parametrize("relative, patterns, out", [
    ("a.mp4", [], False),
    (".hidden/a.mp4", [], True),
    ("@eaDir/a.mp4/SYNOPHOTO_FILM_M.mp4", ["@eaDir"], True),
    ("Trip/@EADIR/x.mp4", ["@eaDir"], True),           # names compare without regard to case
    ("Trip/eaDir/x.mp4", ["@eaDir"], False),
    ("Trip/day1.tmp.mp4", ["*.tmp.mp4"], True),
    ("Work/raw", ["Work/raw"], True),
    ("Work/raw/b/c.mov", ["/Work/raw/"], True),           # a path and everything below it
    ("Home/Work/raw/c.mov", ["Work/raw"], False),         # a path starts at the library folder
    ("Work/rawer/c.mov", ["Work/raw"], False),
    ("Work/x/y.mov", ["Work/*.mov"], True),               # '*' spans folders
    ("clip.mp4", ["/clip.mp4"], True),                    # a leading '/' makes a name a path
    ("Trip/clip.mp4", ["/clip.mp4"], False),
    ("Trip/clip.mp4", ["clip.mp4"], True),
    ("Trip/clip.mp4", ["/trip/Clip.mp4"], True),
])
def test_left_out_matches_names_anywhere_and_paths_from_the_folder(relative, patterns, out):
    assert left_out(relative, patterns) is out


@pytest.mark.parametrize("folder, relative, out", [
    ("/home/me/Camera 2019", "DCIM/100CANON/MVI_0001.MOV", True),
    ("/home/me/Camera 2020", "DCIM/100CANON/MVI_0001.MOV", False),     # the same path in another library folder
    ("/home/me/Camera 2019", "DCIM/100CANON/MVI_0002.MOV", False),
    ("/home/me/camera 2019/", "dcim/100canon/mvi_0001.mov", True),      # without regard to case
    ("/home/me", "Camera 2019/DCIM/100CANON/MVI_0001.MOV", True),       # a wider folder that took its place
])
def test_a_pattern_that_starts_with_a_library_folders_path_is_for_that_folder_alone(folder, relative, out):
    pattern = "/home/me/Camera 2019/DCIM/100CANON/MVI_0001.MOV"
    assert left_out(relative, [pattern], folder) is out


def test_scan_leaves_out_what_the_patterns_name(tmp_path):
    root = tmp_path / "v"
    for name in ("a.mp4", "@eaDir/a.mp4/SYNOPHOTO_FILM_M.mp4", "Work/raw/b.mov", "Work/cut.mov", "c.part.mp4"):
        write(root / name, b"x")
    scan = scan_folder(root, ["@eaDir", "Work/raw", "*.part.mp4"])
    assert sorted(os.path.relpath(f.path, root) for f in scan.files) == ["Work/cut.mov", "a.mp4"]


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


def test_files_a_new_pattern_leaves_out_leave_the_library(tmp_path, catalog):
    root = tmp_path / "v"
    write(root / "keep.mp4", b"k" * 100)
    write(root / "drafts" / "draft.mp4", b"d" * 100)
    catalog.add_folder(str(root))
    assert reconcile(catalog).new == 2
    s = reconcile(catalog, exclude=["drafts"])
    assert s.deleted == 1 and [os.path.basename(f.path) for f in catalog.files()] == ["keep.mp4"]
    assert reconcile(catalog).new == 1                # the pattern taken away: the file comes back


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


def test_a_name_that_is_not_utf8_is_skipped_and_the_others_are_planned(tmp_path, catalog):
    root = tmp_path / "v"
    write(root / "good.mp4", b"g" * 100)
    write(Path(os.fsdecode(os.fsencode(root) + b"/bad\xffname.mp4")), b"b" * 100)
    catalog.add_folder(str(root))
    for _ in range(2):      # and again: the next scan must not stop on it either
        reconcile(catalog)
        rows = {os.path.basename(r.path): r for r in catalog.files()}
        assert rows["good.mp4"].status == "pending"
        bad = rows["bad\\xffname.mp4"]
        assert bad.status == "skipped" and "not valid UTF-8" in bad.error and "bad\\xffname.mp4" in bad.error


def test_an_unreadable_subfolder_keeps_its_files(tmp_path, catalog, monkeypatch):
    root = tmp_path / "v"
    write(root / "ok.mp4", b"o" * 100)
    write(root / "sub" / "insub.mp4", b"i" * 100)
    catalog.add_folder(str(root))
    reconcile(catalog)
    for row in catalog.files():
        catalog.record_indexed(row.id, MediaInfo(2.0, 25.0, 10, 10), fake_segments(), "fp")
    real_scandir = os.scandir
    denied = str(root / "sub")

    def scandir(path="."):
        if os.fspath(path) == denied:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)
    monkeypatch.setattr(os, "scandir", scandir)
    s = reconcile(catalog)
    assert s.deleted == 0 and s.unreadable_folders == [(denied, "Permission denied")]
    kept = catalog.file_by_path(str(root / "sub" / "insub.mp4"))
    assert kept.status == "indexed" and len(catalog.segments_of_file(kept.id)) == 2
    denied = str(root)      # the library folder itself: there, but cannot be listed
    s = reconcile(catalog)
    assert s.deleted == 0 and s.unreadable_folders == [(denied, "Permission denied")]
    assert [r.status for r in catalog.files()] == ["indexed", "indexed"]


def test_entries_that_are_not_regular_files_are_skipped_without_being_opened(tmp_path, catalog):
    root = tmp_path / "v"
    write(root / "real.mp4", b"r" * 100)
    os.mkfifo(root / "pipe.mp4")
    os.symlink(root / "nothing-here.mp4", root / "dangling.mp4")
    os.symlink("/dev/zero", root / "zero.mp4")
    os.symlink(root / "loop.mp4", root / "loop.mp4")
    catalog.add_folder(str(root))
    s = reconcile(catalog)     # opening the FIFO would block here for ever
    rows = {os.path.basename(r.path): r for r in catalog.files()}
    assert rows.pop("real.mp4").status == "pending"
    reasons = {name: row.error for name, row in rows.items() if row.status == "skipped"}
    assert set(reasons) == {"pipe.mp4", "dangling.mp4", "zero.mp4", "loop.mp4"}
    assert "named pipe" in reasons["pipe.mp4"]
    assert "does not exist" in reasons["dangling.mp4"]
    assert "device" in reasons["zero.mp4"] and "/dev/zero" in reasons["zero.mp4"]
    assert "loop" in reasons["loop.mp4"]
    assert all(str(root / name) in reason for name, reason in reasons.items())
    assert (s.new, s.skipped) == (1, 4)
    assert reconcile(catalog).skipped == 0      # said once, not again at every scan
    catalog.reset_to_pending([r.id for r in rows.values()])    # `clipseek retry`
    reconcile(catalog)
    assert {r.status for r in catalog.files() if r.path != str(root / "real.mp4")} == {"skipped"}


def test_files_that_fail_during_the_scan_are_counted(tmp_path, catalog, monkeypatch):
    root = tmp_path / "v"
    write(root / "secret.mp4", b"s" * 100)
    write(root / "fine.mp4", b"f" * 100)
    catalog.add_folder(str(root))
    real_hash = plan_module.content_hash

    def content_hash_denied(path):
        if os.path.basename(path) == "secret.mp4":
            raise PermissionError(13, "Permission denied", path)
        return real_hash(path)
    monkeypatch.setattr(plan_module, "content_hash", content_hash_denied)
    s = reconcile(catalog)
    assert (s.new, s.failed) == (2, 1)
    assert catalog.file_by_path(str(root / "secret.mp4")).status == "failed"
