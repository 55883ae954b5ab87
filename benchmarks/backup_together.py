"""A folder and its backup added to a new library together: the first `clipseek index`.

    .venv/bin/python benchmarks/backup_together.py [--runs 2]

The throughput benchmark's 1080p videos (keyframe every second, 216 s) are in "Videos" and, copied, in
"Backup/Videos". Times `clipseek index` of the folder alone, then, in a new library, of both folders added
together: the backup's files are copies (same content hash and size) met in the same run, which wait for
their original and take its moments instead of being decoded too. Checks every copy's moments are its
original's. Default settings (2 frames/s), the int8 ViT-B-32 bundle (random weights).
Prints a table and writes benchmarks/out/backup_together.json.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import OUT, CpuMeter, ensure_bundle, ensure_videos, print_table, video_sets, write_json  # noqa: E402
from benchmarks.renamed_folder import clipseek, same_moments  # noqa: E402


def one_run(video_set, bundle: Path, work: Path) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    videos, backup = work / "Videos", work / "Backup" / "Videos"
    for folder in (videos, backup):
        folder.mkdir(parents=True)
        for spec in video_set.specs:
            shutil.copy2(spec.path, folder / spec.path.name)
    alone, together = work / "library alone", work / "library together"
    clipseek(alone, bundle, "add-folder", str(videos))
    with CpuMeter() as one:
        one_summary = clipseek(alone, bundle, "index")
    clipseek(together, bundle, "add-folder", str(videos))
    clipseek(together, bundle, "add-folder", str(backup))
    with CpuMeter() as both:
        both_summary = clipseek(together, bundle, "index")
    same = same_moments(together, videos, backup, [s.path.name for s in video_set.specs])
    return {"folder_alone": {**one.as_dict(), "summary": one_summary},
            "with_its_backup": {**both.as_dict(), "summary": both_summary}, "moments_equal_originals": same}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    video_set = video_sets()[0]
    ensure_videos([video_set])
    bundle = ensure_bundle("int8")
    runs = [one_run(video_set, bundle, OUT / "backup_together") for _ in range(args.runs)]
    shutil.rmtree(OUT / "backup_together", ignore_errors=True)
    rows = [[f"run {n}", r["folder_alone"]["wall_s"], r["with_its_backup"]["wall_s"],
             r["with_its_backup"]["cpu_children_s"], r["moments_equal_originals"], r["with_its_backup"]["summary"]]
            for n, r in enumerate(runs, 1)]
    print(f"{video_set.label}, {video_set.seconds} s of video in {len(video_set.specs)} files, and a copy of each\n")
    print_table(["", "folder alone, wall s", "with its backup, wall s", "CPU s", "same moments", "summary"], rows)
    path = write_json("backup_together.json", {"video_set": video_set.label, "seconds_of_video": video_set.seconds,
                                               "runs": runs})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
