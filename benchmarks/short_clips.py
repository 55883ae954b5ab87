"""A folder of short clips against one file of the same pictures: what each file costs beyond its video.

    .venv/bin/python benchmarks/short_clips.py [--clips 24] [--seconds 6] [--fps 2] [--rounds 3] [--checkout DIR]

Phones and cameras leave folders of short clips. Makes ``--clips`` distinct 1080p30 H.264 clips of ``--seconds``
each, as the other throughput sets are made (ffmpeg's testsrc2 with a hue turn and temporal noise, x264 veryfast
with a 1-s keyframe interval, 16 Mbit/s at most; each clip its own hue and noise), and one file joining them
without re-encoding, so both hold the same pictures. Then `clipseek index` of each in a fresh library with the
ViT-B-32 int8 bundle, alternating, ``--rounds`` times. ``--checkout`` times the command line of another checkout
(an older commit in a worktree) in the same rounds. Prints a table with each file's cost beyond its video (wall and
CPU seconds of the folder minus the joined file's, per clip) and writes benchmarks/out/short_clips.json.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import (OUT, ROOT, ensure_bundle, ffmpeg_path, index_fresh_library, machine,  # noqa: E402
                               print_table, write_json)


def make_clips(count: int, seconds: int) -> tuple[Path, Path]:
    """(folder of the clips, folder holding the one joined file); cached in benchmarks/out/videos/."""
    base = OUT / "videos" / f"clips-{count}x{seconds}s"
    clips, joined = base / "clips", base / "joined"
    clips.mkdir(parents=True, exist_ok=True)
    joined.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        path = clips / f"clip_{n:03d}.mp4"
        paths.append(path)
        if path.exists():
            continue
        source = (f"testsrc2=size=1920x1080:rate=30:duration={seconds},hue=H=2*PI*(t+{3 * n})/37,"
                  f"noise=alls=14:allf=t+u:all_seed={n + 1},format=yuv420p")
        tmp = path.with_suffix(".tmp.mp4")
        subprocess.run([ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source,
                        "-c:v", "libx264", "-preset", "veryfast", "-crf", "21", "-maxrate", "16M", "-bufsize", "32M",
                        "-g", "30", "-keyint_min", "30", "-sc_threshold", "0", str(tmp)], check=True)
        tmp.replace(path)
    whole = joined / f"joined_{count}x{seconds}s.mp4"
    if not whole.exists():
        listing = base / "concat.txt"
        listing.write_text("".join(f"file '{p}'\n" for p in paths), encoding="utf-8")
        tmp = whole.with_suffix(".tmp.mp4")
        subprocess.run([ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0",
                        "-i", str(listing), "-c", "copy", str(tmp)], check=True)
        tmp.replace(whole)
    return clips, joined


def index_once(checkout: Path, folder: Path, bundle: Path, fps: float) -> dict:
    run = index_fresh_library(OUT / "index_libraries" / "short-clips", bundle, folder, {"sample_fps": fps},
                              checkout=checkout)
    if run.returncode != 0:
        raise SystemExit(f"clipseek index failed in {checkout}: {run.stderr.strip()[-500:]}")
    return {"wall_s": run.meter.wall, "cpu_s": run.meter.cpu_children}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--fps", type=float, default=2.0, help="sampling rate (the application's default: 2)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--checkout", type=Path, default=None, help="another checkout, timed in the same rounds")
    parser.add_argument("--out", default="short_clips.json")
    args = parser.parse_args()
    if args.clips < 2 or args.seconds < 1:
        parser.error("--clips must be 2 or more and --seconds 1 or more")
    clips, joined = make_clips(args.clips, args.seconds)
    bundle = ensure_bundle("int8")
    checkouts = {"this": ROOT} | ({"other": args.checkout.resolve()} if args.checkout else {})
    runs: dict[str, dict[str, list[dict]]] = {name: {"clips": [], "joined": []} for name in checkouts}
    for n in range(args.rounds):
        for name, checkout in checkouts.items():
            for kind, folder in (("clips", clips), ("joined", joined)):
                run = index_once(checkout, folder, bundle, args.fps)
                runs[name][kind].append(run)
                print(f"round {n + 1}: {name} {kind}: {run['wall_s']:.2f} s wall, {run['cpu_s']:.2f} s CPU", flush=True)
    seconds = args.clips * args.seconds
    rows, summary = [], {}
    for name in checkouts:
        med = {kind: {key: statistics.median(r[key] for r in runs[name][kind]) for key in ("wall_s", "cpu_s")}
               for kind in ("clips", "joined")}
        per_file = {key: (med["clips"][key] - med["joined"][key]) / (args.clips - 1) for key in ("wall_s", "cpu_s")}
        summary[name] = {"median": med, "per_extra_file": per_file}
        for kind in ("clips", "joined"):
            rows.append([name, kind, med[kind]["wall_s"], med[kind]["cpu_s"], seconds / med[kind]["wall_s"]])
        rows.append([name, "each file beyond its video", per_file["wall_s"], per_file["cpu_s"], ""])
    print_table(["checkout", "what", "wall s (median)", "CPU s", "x real time"], rows)
    path = write_json(args.out, {"machine": machine(), "clips": args.clips, "seconds_each": args.seconds,
                                 "fps": args.fps, "checkouts": {k: str(v) for k, v in checkouts.items()},
                                 "runs": runs, "summary": summary})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
