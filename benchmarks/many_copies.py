"""Many copies of a few short videos added in one run: a backup folder copied many times over, a phone's exports.

    .venv/bin/python benchmarks/many_copies.py [--videos 40] [--copies 50] [--checkout DIR]

Makes ``--videos`` distinct 2-second videos (160x120, 10 frames/s, H.264, PyAV) in "Videos", and ``--copies``
folders each holding a copy of all of them, adds them all to a new library and times its first `clipseek index`
with the built-in model: the originals are decoded, every copy takes its original's moments. ``--checkout``
runs the command line of another checkout of the repository (an older commit in a worktree), in the same way.
Prints a table and writes benchmarks/out/many_copies.json.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import PYTHON, ROOT, CpuMeter, print_table, write_json  # noqa: E402


def make_short_video(path: Path, seed: int, seconds: float = 2.0, fps: int = 10) -> None:
    rng = np.random.default_rng(seed)
    colour = rng.integers(0, 256, 3, dtype=np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for n in range(int(seconds * fps)):
            frame = np.empty((120, 160, 3), np.uint8)
            frame[:] = colour
            x = (n * 6 + seed * 13) % 140
            frame[40:70, x:x + 20] = 255 - colour                      # a square crossing the picture
            frame += rng.integers(0, 12, frame.shape, dtype=np.uint8)  # and some grain
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def clipseek(checkout: Path, library: Path, *args: str) -> str:
    done = subprocess.run([PYTHON, "-m", "engine.cli.main", "--library", str(library), *args], check=True,
                          capture_output=True, text=True, cwd=checkout, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=40)
    parser.add_argument("--copies", type=int, default=50, help="folders holding a copy of every video")
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the repository whose command line is timed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clipseek-many-copies-") as tmp:
        work = Path(tmp)
        videos = work / "Videos"
        videos.mkdir()
        for n in range(args.videos):
            make_short_video(videos / f"clip_{n:03d}.mp4", seed=n)
        for c in range(args.copies):
            shutil.copytree(videos, work / "Backups" / f"{c:03d}")
        library = work / "library"
        clipseek(args.checkout, library, "add-folder", str(videos))
        if args.copies:
            clipseek(args.checkout, library, "add-folder", str(work / "Backups"))
        with CpuMeter() as meter:
            summary = clipseek(args.checkout, library, "index")
    files = args.videos * (args.copies + 1)
    row = {"checkout": str(args.checkout), "files": files, "copies": args.videos * args.copies,
           "wall_s": round(meter.wall, 2), "cpu_s": round(meter.cpu_self + meter.cpu_children, 2),
           "files_per_s": round(files / meter.wall, 1), "summary": summary}
    print_table(["checkout", "files", "of them copies", "wall s", "CPU s", "files/s"],
                [[row["checkout"], files, row["copies"], row["wall_s"], row["cpu_s"], row["files_per_s"]]])
    print(summary)
    path = write_json("many_copies.json", row)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
