"""FolderWatching on its own: a real library, a real folder watcher, the window's task runner, no window."""
from __future__ import annotations

import dataclasses
import shutil

import pytest

from desktop_app.folder_watching import FolderWatching
from desktop_app.workers import TaskRunner


@pytest.fixture
def library(tmp_path, tiny_bundle):
    from engine.api import Library
    from engine.settings import Settings

    folder = tmp_path / "videos"
    folder.mkdir()
    lib = Library.open(tmp_path / "library", model=tiny_bundle, settings=Settings(watch_debounce_seconds=0.3))
    lib.add_folder(folder)
    yield lib
    lib.close()


@pytest.fixture
def watching(qtbot, library):
    runner = TaskRunner()
    errors: list[str] = []
    shown: list[str] = []
    made = FolderWatching(runner, lambda: sorted(shown), errors.append)
    made.errors, made.shown, made.runner = errors, shown, runner
    made.use_library(library)
    yield made
    made.close()
    runner.wait()
    made.stop_unclaimed()
    qtbot.wait(100)             # the runner's last callbacks arrive while it and their owner still exist


def folder_of(library) -> str:
    return library.folders()[0].path


def test_a_video_copied_into_a_watched_folder_is_reported_once_it_is_quiet(qtbot, watching, library, tmp_path):
    from tests.videogen import ShotSpec, make_video

    watching.watch([folder_of(library)])
    qtbot.waitUntil(lambda: watching.watcher is not None, timeout=10_000)
    assert watching.watcher.folders == [folder_of(library)]
    watching.shown.append(folder_of(library))
    made = make_video(tmp_path / "arriving.mp4", shots=[ShotSpec(1.0)]).path
    settled = []
    watching.settled.connect(settled.append)
    shutil.copy(made, tmp_path / "videos" / "arrived.mp4")
    qtbot.waitUntil(lambda: bool(settled), timeout=10_000)
    qtbot.wait(1_200)                   # once for one change, not at every check after it
    assert settled == [[folder_of(library)]] and watching.errors == []


def test_a_change_is_reported_with_the_folders_it_was_in_of_those_shown(qtbot, watching, library, tmp_path):
    first = folder_of(library)
    other = tmp_path / "other"
    other.mkdir()
    second = library.add_folder(other).path
    watching.watch([first, second])
    qtbot.waitUntil(lambda: watching.watcher is not None, timeout=10_000)
    watching.shown.extend([first, second])
    settled = []
    watching.settled.connect(settled.append)
    (other / "arrived.mp4").write_bytes(b"\x00" * 1024)
    qtbot.waitUntil(lambda: bool(settled), timeout=10_000)
    assert settled == [[second]]

    watching.shown.remove(second)                # removed since the watcher started: not indexed for that
    (other / "another.mp4").write_bytes(b"\x00" * 1024)
    qtbot.wait(1_500)
    assert settled == [[second]]
    (tmp_path / "videos" / "third.mp4").write_bytes(b"\x00" * 1024)
    (other / "fourth.mp4").write_bytes(b"\x00" * 1024)
    qtbot.waitUntil(lambda: len(settled) == 2, timeout=10_000)
    assert settled[1] == [first] and watching.errors == []


def test_the_same_folders_keep_their_watcher_and_others_get_a_new_one(qtbot, watching, library, tmp_path):
    watching.watch([folder_of(library)])
    qtbot.waitUntil(lambda: watching.watcher is not None, timeout=10_000)
    first = watching.watcher
    watching.watch([folder_of(library)])
    qtbot.wait(300)
    assert watching.watcher is first and first.running
    more = tmp_path / "more"
    more.mkdir()
    watching.watch([folder_of(library), str(more)])
    qtbot.waitUntil(lambda: watching.watcher is not None and watching.watcher is not first, timeout=10_000)
    assert watching.watcher.folders == sorted([folder_of(library), str(more)])
    qtbot.waitUntil(lambda: not first.running, timeout=10_000)      # the old one is stopped, on a worker


def test_nothing_is_watched_while_watching_is_off(qtbot, watching, library):
    watching.watch([folder_of(library)])
    qtbot.waitUntil(lambda: watching.watcher is not None, timeout=10_000)
    watcher = watching.watcher
    library.update_settings(dataclasses.replace(library.settings, watch_folders=False))
    watching.watch([folder_of(library)])
    assert watching.watcher is None
    qtbot.waitUntil(lambda: not watcher.running, timeout=10_000)


def test_folders_that_differ_from_those_shown_are_reported(qtbot, watching, library):
    changed = []
    watching.folders_changed.connect(changed.append)
    watching.check_folders()                    # the window shows none; the library has one
    qtbot.waitUntil(lambda: bool(changed), timeout=10_000)
    assert changed == [True]                    # watched, so what changed is to be indexed
    watching.shown.append(folder_of(library))
    watching.check_folders()
    watching.runner.wait()
    qtbot.wait(100)
    assert changed == [True]


def test_a_closed_watching_starts_nothing(qtbot, watching, library):
    watching.close()
    watching.watch([folder_of(library)])
    watching.check_folders()
    watching.runner.wait()
    qtbot.wait(100)
    assert watching.watcher is None and not watching.folders_timer.isActive()
