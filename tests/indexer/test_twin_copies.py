"""A copy of an indexed video takes the moments of the indexed one instead of being decoded again: a folder
renamed or moved while the library could not see the old name go, a backup drive, a second download."""
from __future__ import annotations

import os
import shutil

import pytest

from engine.api.library import Library
from engine.indexer.control import IndexControl
from engine.indexer.pipeline import Indexer
from engine.indexer.pool import WorkerPool
from engine.indexer.waiting_copies import WaitingCopies
from engine.settings import Settings
from videogen import ShotSpec, make_video

pytestmark = pytest.mark.slow


@pytest.fixture
def two_videos(tmp_path):
    folder = tmp_path / "Holidays"
    folder.mkdir()
    make_video(folder / "beach.mp4", shots=[ShotSpec(2.0, shape="circle", shape_color=(220, 30, 30), pattern="texture"),
                                            ShotSpec(2.0, shape="square", shape_color=(30, 30, 220), pattern="texture")],
               encoder_args=["-metadata", "creation_time=2019-06-01T12:00:00Z"])
    make_video(folder / "garden.mkv", shots=[ShotSpec(3.0, shape="square", shape_color=(30, 200, 30), pattern="pan")])
    return folder


def _moments(lib, path) -> list[tuple]:
    row = lib.catalog.file_by_path(path)
    segments = lib.catalog.segments_of_file(row.id)
    embeddings = lib.catalog.segment_embeddings([s.id for s in segments])
    return [(s.start, s.end, s.thumbnail, v.tobytes()) for s, v in zip(segments, embeddings.vectors)]


def test_a_folder_renamed_while_the_library_was_closed_needs_no_decoder(two_videos, tiny_bundle, tmp_path,
                                                                           monkeypatch):
    library = tmp_path / "library"
    with Library.open(library, model=tiny_bundle) as lib:
        lib.add_folder(two_videos)
        assert lib.index().indexed == 2
        before = {name: _moments(lib, two_videos / name) for name in ("beach.mp4", "garden.mkv")}
        dates = {f.path.rsplit("/", 1)[1]: f.recorded_at for f in lib.catalog.files()}
    renamed = two_videos.with_name("Holidays 2019")
    two_videos.rename(renamed)

    def no_workers(self, n_files):
        raise AssertionError(f"a worker was started to decode {n_files} file(s)")

    monkeypatch.setattr(Indexer, "_start_pool", no_workers)
    done = []
    with Library.open(library, model=tiny_bundle) as lib:
        lib.add_folder(renamed)
        lib.subscribe(lambda name, payload: done.append(payload) if name == "file_done" else None)
        progress = lib.index()
        assert (progress.indexed, progress.failed, progress.files_done, progress.copied) == (2, 0, 2, 2)
        assert progress.seconds_copied == progress.seconds_done > 0 and progress.rate == 0
        assert sorted(done) == [(str(renamed / "beach.mp4"), "indexed"), (str(renamed / "garden.mkv"), "indexed")]
        for name in ("beach.mp4", "garden.mkv"):
            assert _moments(lib, renamed / name) == before[name]
        files = {f.path: f for f in lib.catalog.files()}
        assert files[str(renamed / "beach.mp4")].recorded_at == dates["beach.mp4"] is not None
        assert files[str(renamed / "garden.mkv")].duration == files[str(two_videos / "garden.mkv")].duration
        found = lib.search("a red circle", k=20)
        assert str(renamed / "beach.mp4") in {m.path for m in found}
        # The old folder is kept as an unplugged drive would be, until it is removed.
        lib.remove_folder(two_videos)
        assert {m.path for m in lib.search("a green square", k=20)} <= {str(renamed / "beach.mp4"),
                                                                         str(renamed / "garden.mkv")}


def test_a_copy_beside_a_new_video_takes_its_moments_and_only_the_new_one_is_decoded(two_videos, tiny_bundle,
                                                                                     tmp_path, monkeypatch):
    backup = tmp_path / "backup"
    backup.mkdir()
    with Library.open(tmp_path / "library", model=tiny_bundle) as lib:
        lib.add_folder(two_videos)
        lib.add_folder(backup)
        assert lib.index().indexed == 2
        shutil.copy2(two_videos / "beach.mp4", backup / "beach copy.mp4")
        make_video(backup / "new.mp4", shots=[ShotSpec(2.0, shape="circle", shape_color=(230, 230, 40), pattern="pan")])
        decoded = []
        submit = WorkerPool.submit
        monkeypatch.setattr(WorkerPool, "submit", lambda pool, task: (decoded.append(task.path), submit(pool, task)))
        progress = lib.index()
        assert (progress.indexed, progress.failed, progress.copied) == (2, 0, 1)
        assert decoded == [str(backup / "new.mp4")]
        assert _moments(lib, backup / "beach copy.mp4") == _moments(lib, two_videos / "beach.mp4")
        assert lib.catalog.file_by_path(backup / "new.mp4").status == "indexed"
        # Search shows each place once, from one of the copies; searched alone, the copy has its moments.
        found = [(m.path, m.start) for m in lib.search("a red circle", k=50)
                 if m.path in (str(two_videos / "beach.mp4"), str(backup / "beach copy.mp4"))]
        assert len(found) == len({start for _, start in found}) > 0
        assert {m.path for m in lib.search("a red circle", k=50, folders=[backup])} == {
            str(backup / "beach copy.mp4"), str(backup / "new.mp4")}


@pytest.mark.parametrize("beside", [True, False], ids=["claimed together", "claimed after"])
def test_copies_met_in_one_run_are_decoded_once(two_videos, tiny_bundle, tmp_path, monkeypatch, beside):
    # Side by side both copies are claimed together (two workers, or one worker and the file it reads ahead) and
    # one waits for the other; a later folder's copy is claimed once the first is indexed.
    (two_videos / "broken.mp4").write_bytes(b"not a video at all " * 2000)
    copies = two_videos if beside else tmp_path / "backup"
    copies.mkdir(exist_ok=True)
    for name in ("beach.mp4", "garden.mkv", "broken.mp4"):
        shutil.copy2(two_videos / name, copies / name.replace(".", " copy."))
    decoded, ways = [], []
    submit = WorkerPool.submit
    monkeypatch.setattr(WorkerPool, "submit", lambda pool, task: (decoded.append(task.path), submit(pool, task)))
    for way in ("holds", "indexed_before"):
        def spied(self, f, real=getattr(WaitingCopies, way), way=way):
            answer = real(self, f)
            ways.extend([way] if answer else [])
            return answer
        monkeypatch.setattr(WaitingCopies, way, spied)
    with Library.open(tmp_path / "library", model=tiny_bundle, settings=Settings(workers=2 if beside else 1)) as lib:
        lib.add_folder(two_videos)
        if not beside:
            lib.add_folder(copies)
        progress = lib.index()
        assert (progress.indexed, progress.failed, progress.copied) == (4, 2, 2)
        assert progress.seconds_copied > 0
        assert ("holds" if beside else "indexed_before") in ways
        # One of each pair is decoded; the copies of a file that failed are tried themselves, and fail too.
        assert sorted(os.path.basename(p).replace(" copy", "") for p in decoded) == [
            "beach.mp4", "broken.mp4", "broken.mp4", "garden.mkv"]
        for name in ("beach.mp4", "garden.mkv"):
            copy = copies / name.replace(".", " copy.")
            assert _moments(lib, copy) == _moments(lib, two_videos / name) != []
        failed = [f.error for f in lib.catalog.files(status="failed")]
        assert len(failed) == 2 and all("not a video file" in error for error in failed)


def test_copies_claimed_one_after_another_do_not_wait_for_the_workers(two_videos, tiny_bundle, tmp_path,
                                                                         monkeypatch):
    # A backup folder of a hundred copies met in the run that decodes their originals: each copy is claimed on its
    # own (one worker), and used to wait one pause for worker messages that could not come (0.2 s a copy).
    backup = tmp_path / "backup"
    for n in range(50):
        (backup / f"{n:02d}").mkdir(parents=True)
        for name in ("beach.mp4", "garden.mkv"):
            shutil.copy2(two_videos / name, backup / f"{n:02d}" / name)
    waits = []
    poll = WorkerPool.poll
    monkeypatch.setattr(WorkerPool, "poll", lambda pool, timeout=0.2: (waits.append(timeout), poll(pool, timeout))[1])
    with Library.open(tmp_path / "library", model=tiny_bundle, settings=Settings(workers=1)) as lib:
        lib.add_folder(two_videos)
        lib.add_folder(backup)
        progress = lib.index()
        assert (progress.indexed, progress.copied, progress.failed) == (102, 100, 0)
    # The waits are for the two decodes, however many copies there are (before: one or more a copy).
    assert len([t for t in waits if t > 0]) < 100, waits


def test_copying_stops_when_the_run_is_cancelled_and_the_rest_stays_pending(two_videos, tiny_bundle, tmp_path,
                                                                             monkeypatch):
    backup = tmp_path / "backup"
    backup.mkdir()
    with Library.open(tmp_path / "library", model=tiny_bundle) as lib:
        lib.add_folder(two_videos)
        assert lib.index().indexed == 2
        for n in range(3):
            shutil.copy2(two_videos / "beach.mp4", backup / f"beach {n}.mp4")
        lib.add_folder(backup)
        monkeypatch.setattr(Indexer, "_start_pool", lambda self, n: pytest.fail("no worker is needed"))
        control = IndexControl()
        lib.subscribe(lambda name, payload: control.cancel() if name == "file_done" else None)
        catalog_copy = tmp_path / "library" / "catalog.sqlite.copy.bak"
        catalog_copy.unlink()                   # kept after the first run
        progress = lib.index(control=control)
        assert (progress.state, progress.indexed, progress.copied) == ("cancelled", 1, 1)
        assert not catalog_copy.exists()        # a cancelled run makes no copy
        statuses = sorted(f.status for f in lib.catalog.files(folder=backup))
        assert statuses == ["indexed", "pending", "pending"]
        progress = lib.index()
        assert (progress.state, progress.indexed, progress.copied) == ("done", 2, 2)
        assert catalog_copy.exists()
