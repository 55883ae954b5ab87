"""A folder renamed while the library was closed: the second `clipseek index` after the rename.

    .venv/bin/python benchmarks/renamed_folder.py [--runs 2]

The library indexes a folder of the throughput benchmark's 1080p videos (keyframe every second, 216 s), the
folder is renamed, and the new name is added, as a person reorganising their videos would. The old name then
reads as an unplugged drive (its rows are kept), so its files are not "gone" and no move is seen; the files
under the new name are copies of indexed videos (same content hash and size), which take their moments
instead of being decoded again. Times that second `clipseek index` end to end, and checks that every file's
moments are those of its twin. Default settings (2 frames/s), the int8 ViT-B-32 bundle (random weights).
Prints a table and writes benchmarks/out/renamed_folder.json.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import (OUT, PYTHON, ROOT, CpuMeter, ensure_bundle, ensure_videos, print_table,  # noqa: E402
                               video_sets, write_json)


def clipseek(library: Path, bundle: Path, *args: str) -> str:
    done = subprocess.run([PYTHON, "-m", "engine.cli.main", "--library", str(library), "--model", str(bundle),
                           *args], check=True, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def one_run(video_set, bundle: Path, work: Path) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    videos = work / "Videos"
    videos.mkdir(parents=True)
    for spec in video_set.specs:
        shutil.copy2(spec.path, videos / spec.path.name)
    library = work / "library"
    clipseek(library, bundle, "add-folder", str(videos))
    first = timed_index(library, bundle)
    renamed = videos.rename(work / "Videos 2019")
    clipseek(library, bundle, "add-folder", str(renamed))
    return {"first_index": first, "after_rename": timed_index(library, bundle),
            "moments_equal_twins": same_moments(library, videos, renamed, [s.path.name for s in video_set.specs])}


def timed_index(library: Path, bundle: Path) -> dict:
    """`clipseek index`: its wall and CPU times, and the summary it prints."""
    with CpuMeter() as meter:
        summary = clipseek(library, bundle, "index")
    return {**meter.as_dict(), "summary": summary}


def same_moments(library: Path, old: Path, new: Path, names: list[str]) -> bool:
    from engine.catalog import Catalog

    with Catalog.open(library) as catalog:
        def moments(path: Path):
            segments = catalog.segments_of_file(catalog.file_by_path(path).id)
            vectors = catalog.segment_embeddings([s.id for s in segments]).vectors
            return [(s.start, s.end, v.tobytes()) for s, v in zip(segments, vectors)]
        return all(moments(old / name) == moments(new / name) for name in names)


def copies_benchmark(doc: str, name: str, one_run, before: tuple[str, str], measured: tuple[str, str],
                     same: str, what: str = "") -> None:
    """The main of a copies benchmark: ``one_run(video_set, bundle, work)`` ``--runs`` times on the 1080p set with
    1-s keyframes; each run's dict holds CpuMeter figures and a summary under ``before`` and ``measured`` (key,
    column title) and a bool under ``same``. Prints a table and writes benchmarks/out/<name>.json."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    video_set = video_sets()[0]
    ensure_videos([video_set])
    bundle = ensure_bundle("int8")
    runs = [one_run(video_set, bundle, OUT / name) for _ in range(args.runs)]
    shutil.rmtree(OUT / name, ignore_errors=True)
    print(f"{video_set.label}, {video_set.seconds} s of video in {len(video_set.specs)} files{what}\n")
    rows = [[f"run {n}", r[before[0]]["wall_s"], r[measured[0]]["wall_s"], r[measured[0]]["cpu_children_s"],
             r[same], r[measured[0]]["summary"]] for n, r in enumerate(runs, 1)]
    print_table(["", f"{before[1]}, wall s", f"{measured[1]}, wall s", "CPU s", "same moments", "summary"], rows)
    path = write_json(f"{name}.json", {"video_set": video_set.label, "seconds_of_video": video_set.seconds,
                                       "runs": runs})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    copies_benchmark(__doc__, "renamed_folder", one_run, ("first_index", "first index"),
                     ("after_rename", "after the rename"), "moments_equal_twins")
