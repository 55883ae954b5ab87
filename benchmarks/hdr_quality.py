"""Retrieval quality on HDR video: the same held-out shapes-world renders as SDR, PQ and HLG HEVC.

    .venv/bin/python benchmarks/hdr_quality.py [--videos 24] [--seed 8801] [--out benchmarks/out/hdr]

Phones record HDR (HLG on iPhones, PQ on others). This script renders a held-out shapes-world set
(engine.shapes, a seed the training never used), and makes three copies of it with the system ffmpeg:
10-bit HEVC in SDR (BT.709, the control), and in BT.2020 with the PQ and with the HLG transfer, SDR white
put at 203 cd/m2 as BT.2408 does (zimg's zscale). Each copy is indexed with `clipseek index` in its own
library and every shot caption and two-shot temporal caption is asked with `clipseek search --batch`;
moment R@1 (temporal IoU >= 0.5), file R@1 and temporal-caption R@1 as in benchmarks/quality_shapes.py.
Prints a table and writes results.json. Needs ffmpeg with libx265 and zscale (Debian's has both).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_shapes import (MODELS, ROOT, held_out, indexed_library, misses_by_attribute,  # noqa: E402
                            queries_from, run_searches, score)

LINEAR = "format=yuv420p,zscale=tin=bt709:min=bt709:pin=bt709:rin=tv:t=linear:npl=203:p=bt709:m=gbr,format=gbrpf32le"
COPIES = {
    "SDR (BT.709, 10-bit HEVC)": ("sdr", "format=yuv420p10le", "log-level=error"),
    "HDR PQ (BT.2020)": ("pq", f"{LINEAR},zscale=p=bt2020:t=smpte2084:m=bt2020nc:r=tv:npl=203,format=yuv420p10le",
                         "colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:hdr10=1:log-level=error"),
    "HDR HLG (BT.2020)": ("hlg", f"{LINEAR},zscale=p=bt2020:t=arib-std-b67:m=bt2020nc:r=tv:npl=203,format=yuv420p10le",
                          "colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc:log-level=error"),
}


def hevc_copy(source: Path, folder: Path, vf: str, params: str) -> Path:
    """The renders of ``source`` (a generated set) encoded again into ``folder``, with their annotations."""
    if (folder / "annotations.json").is_file():
        return folder
    records = json.loads((source / "annotations.json").read_text(encoding="utf-8"))
    (folder / "videos").mkdir(parents=True, exist_ok=True)
    for record in records:
        target = folder / "videos" / (Path(record["video"]).stem + ".mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source / record["video"]), "-vf", vf, "-an",
                        "-c:v", "libx265", "-preset", "ultrafast", "-crf", "16", "-x265-params", params,
                        "-tag:v", "hvc1", str(target)], check=True)
        record["video"] = str(target.relative_to(folder))
    (folder / "annotations.json").write_text(json.dumps(records), encoding="utf-8")
    return folder


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=24)
    ap.add_argument("--seed", type=int, default=8801, help="held-out seed (training used 1 and 2)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "hdr")
    ap.add_argument("--model", type=Path, default=MODELS["full"])
    args = ap.parse_args(argv)

    from engine.shapes.generate import VideoOptions, generate_dataset, load_annotations

    source = held_out(args.out / f"renders-seed{args.seed}-{args.videos}", lambda d: generate_dataset(
        d, n_videos=args.videos, seed=args.seed, options=VideoOptions(max_size=(854, 480)), distinct_captions=True))
    table = {}
    for label, (name, vf, params) in COPIES.items():
        t = time.perf_counter()
        data = hevc_copy(source, args.out / f"{name}-seed{args.seed}-{args.videos}", vf, params)
        annotations = load_annotations(data)
        events, temporal = queries_from(annotations, data)
        library = indexed_library(args.out, f"library-{name}", args.model, data)
        results = run_searches(library, args.model, sorted(events) + sorted(temporal), args.out, stage1=False)
        table[label] = {"events": score(results, events), "temporal": score(results, temporal),
                        "shot_misses_by_attribute": misses_by_attribute(results, annotations, data),
                        "seconds": round(time.perf_counter() - t, 1)}
    head = f"{'copy':28s} {'moment R@1':>10s} {'moment R@5':>10s} {'file R@1':>9s} {'temporal R@1':>12s}  misses"
    print(head)
    print("-" * len(head))
    for label, row in table.items():
        ev, tp = row["events"], row["temporal"]
        misses = ", ".join(f"{k} {v}" for k, v in row["shot_misses_by_attribute"].items()) or "none"
        print(f"{label:28s} {ev['moment_R@1']:10.3f} {ev['moment_R@5']:10.3f} {ev['file_R@1']:9.3f} "
              f"{tp['moment_R@1']:12.3f}  {misses}")
    summary = {"seed": args.seed, "videos": args.videos, "model": str(args.model), "results": table,
               "command": " ".join(["python", "benchmarks/hdr_quality.py", *(argv or sys.argv[1:])])}
    (args.out / "results.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"\nwrote {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
