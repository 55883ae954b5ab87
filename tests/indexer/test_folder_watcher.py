"""FolderWatcher: which file-system changes make a library index again, and which must not."""
from __future__ import annotations

import os
import shutil
import time

import pytest

from engine.indexer.watch import FolderWatcher

QUIET = 0.2


def settles(watcher: FolderWatcher, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if watcher.settled(QUIET):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def folder(tmp_path):
    videos = tmp_path / "videos"
    (videos / "old").mkdir(parents=True)
    (videos / "old" / "kept.mp4").write_bytes(b"\x00" * 4096)
    return videos


@pytest.fixture
def watcher(folder, tmp_path):
    library = folder / ".clipseek-library"      # a library kept inside a watched folder
    library.mkdir()
    with FolderWatcher([str(folder)], ignore=library).start() as started:
        yield started


@pytest.mark.parametrize("change", ["new video", "video changed", "video deleted", "video renamed",
                                    "folder moved in", "folder deleted"])
def test_a_change_to_videos_or_folders_settles_once(folder, watcher, tmp_path, change):
    kept = folder / "old" / "kept.mp4"
    if change == "new video":
        (folder / "new.MOV").write_bytes(b"\x00" * 1024)
    elif change == "video changed":
        with open(kept, "ab") as fh:
            fh.write(b"\x01")
    elif change == "video deleted":
        kept.unlink()
    elif change == "video renamed":
        kept.rename(folder / "old" / "renamed.mp4")
    elif change == "folder moved in":
        (tmp_path / "trip").mkdir()
        (tmp_path / "trip" / "day1.mkv").write_bytes(b"\x00")
        shutil.move(tmp_path / "trip", folder / "trip")
    else:
        shutil.rmtree(folder / "old")
    assert settles(watcher)
    assert not watcher.settled(QUIET)            # reported once, not again until the next change


def test_reading_videos_and_other_files_and_the_library_itself_do_not_count(folder, watcher):
    with open(folder / "old" / "kept.mp4", "rb") as fh:     # what indexing does to every file
        fh.read()
    (folder / "notes.txt").write_text("shopping list")
    (folder / "old" / "cover.jpg").write_bytes(b"\xff\xd8")
    library = folder / ".clipseek-library"
    (library / "thumbs").mkdir()
    (library / "thumbs" / "moment.mp4").write_bytes(b"\x00")   # even a video name inside the library
    (library / "catalog.sqlite").write_bytes(b"\x00" * 100)
    assert not settles(watcher, within=1.5)


def test_changes_in_what_the_library_leaves_out_do_not_count(folder):
    with FolderWatcher([str(folder)], exclude=["@eaDir", "old/drafts"]).start() as watcher:
        (folder / "@eaDir" / "kept.mp4").mkdir(parents=True)
        (folder / "@eaDir" / "kept.mp4" / "SYNOPHOTO_FILM_M.mp4").write_bytes(b"\x00")
        (folder / "old" / "drafts").mkdir()
        (folder / "old" / "drafts" / "take2.mp4").write_bytes(b"\x00")
        assert not settles(watcher, within=1.5)
        (folder / "old" / "take3.mp4").write_bytes(b"\x00")
        assert settles(watcher)


def test_changes_wait_for_quiet(folder, watcher):
    """A file still being copied changes again and again: nothing settles until it stops for ``quiet`` s."""
    target = folder / "copying.mp4"
    started = time.monotonic()
    with open(target, "wb") as fh:
        while time.monotonic() - started < 1.0:
            fh.write(b"\x00" * 4096)
            fh.flush()
            os.fsync(fh.fileno())
            assert not watcher.settled(QUIET)
            time.sleep(0.05)
    assert settles(watcher)


def test_a_watcher_stops_reporting_when_stopped(folder, tmp_path):
    watcher = FolderWatcher([str(folder)]).start()
    watcher.stop()
    (folder / "late.mp4").write_bytes(b"\x00")
    assert not settles(watcher, within=1.0)
    watcher.stop()                                  # twice is harmless


def test_a_settle_says_which_folders_changed(tmp_path):
    folders = [tmp_path / name for name in ("a", "b", "c")]
    for folder in folders:
        folder.mkdir()
    with FolderWatcher([str(f) for f in folders]).start() as watcher:
        (folders[1] / "new.mp4").write_bytes(b"\x00" * 1024)
        assert settles(watcher)
        assert watcher.changed_folders() == [str(folders[1])]

        (folders[0] / "trip").mkdir()                               # a folder moved in counts for its folder
        (folders[2] / "old.mp4").write_bytes(b"\x00")
        (folders[2] / "old.mp4").rename(folders[2] / "renamed.mp4")
        assert settles(watcher)
        assert watcher.changed_folders() == [str(folders[0]), str(folders[2])]
        assert watcher.changed_folders() == [str(folders[0]), str(folders[2])]    # asking again changes nothing


def test_a_change_that_cannot_be_placed_in_a_folder_means_every_folder(tmp_path):
    watcher = FolderWatcher([str(tmp_path / "a"), str(tmp_path / "b")])     # not started: events are fed by hand
    watcher.changed(str(tmp_path / "a" / "x.mp4"), False, "created")
    watcher.changed(str(tmp_path / "elsewhere" / "y.mp4"), False, "created")
    assert watcher.settled(0.0)
    assert watcher.changed_folders() is None
    watcher.changed(str(tmp_path / "b" / "z.mp4"), False, "deleted")     # the next settle starts afresh
    assert watcher.settled(0.0)
    assert watcher.changed_folders() == [str(tmp_path / "b")]


def test_changes_after_a_settle_wait_for_the_next_one(tmp_path):
    watcher = FolderWatcher([str(tmp_path / "a"), str(tmp_path / "b")])
    watcher.changed(str(tmp_path / "a" / "x.mp4"), False, "created")
    assert watcher.settled(0.0)
    watcher.changed(str(tmp_path / "b" / "y.mp4"), False, "modified")
    assert watcher.changed_folders() == [str(tmp_path / "a")]
    assert watcher.settled(0.0)
    assert watcher.changed_folders() == [str(tmp_path / "b")]
