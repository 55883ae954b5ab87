"""Indexing throughput: `clipseek index` against the plain approach, on generated H.264 video.

    .venv/bin/python benchmarks/index_throughput.py [--fps 2] [--precisions int8,fp32] [--sets all]
                                                   [--no-baseline] [--no-profile] [--smoke]

Precisions: fp32; int8 (the runtime's choice of weight type: signed on CPUs with VNNI, see
engine/runtime/int8_weights.py); int8-unsigned (the same bundle with CLIPSEEK_INT8_WEIGHTS=unsigned,
the weights as exported).

For each kind of video (1080p with a keyframe every 1 s, 1080p every 8 s, 720p every 2 s; 216 s
each, made with the ffmpeg CLI and cached under benchmarks/out/videos; when named in --sets, also
1080p HEVC with a keyframe every 1 s, closed GOPs, as phones record):

  clipseek   `clipseek index` in a fresh library, end to end (probe, decode + sample, shots,
             segments, frame + clip encoders, thumbnails, catalog + hnswlib writes), with a
             ViT-B-32 bundle (the real architecture, random weights) in fp32 and int8.
  baseline   the plain approach in one process: OpenCV reads every frame, the frames nearest
             each sampling tick are resized + centre-cropped to 224 and embedded by open_clip
             ViT-B-32 in PyTorch fp32, batch 32.
  profile    where clipseek's time goes on the long file: decoding, resize/convert, shot
             detection + thumbnails, frame encoder, clip encoder, catalog + index write.

Speed is seconds of video per wall-clock second ("x real time"); CPU seconds include every
worker process; core busy is each core's busy fraction over the run (from /proc/stat, so
other programs on the machine count too). Prints a table, writes benchmarks/out/index_throughput.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (OUT, PYTHON, ROOT, CpuMeter, VideoSet, ensure_bundle, ensure_videos,  # noqa: E402
                               index_fresh_library, print_table, shown, video_sets, write_json)

from engine.runtime.int8_weights import ENV as INT8_ENV, wanted as signed_int8_wanted  # noqa: E402

TARGETS = {"1080p-gop1s": 30.0, "1080p-gop8s": 15.0}
BASELINE_TARGET = 4.0


# -- clipseek end to end ------------------------------------------------------------------------------
def run_clipseek(video_set: VideoSet, bundle: Path, fps: float, workers: int, precision: str) -> dict:
    env = dict(os.environ)
    if precision == "int8-unsigned":
        env[INT8_ENV] = "unsigned"
    library = OUT / "index_libraries" / f"{video_set.specs[0].category}-{precision}"
    run = index_fresh_library(library, bundle, video_set.folder, {"sample_fps": fps, "workers": workers}, env)
    if run.returncode != 0 or run.final.get("indexed") != len(video_set.specs):
        raise SystemExit(f"clipseek indexed {run.final.get('indexed')} of {len(video_set.specs)} files: {run.stderr}")
    seconds = sum(s.seconds for s in video_set.specs)
    _indexed_seconds, segments = run.catalog_totals()
    return {"seconds_of_video": seconds, **run.meter.as_dict(), "x_real_time": seconds / run.meter.wall,
            "cpu_s_per_video_s": run.meter.cpu_children / seconds, "segments": segments}


# -- the plain approach ------------------------------------------------------------------------------------
BASELINE_CODE = r"""
import json, os, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"
import cv2, numpy as np, open_clip, torch

fps, paths = float(sys.argv[1]), sys.argv[2:]
torch.set_num_threads(os.cpu_count() or 1)
model = open_clip.create_model("ViT-B-32", pretrained=None).eval()
mean = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
std = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)
times = {"read": 0.0, "preprocess": 0.0, "embed": 0.0}
frames_read = embedded = 0
batch = []

def embed():
    global embedded
    t = time.perf_counter()
    with torch.no_grad():
        model.encode_image(torch.from_numpy(np.stack(batch)))
    times["embed"] += time.perf_counter() - t
    embedded += len(batch)
    batch.clear()

def crop(bgr):
    h, w = bgr.shape[:2]
    s = 224 / min(h, w)
    bgr = cv2.resize(bgr, (max(224, int(w * s)), max(224, int(h * s))), interpolation=cv2.INTER_CUBIC)
    h, w = bgr.shape[:2]
    top, left = (h - 224) // 2, (w - 224) // 2
    rgb = cv2.cvtColor(bgr[top:top + 224, left:left + 224], cv2.COLOR_BGR2RGB)
    return ((rgb.astype(np.float32) / 255 - mean) / std).transpose(2, 0, 1)

for path in paths:
    cap = cv2.VideoCapture(path)
    next_tick = 0.0
    while True:
        t = time.perf_counter()
        ok, frame = cap.read()
        times["read"] += time.perf_counter() - t
        if not ok:
            break
        frames_read += 1
        now = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if now + 1e-3 >= next_tick:
            next_tick += 1.0 / fps
            t = time.perf_counter()
            batch.append(crop(frame))
            times["preprocess"] += time.perf_counter() - t
            if len(batch) == 32:
                embed()
    cap.release()
if batch:
    embed()
print(json.dumps({"frames_read": frames_read, "frames_embedded": embedded, "stage_s": times}))
"""


def run_baseline(video_set: VideoSet, fps: float) -> dict:
    paths = [str(s.path) for s in video_set.specs]
    with CpuMeter() as meter:
        done = subprocess.run([PYTHON, "-c", BASELINE_CODE, str(fps), *paths], check=True, capture_output=True,
                              text=True, cwd=ROOT)
    detail = json.loads(done.stdout.strip().splitlines()[-1])
    seconds = video_set.seconds
    return {"seconds_of_video": seconds, **meter.as_dict(), "x_real_time": seconds / meter.wall,
            "cpu_s_per_video_s": meter.cpu_children / seconds, **detail}


# -- where the time goes ----------------------------------------------------------------------------------
PROFILE_CODE = r"""
import json, sys, threading, time, tempfile
from pathlib import Path
import numpy as np
from engine.indexer.embed_file import embed_file
from engine.media import iter_segments
from engine.runtime import load_model
from engine.settings import Settings

path, bundle, fps, threads = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
settings = Settings(sample_fps=fps)
model = load_model(bundle, device="cpu", intra_threads=threads)

# 1. decoding alone (probe, demux + decode, sample, resize/convert, shots, segments), as indexing decodes
t0, c0 = time.perf_counter(), time.process_time()
stream = iter_segments(path, settings, 224)
sampled = sum(len(item.frames) for item in stream)
decode_wall, decode_cpu = time.perf_counter() - t0, time.process_time() - c0
stats = stream.stats

# 2. the whole file through embed_file (decode thread + model), with the model calls timed
spent = {"frame_encoder": 0.0, "clip_encoder": 0.0}
counts = {"frames_encoded": 0, "clips_encoded": 0}
lock = threading.Lock()   # the frame encoder is called from several lanes at once

class Timed:
    def __init__(self, model):
        self.model, self.info = model, model.info
    def encode_frames(self, frames):
        t = time.perf_counter(); out = self.model.encode_frames(frames)
        with lock:
            spent["frame_encoder"] += time.perf_counter() - t; counts["frames_encoded"] += len(frames)
        return out
    def encode_clips(self, feats, mask):
        t = time.perf_counter(); out = self.model.encode_clips(feats, mask)
        spent["clip_encoder"] += time.perf_counter() - t; counts["clips_encoded"] += len(feats)
        return out

with tempfile.TemporaryDirectory() as tmp:
    t0, c0 = time.perf_counter(), time.process_time()
    result = embed_file(path, Timed(model), settings, Path(tmp) / "thumbs", "ab" * 8)
    embed_wall, embed_cpu = time.perf_counter() - t0, time.process_time() - c0

    # 3. the write: catalog rows in one transaction, then the hnswlib index, then its save
    from engine.catalog import Catalog
    from engine.vectors import VectorIndex
    lib = Path(tmp) / "lib"
    lib.mkdir()
    catalog = Catalog.open(lib)
    folder = catalog.add_folder(str(Path(path).parent))
    row = catalog.upsert_pending(folder.id, path, 1, 0.0, None)
    vectors = VectorIndex.open(lib / "vectors", model.info.embed_dim, model.info.fingerprint, catalog)
    t0 = time.perf_counter()
    catalog.record_indexed(row.id, result, result.segments, model.info.fingerprint)
    vectors.apply_changes(catalog)
    vectors.save()
    write_wall = time.perf_counter() - t0
    catalog.close()

print(json.dumps({
    "file_seconds": result.duration, "segments": len(result.segments),
    "decode_only": {"wall_s": decode_wall, "cpu_s": decode_cpu, "frames_sampled": sampled,
                    "frames_decoded": stats.frames_decoded, "packets_skipped": stats.packets_skipped,
                    "skipped_nonref": stats.skipped_nonref, "keyframes_only": stats.keyframes_only,
                    "demux_decode_s": stats.decode_seconds, "resize_convert_s": stats.convert_seconds,
                    "shots_segments_python_s": decode_wall - stats.decode_seconds - stats.convert_seconds,
                    # the decoder's own threads included (demux_decode_s is the reading thread's wait for them)
                    "demux_decode_cpu_s": decode_cpu - decode_wall + stats.decode_seconds},
    "embed_file": {"wall_s": embed_wall, "cpu_s": embed_cpu, **{k + "_s": v for k, v in spent.items()}, **counts},
    "write_s": write_wall,
}))
"""


def run_profile(video_set: VideoSet, bundle: Path, fps: float, threads: int) -> dict:
    longest = max(video_set.specs, key=lambda s: s.seconds)
    done = subprocess.run([PYTHON, "-c", PROFILE_CODE, str(longest.path), str(bundle), str(fps), str(threads)],
                          check=True, capture_output=True, text=True, cwd=ROOT)
    return {"file": longest.path.name, **json.loads(done.stdout.strip().splitlines()[-1])}


# -- main -----------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fps", type=float, default=2.0, help="sampling rate for both pipelines (default 2)")
    parser.add_argument("--precisions", default="int8,fp32")
    parser.add_argument("--sets", default="all", help="comma-separated kinds, e.g. 1080p-gop1s,720p-gop2s; all: the "
                        "three H.264 kinds; 1080p-hevc-gop1s (HEVC as phones record) only when named")
    parser.add_argument("--workers", type=int, default=0, help="clipseek worker processes (0 = its default)")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="one 24 s chunk per kind, for trying the script")
    parser.add_argument("--out", default="index_throughput.json")
    args = parser.parse_args()

    sets = video_sets(1, 0, group="smoke") if args.smoke else video_sets(hevc=args.sets != "all")
    if args.sets != "all":
        wanted = set(args.sets.split(","))
        sets = [s for s in sets if s.specs[0].category in wanted]
    ensure_videos(sets)
    bundles = {p: ensure_bundle(p.removesuffix("-unsigned")) for p in args.precisions.split(",")}
    threads = max(1, (os.cpu_count() or 2) // max(1, args.workers or max(1, (os.cpu_count() or 2) // 2)))

    results = []
    for video_set in sets:
        kind = video_set.specs[0].category
        entry: dict = {"kind": kind, "label": video_set.label, "files": [s.path.name for s in video_set.specs],
                       "seconds_of_video": video_set.seconds, "clipseek": {}}
        for precision, bundle in bundles.items():
            print(f"[{kind}] clipseek index, {precision}...", flush=True)
            entry["clipseek"][precision] = run_clipseek(video_set, bundle, args.fps, args.workers, precision)
        if not args.no_baseline:
            print(f"[{kind}] baseline (OpenCV every frame + open_clip fp32)...", flush=True)
            entry["baseline"] = run_baseline(video_set, args.fps)
        if not args.no_profile and "int8" in bundles:
            print(f"[{kind}] profile of the long file, int8...", flush=True)
            entry["profile_int8"] = run_profile(video_set, bundles["int8"], args.fps, threads)
        results.append(entry)

    rows = []
    for e in results:
        base = e.get("baseline")
        for precision, r in e["clipseek"].items():
            rows.append([e["kind"], f"clipseek {precision}", r["x_real_time"], r["wall_s"], r["cpu_s_per_video_s"],
                         "/".join(f"{b:.0%}" for b in r["core_busy"]),
                         f"{r['x_real_time'] / base['x_real_time']:.1f}x" if base else "",
                         _target(e["kind"], precision, r, base)])
        if base:
            rows.append([e["kind"], "baseline", base["x_real_time"], base["wall_s"], base["cpu_s_per_video_s"],
                         "/".join(f"{b:.0%}" for b in base["core_busy"]), "1.0x", ""])
    int8_weights = "signed at load (VNNI)" if signed_int8_wanted() else "unsigned, as exported"
    print(f"\nsampling {args.fps:g} frames/s; {os.cpu_count()} cores; int8 weights {int8_weights}")
    print_table(["video", "pipeline", "x real time", "wall s", "CPU s per video s", "core busy", "vs baseline",
                 "target"], rows)
    for e in results:
        p = e.get("profile_int8")
        if p:
            d, m = p["decode_only"], p["embed_file"]
            print(f"\n[{e['kind']}] {p['file']} ({p['file_seconds']:.0f} s), int8 — where the time goes:")
            print_table(["stage", "seconds", "per video second (ms)"], [
                ["demux + decode (CPU, decoder threads)", d["demux_decode_cpu_s"],
                 1000 * d["demux_decode_cpu_s"] / p["file_seconds"]],
                ["resize + convert (swscale)", d["resize_convert_s"], 1000 * d["resize_convert_s"] / p["file_seconds"]],
                ["shots + segments (python)", d["shots_segments_python_s"],
                 1000 * d["shots_segments_python_s"] / p["file_seconds"]],
                ["frame encoder (calls' wall, both lanes)", m["frame_encoder_s"],
                 1000 * m["frame_encoder_s"] / p["file_seconds"]],
                ["clip encoder", m["clip_encoder_s"], 1000 * m["clip_encoder_s"] / p["file_seconds"]],
                ["catalog + index write", p["write_s"], 1000 * p["write_s"] / p["file_seconds"]],
                ["embed_file wall (overlapped)", m["wall_s"], 1000 * m["wall_s"] / p["file_seconds"]],
            ])
            print(f"  frames decoded {d['frames_decoded']}, packets skipped {d['packets_skipped']}, sampled "
                  f"{d['frames_sampled']}, encoded {m['frames_encoded']}, clips {m['clips_encoded']}; one file "
                  f"in one process without start-up: {p['file_seconds'] / m['wall_s']:.1f}x real time, "
                  f"{m['cpu_s'] / m['wall_s']:.2f} cores busy")
    path = write_json(args.out, {"sample_fps": args.fps, "workers": args.workers or "default",
                                 "int8_weights": int8_weights,
                                 "targets": {"x_real_time_int8": TARGETS, "vs_baseline_int8": BASELINE_TARGET},
                                 "results": results})
    print(f"\nwrote {shown(path)}")


def _target(kind: str, precision: str, r: dict, base: dict | None) -> str:
    if not precision.startswith("int8"):
        return ""
    notes = []
    if kind in TARGETS:
        notes.append(f">={TARGETS[kind]:g}x: {'met' if r['x_real_time'] >= TARGETS[kind] else 'MISSED'}")
    if base:
        ok = r["x_real_time"] >= BASELINE_TARGET * base["x_real_time"]
        notes.append(f">={BASELINE_TARGET:g}x baseline: {'met' if ok else 'MISSED'}")
    return "; ".join(notes)


if __name__ == "__main__":
    main()
