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

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.renamed_folder import clipseek, copies_benchmark, same_moments, timed_index  # noqa: E402


def one_run(video_set, bundle: Path, work: Path) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    videos, backup = work / "Videos", work / "Backup" / "Videos"
    for folder in (videos, backup):
        folder.mkdir(parents=True)
        for spec in video_set.specs:
            shutil.copy2(spec.path, folder / spec.path.name)
    alone, together = work / "library alone", work / "library together"
    clipseek(alone, bundle, "add-folder", str(videos))
    for folder in (videos, backup):
        clipseek(together, bundle, "add-folder", str(folder))
    return {"folder_alone": timed_index(alone, bundle), "with_its_backup": timed_index(together, bundle),
            "moments_equal_originals": same_moments(together, videos, backup, [s.path.name for s in video_set.specs])}


if __name__ == "__main__":
    copies_benchmark(__doc__, "backup_together", one_run, ("folder_alone", "folder alone"),
                     ("with_its_backup", "with its backup"), "moments_equal_originals", ", and a copy of each")
