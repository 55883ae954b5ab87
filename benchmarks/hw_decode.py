"""Decoding on an NVIDIA GPU (NVDEC through PyAV's FFmpeg) against the CPU, as indexing decodes.

    python3 benchmarks/hw_decode.py [--videos DIR] [--files 4] [--video-seconds 64] [--fps 1,2] [--processes 1,2,4]

Writes (with PyAV, no ffmpeg needed) ``--files`` 1080p30 H.264 files of each kind, a keyframe every 1 s and
every 8 s (benchmarks/pyav_videos.py), then for each kind, sampling rate, decoder ("cpu": FFmpeg's software
decoder with the engine's threads and GOP lanes; "cuda": engine.media.hw_decode) and number of processes
decodes every file the way indexing does (``FrameSampler`` at that rate, frames scaled to a short side of
224), each process taking one file at a time as index workers do:
  x real time      seconds of video / wall seconds of the whole pool
  CPU / video s    CPU seconds of the decoding processes (all their threads) per second of video
  first frame      median wall seconds from opening a file to its first frame (a CUDA device per file)
and, per kind and rate, whether the two decoders agree: the same frame times, and the largest pixel
difference between their sampled frames.

With ``--index BUNDLE``, instead: `clipseek index` end to end on each kind's files in a fresh library, device
"auto" (files that need more than keyframes decoded on the GPU; the model where onnxruntime puts it) against
"cpu" (everything on the CPU), with ``--workers`` index workers (0: the default).

On a machine without an NVIDIA GPU the "cuda" rows decode on the CPU after the device is refused (the
``hardware`` column says which). Prints a table, writes benchmarks/out/hw_decode.json.
"""
from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import OUT, CpuMeter, index_fresh_library, machine, print_table, write_json  # noqa: E402
from benchmarks.pyav_videos import make_videos  # noqa: E402

SHORT_SIDE = 224
DECODE_COLUMNS = ["video", "fps", "decoder", "processes", "hardware", "x real time", "CPU ms / video s",
                  "first frame s", "frames decoded"]
INDEX_COLUMNS = ["video", "fps", "device", "indexed", "failed", "x real time", "CPU ms / video s", "error"]
DECODERS = {"cpu": None, "cuda": "cuda"}


def decode_file(path: str, fps: float, hwaccel: str | None, keep_frames: bool = False) -> dict:
    from engine.media import FrameSampler

    cpu0, started = time.process_time(), time.perf_counter()
    sampler = FrameSampler(path, fps, SHORT_SIDE, hwaccel=hwaccel)
    first_frame = None
    frames = []
    for frame in sampler:
        if first_frame is None:
            first_frame = time.perf_counter() - started
        frames.append((frame.time, frame.rgb if keep_frames else None))
    return {"seconds": sampler.info.duration, "wall_s": time.perf_counter() - started,
            "cpu_s": time.process_time() - cpu0, "first_frame_s": first_frame,
            "frames_decoded": sampler.stats.frames_decoded, "frames_kept": len(frames),
            "hardware": sampler.stats.hardware, "refused": sampler.stats.hardware_refused,
            "warnings": sampler.warnings, "frames": frames if keep_frames else None}


def agreement(path: Path, fps: float) -> dict:
    """Frame times and the largest pixel difference, cuda against cpu, for one file (in a fresh process)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        cpu = pool.submit(decode_file, str(path), fps, None, True).result()
        gpu = pool.submit(decode_file, str(path), fps, "cuda", True).result()
    same_times = [t for t, _ in cpu["frames"]] == [t for t, _ in gpu["frames"]]
    diffs = [int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())
             for (_, a), (_, b) in zip(cpu["frames"], gpu["frames"])]
    return {"file": path.name, "same_times": same_times, "frames": len(diffs), "hardware": gpu["hardware"],
            "largest_pixel_difference": max(diffs, default=None),
            "frames_that_differ": sum(d > 0 for d in diffs)}


def decode_all(files: list[Path], fps: float, hwaccel: str | None, processes: int) -> dict:
    with CpuMeter() as meter:
        with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
            runs = list(pool.map(decode_file, [str(f) for f in files], [fps] * len(files), [hwaccel] * len(files)))
    seconds = sum(r["seconds"] for r in runs)
    cpu = sum(r["cpu_s"] for r in runs)
    return {"processes": processes, "seconds_of_video": seconds, "wall_s": meter.wall,
            "x_real_time": seconds / meter.wall, "cpu_per_video_s": cpu / seconds,
            "first_frame_s": statistics.median(r["first_frame_s"] or 0.0 for r in runs),
            "frames_decoded": sum(r["frames_decoded"] for r in runs),
            "hardware": sorted({r["hardware"] or "cpu" for r in runs}),
            "refused": sorted({r["refused"] for r in runs if r["refused"]}),
            "warnings": sorted({w for r in runs for w in r["warnings"]}), "core_busy": meter.core_busy}


def index_run(bundle: Path, folder: Path, fps: float, device: str, workers: int) -> dict:
    library = OUT / "hw_decode_libraries" / f"{folder.name}-{device}"
    run = index_fresh_library(library, bundle, folder, {"sample_fps": fps, "device": device, "workers": workers})
    return {"device": device, "workers": workers, **run.summary()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=Path, default=OUT / "hw_decode_videos")
    parser.add_argument("--files", type=int, default=4, help="files of each kind (default 4)")
    parser.add_argument("--video-seconds", type=int, default=64)
    parser.add_argument("--gops", default="1,8", help="keyframe intervals in seconds (default 1,8)")
    parser.add_argument("--fps", default="1,2", help="sampling rates (default 1,2)")
    parser.add_argument("--processes", default="1,2,4", help="decoding processes at once (default 1,2,4)")
    parser.add_argument("--decoders", default="cpu,cuda")
    parser.add_argument("--index", type=Path, metavar="BUNDLE", help="time `clipseek index` with this bundle instead")
    parser.add_argument("--workers", type=int, default=0, help="index workers with --index (default 0: the default)")
    parser.add_argument("--out", default="hw_decode.json")
    args = parser.parse_args()
    if args.index:
        index_main(args)
        return

    rows, results, agreements = [], [], []
    for gop in (int(g) for g in args.gops.split(",")):
        started = time.perf_counter()
        files = make_videos(args.videos / f"gop{gop}s", args.files, args.video_seconds, gop_seconds=gop)
        print(f"{len(files)} files with a keyframe every {gop} s ({time.perf_counter() - started:.0f} s)", flush=True)
        for fps in (float(f) for f in args.fps.split(",")):
            agreements.append({"gop_s": gop, "fps": fps, **agreement(files[0], fps)})
            for name in args.decoders.split(","):
                for processes in (int(p) for p in args.processes.split(",")):
                    run = {"gop_s": gop, "fps": fps, "decoder": name,
                           **decode_all(files, fps, DECODERS[name], processes)}
                    results.append(run)
                    rows.append([f"1080p kf {gop} s", fps, name, processes, "+".join(run["hardware"]),
                                 round(run["x_real_time"], 1), round(1000 * run["cpu_per_video_s"], 1),
                                 round(run["first_frame_s"], 3), run["frames_decoded"]])
                    print_table(DECODE_COLUMNS, rows[-1:])
    print_table(DECODE_COLUMNS, rows)
    print_table(["kf s", "fps", "file", "hardware", "same times", "frames", "largest difference", "differ"],
                [[a["gop_s"], a["fps"], a["file"], a["hardware"], a["same_times"], a["frames"],
                  a["largest_pixel_difference"], a["frames_that_differ"]] for a in agreements])
    write_json(args.out, {"machine": machine(), "args": vars(args), "runs": results, "agreement": agreements})


def index_main(args: argparse.Namespace) -> None:
    rows, results = [], []
    for gop in (int(g) for g in args.gops.split(",")):
        folder = args.videos / f"gop{gop}s"
        make_videos(folder, args.files, args.video_seconds, gop_seconds=gop)
        for fps in (float(f) for f in args.fps.split(",")):
            for device in ("auto", "cpu"):
                run = {"gop_s": gop, "fps": fps, **index_run(args.index, folder, fps, device, args.workers)}
                results.append(run)
                rows.append([f"1080p kf {gop} s", fps, device, run.get("indexed"), run.get("failed"),
                             round(run.get("x_real_time") or 0, 1), round(1000 * (run.get("cpu_per_video_s") or 0), 1),
                             run.get("error", "")])
                print_table(INDEX_COLUMNS, rows[-1:])
    print_table(INDEX_COLUMNS, rows)
    write_json(args.out, {"machine": machine(), "args": vars(args), "index_runs": results})


if __name__ == "__main__":
    main()
