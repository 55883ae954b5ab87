"""`clipseek watch`: files that appear, change or disappear are picked up without a rescan command."""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

from engine.api.library import Library
from engine.indexer.watch import watch_library
from engine.settings import Settings
from videogen import ShotSpec, make_video

pytestmark = pytest.mark.slow


def wait_until(check, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.3)
    return False


@contextlib.contextmanager
def watching(lib):
    """``watch_library`` on a thread for the ``with`` block; any error it raised fails the test after."""
    stop = threading.Event()
    errors = []

    def run():
        try:
            watch_library(lib, stop=stop, poll=0.2)
        except Exception as exc:   # surfaced below
            errors.append(exc)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield errors
    finally:
        stop.set()
        thread.join(30)
        lib.close()
    assert not errors and not thread.is_alive()


def indexed_paths(lib) -> set[str]:
    return {f.path for f in lib.catalog.files(status="indexed")}


def test_watch_indexes_new_files_and_drops_deleted_ones(tmp_path, tiny_bundle):
    videos = tmp_path / "videos"
    videos.mkdir()
    first = make_video(videos / "first.mp4", shots=[ShotSpec(2.0)]).path
    spare = make_video(tmp_path / "spare.mp4", shots=[ShotSpec(2.0, background=(10, 200, 10))]).path
    old = time.time() - 60
    os.utime(first, (old, old))
    lib = Library.open(tmp_path / "lib", model=tiny_bundle, settings=Settings(watch_debounce_seconds=0.5))
    lib.add_folder(videos)
    with watching(lib) as errors:
        assert wait_until(lambda: str(first) in indexed_paths(lib)), errors
        arrived = videos / "arrived later.mp4"
        shutil.copy(spare, arrived)
        assert wait_until(lambda: str(arrived) in indexed_paths(lib)), errors
        first.unlink()
        assert wait_until(lambda: lib.catalog.file_by_path(str(first)) is None), errors


def test_watch_takes_up_folders_another_clipseek_adds_and_drops_those_it_removes(tmp_path, tiny_bundle,
                                                                                  monkeypatch):
    from engine.indexer import watch

    monkeypatch.setattr(watch, "FOLDERS_CHECK_SECONDS", 0.5)
    first, later = tmp_path / "first", tmp_path / "later"
    first.mkdir()
    later.mkdir()
    one = make_video(first / "one.mp4", shots=[ShotSpec(2.0)]).path
    spare = make_video(tmp_path / "spare.mp4", shots=[ShotSpec(2.0, background=(10, 200, 10))]).path
    lib = Library.open(tmp_path / "lib", model=tiny_bundle, settings=Settings(watch_debounce_seconds=0.5))
    lib.add_folder(first)
    cli = [sys.executable, "-m", "engine.cli.main", "--library", str(tmp_path / "lib"), "--model", str(tiny_bundle)]

    def cli_ok(*args) -> bool:
        """Whether the command succeeded; it is refused while the watcher indexes, and tried again."""
        return subprocess.run([*cli, *map(str, args)], capture_output=True).returncode == 0
    with watching(lib) as errors:
        assert wait_until(lambda: str(one) in indexed_paths(lib)), errors
        shutil.copy(spare, later / "before.mp4")
        assert wait_until(lambda: cli_ok("add-folder", later)), errors           # by another process
        assert wait_until(lambda: str(later / "before.mp4") in indexed_paths(lib)), errors
        assert f"watching {later} too" in lib.notices
        shutil.copy(spare, later / "after.mp4")                   # the new folder is watched, not just indexed
        assert wait_until(lambda: str(later / "after.mp4") in indexed_paths(lib)), errors
        assert wait_until(lambda: cli_ok("remove-folder", first)), errors
        assert wait_until(lambda: f"no longer watching {first}: it left the library, or cannot be reached"
                          in lib.notices), errors


class _NoWatchesLeft:
    """An inotify observer on a system whose watches are used up: starting it fails as Linux does."""

    def schedule(self, *args, **kwargs):
        pass

    def start(self):
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    def stop(self):
        pass


def test_watch_falls_back_to_listing_folders_when_the_system_has_no_watches_left(tmp_path, tiny_bundle,
                                                                                 monkeypatch):
    import watchdog.observers

    from engine.indexer import watch

    monkeypatch.setattr(watchdog.observers, "Observer", _NoWatchesLeft)
    monkeypatch.setattr(watch, "POLL_FALLBACK_SECONDS", 0.5)
    videos = tmp_path / "videos"
    videos.mkdir()
    spare = make_video(tmp_path / "spare.mp4", shots=[ShotSpec(2.0, background=(10, 200, 10))]).path
    lib = Library.open(tmp_path / "lib", model=tiny_bundle, settings=Settings(watch_debounce_seconds=0.5))
    lib.add_folder(videos)
    with watching(lib) as errors:
        assert wait_until(lambda: any("limit on watched folders" in n for n in lib.notices)), errors
        arrived = videos / "arrived.mp4"
        shutil.copy(spare, arrived)
        assert wait_until(lambda: str(arrived) in indexed_paths(lib)), errors
    assert "fs.inotify.max_user_watches" in lib.notices[0]


def test_watch_looks_only_in_the_folders_where_videos_changed(tmp_path, tiny_bundle):
    # A video copied into a small folder need not wait for a large network folder to be listed.
    phone, nas = tmp_path / "phone", tmp_path / "nas"
    for folder in (phone, nas):
        folder.mkdir()
    make_video(nas / "old.mp4", shots=[ShotSpec(2.0)])
    spare = make_video(tmp_path / "spare.mp4", shots=[ShotSpec(2.0, background=(10, 200, 10))]).path
    lib = Library.open(tmp_path / "lib", model=tiny_bundle, settings=Settings(watch_debounce_seconds=0.5))
    phone_path, nas_path = lib.add_folder(phone).path, lib.add_folder(nas).path
    asked = []
    index = lib.index

    def recorded_index(*args, folders=None, **kwargs):
        asked.append(folders)
        return index(*args, folders=folders, **kwargs)
    lib.index = recorded_index
    with watching(lib) as errors:
        assert wait_until(lambda: str(nas / "old.mp4") in indexed_paths(lib)), errors
        shutil.copy(spare, phone / "arrived.mp4")
        assert wait_until(lambda: str(phone / "arrived.mp4") in indexed_paths(lib)), errors
        shutil.move(phone / "arrived.mp4", nas / "moved.mp4")          # a move between folders: both looked in
        assert wait_until(lambda: str(nas / "moved.mp4") in indexed_paths(lib)), errors
        assert wait_until(lambda: lib.catalog.file_by_path(str(phone / "arrived.mp4")) is None), errors
    assert asked[0] is None                                             # the first run looks everywhere
    assert [phone_path] in asked and asked[-1] == sorted([phone_path, nas_path])
