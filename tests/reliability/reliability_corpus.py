"""Generated libraries for the reliability tests: plain little videos, and a corpus of bad files.

Every bad kind is written by ``make_bad_corpus``; ``EXPECTED`` says how each one must end
(status and a phrase of its reason). Kinds that need a running index (a file deleted while it
is indexed, a file still being copied) are arranged by the test around ``Library.index``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import videogen
from videogen import ShotSpec, make_video


def make_plain_library(folder: Path, count: int, seconds: float = 3.0, size=(160, 120), fps: float = 10) -> list[Path]:
    """``count`` short videos of two shots each, every file with its own colours."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        background = ((37 * i) % 256, (90 + 53 * i) % 256, (200 - 29 * i) % 256)
        truth = make_video(folder / f"clip{i:02d}.mp4", size=size, fps=fps, seed=i,
                           shots=[ShotSpec(seconds / 2, background=background),
                                  ShotSpec(seconds / 2, pattern="texture", shape="square")])
        paths.append(truth.path)
    return paths


@dataclass(frozen=True)
class Expect:
    status: str            # "indexed", "failed" or "skipped"
    reason: str = ""       # a phrase the reason must contain (failed / skipped only)


# file name (relative to the corpus folder) -> how it must end
EXPECTED: dict[str, Expect] = {
    "empty.mp4": Expect("failed", "empty file"),
    "no_index.mp4": Expect("failed", "truncated or corrupt"),
    "half.mp4": Expect("failed", "truncated or corrupt"),
    "random_bytes.mp4": Expect("failed", "not a video file"),
    "notes.mkv": Expect("failed", "not a video file"),
    "song.mp4": Expect("failed", "no video stream (audio only)"),
    "photo.mp4": Expect("failed", "still image"),
    "huge_header.mkv": Expect("failed", "exceeds the limit"),
    "one_frame.mp4": Expect("indexed"),
    "fps2000.mp4": Expect("indexed"),
    "vfr.mkv": Expect("indexed"),
    "rotated.mp4": Expect("indexed"),
    "mes vidéos/été à la plage 🎬 01.mp4": Expect("indexed"),
    "long_sparse.mp4": Expect("indexed"),
    "good.mp4": Expect("indexed"),
    # Named like videos but no regular files: skipped with the reason, never opened (a FIFO or a device would block).
    "dangling.mp4": Expect("skipped", "which does not exist"),
    "pipe.mp4": Expect("skipped", "a named pipe (FIFO), not a video file"),
    "zero.mp4": Expect("skipped", "a link to /dev/zero, a device, not a video file"),
    "self_loop.mp4": Expect("skipped", "symbolic link loop"),
}

# Present on disk, never a catalog row: folders (one named like a video, one a link back to the corpus).
NOT_FILES = ("folder.mp4", "loop")

LONG_SPARSE_SECONDS = 1200.0     # 20 minutes, one frame every 5 seconds


def make_bad_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    good = make_video(folder / "good.mp4", size=(160, 120), fps=10, shots=[ShotSpec(1.5), ShotSpec(1.5)]).path
    (folder / "empty.mp4").write_bytes(b"")
    videogen.remove_moov(good, folder / "no_index.mp4")
    videogen.truncate(good, folder / "half.mp4", 0.5)
    videogen.write_random_bytes(folder / "random_bytes.mp4")
    (folder / "notes.mkv").write_text("these are my notes, not a video\n" * 50, encoding="utf-8")
    videogen.make_audio_only(folder / "song.mp4")
    videogen.write_still_image(folder / "photo.mp4")
    videogen.write_huge_declared_y4m(folder / "huge_header.mkv", 8000, 8000)
    videogen.make_one_frame_video(folder / "one_frame.mp4", size=(160, 120))
    make_video(folder / "fps2000.mp4", size=(64, 48), fps=2000, shots=[ShotSpec(1.0)])
    videogen.make_vfr_video(folder / "vfr.mkv", size=(160, 120))
    make_video(folder / "rotated.mp4", size=(160, 120), fps=10, rotate=90, shots=[ShotSpec(2.0)])
    unicode_dir = folder / "mes vidéos"
    unicode_dir.mkdir()
    make_video(unicode_dir / "été à la plage 🎬 01.mp4", size=(160, 120), fps=10, seed=5,
               shots=[ShotSpec(2.0, background=(240, 200, 60))])
    make_video(folder / "long_sparse.mp4", size=(64, 48), fps=0.2,
               shots=[ShotSpec(LONG_SPARSE_SECONDS, pattern="texture")])
    (folder / "folder.mp4").mkdir()                               # a directory with a video's name
    os.symlink(folder / "gone-for-good.mp4", folder / "dangling.mp4")  # a link to nothing
    os.symlink(folder, folder / "loop")                          # a symlink loop inside the watched folder
    os.mkfifo(folder / "pipe.mp4")
    os.symlink("/dev/zero", folder / "zero.mp4")
    os.symlink(folder / "self_loop.mp4", folder / "self_loop.mp4")
    return folder
