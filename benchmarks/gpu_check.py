"""The CUDA path on a machine with an NVIDIA GPU: does onnxruntime really run our graphs there, do they
give the CPU's answers, how fast are they, and how fast does `clipseek index` run with and without it.

    .venv/bin/python benchmarks/gpu_check.py BUNDLE [BUNDLE ...] [--videos FOLDER] [--fps 1]

For each bundle:
  providers   what each graph's session really uses with device "auto" (onnxruntime's get_providers),
              and, in a fresh process, whether a bare onnxruntime session starts on CUDA without our
              CUDA library loading (engine/runtime/sessions.py load_cuda_libraries)
  agreement   the GPU's and the CPU's outputs on the same inputs: frame vectors, clip vectors, text
              vectors (least cosine similarity) and reranker scores (largest difference)
  placement   for an int8 bundle, how many nodes of the frame and text encoders each provider runs
              (onnxruntime's profiler), for the file as it is and for its products in float
              (engine/runtime/int8_float.py, what device "auto" loads on a GPU)
  speed       frame encoder (batch 32, frames/s), text encoder (one query, ms), clip encoder (batch 256)
              and reranker (top 100, ms): median of repeated runs after a warm-up, GPU against CPU;
              for an int8 bundle also the GPU with the int8 file as it is (before int8_float)
  index       with --videos: `clipseek index` end to end on that folder, device auto against cpu
              (seconds of video per wall-clock second); --make-videos N first writes N files of
              --video-seconds of 1080p30 H.264 (a keyframe each second, a drifting noise texture) there
              with PyAV, for machines without ffmpeg (16 s of unique content each, repeated); --gpu-workers
              1,2,4 indexes once per worker count on the GPU

On a machine without a usable GPU every graph reports the CPU and the GPU columns repeat the CPU.
Prints tables, writes benchmarks/out/gpu_check.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import OUT, PYTHON, index_fresh_library, kernel_events, print_table, write_json  # noqa: E402
from benchmarks.pyav_videos import make_videos  # noqa: E402

from engine.runtime.int8_float import float_graph  # noqa: E402
from engine.runtime.model import load_model  # noqa: E402
from engine.runtime.sessions import OrtRunner  # noqa: E402

CAPTIONS = ["a red circle moves left", "a dog jumping into a lake at sunset", "two people talking in a kitchen",
            "a blue square grows", "a car drives past at night", "fireworks over a city", "a cat on a sofa",
            "waves on a beach"]

BARE_SESSION = r"""
import json, sys
import onnxruntime as ort
s = ort.InferenceSession(sys.argv[1], providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
print(json.dumps(s.get_providers()))
"""


def frames(n: int, size: int, seed: int = 0) -> np.ndarray:
    """Frames with structure (gradients, a moving square) and noise, RGB uint8 [n, size, size, 3]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        base = np.stack([(x + 7 * i) % 256, (y * 2 + 3 * i) % 256, (x + y + 11 * i) % 256], axis=-1)
        s = 20 + (5 * i) % (size - 60)
        base[s:s + 40, s:s + 40] = (255, 40 * (i % 6), 0)
        out[i] = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    return out


def timed(fn, repeats: int) -> float:
    """Median milliseconds of ``fn()`` over ``repeats`` runs, after two warm-up runs."""
    fn()
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def least_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a.reshape(len(a), -1).astype(np.float64)
    b = b.reshape(len(b), -1).astype(np.float64)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)
    return float(cos.min())


def placement(model: str | bytes) -> dict[str, int]:
    """Nodes per execution provider in one run of a CUDA session (zeros in, dynamic sizes 2)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.enable_profiling = True
    OUT.mkdir(parents=True, exist_ok=True)
    options.profile_file_prefix = str(OUT / "placement")
    session = ort.InferenceSession(model, options, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    dtypes = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(bool)": bool, "tensor(int32)": np.int32}
    feeds = {i.name: np.zeros([d if isinstance(d, int) else 2 for d in i.shape], dtypes[i.type])
             for i in session.get_inputs()}
    session.run(None, feeds)
    counts: dict[str, int] = {}
    for event in kernel_events(session):
        counts[event["args"]["provider"]] = counts.get(event["args"]["provider"], 0) + 1
    return counts


def int8_placement(bundle: Path, files: dict[str, str]) -> dict:
    out = {}
    for graph in ("frame_encoder", "text_encoder"):
        path = bundle / files[graph]
        out[graph] = {"int8 file": placement(str(path)), "products in float": placement(float_graph(path))}
    return out


def check_bundle(bundle: Path, repeats: int) -> dict:
    started = time.perf_counter()
    gpu = load_model(bundle, device="auto")
    gpu_load_s = time.perf_counter() - started
    cpu = load_model(bundle, device="cpu")
    providers = {graph: runner.providers[0] for graph, runner in gpu._runners.items()}
    bare = subprocess.run([PYTHON, "-c", BARE_SESSION, str(bundle / gpu.info.files["frame_encoder"])],
                          capture_output=True, text=True)
    bare_providers = json.loads(bare.stdout.strip().splitlines()[-1]) if bare.returncode == 0 else [bare.stderr[-300:]]

    size = gpu.info.image_size
    batch = frames(32, size)
    f_gpu, f_cpu = gpu.encode_frames(batch), cpu.encode_frames(batch)
    t = int(gpu.info.graphs["clip_encoder"].inputs[0].shape[1])   # frames per clip
    feats = np.stack([np.roll(f_cpu, -i, axis=0)[:t] for i in range(0, 32, 4)])
    mask = np.ones(feats.shape[:2], bool)
    c_gpu, c_cpu = gpu.encode_clips(feats, mask), cpu.encode_clips(feats, mask)
    q_gpu, q_cpu = gpu.encode_text(CAPTIONS), cpu.encode_text(CAPTIONS)
    many = np.repeat(feats, 13, axis=0)[:100]
    many_mask = np.ones(many.shape[:2], bool)
    clips = cpu.encode_clips(many, many_mask)
    one_query = cpu.encode_text(CAPTIONS[:1])
    r_gpu = gpu.rerank(one_query, clips.clip_tokens, clips.frame_tokens, many_mask)
    r_cpu = cpu.rerank(one_query, clips.clip_tokens, clips.frame_tokens, many_mask)
    agreement = {"frame_cos_min": least_cosine(f_gpu, f_cpu), "clip_cos_min": least_cosine(c_gpu.vector, c_cpu.vector),
                 "text_cos_min": least_cosine(q_gpu.vector, q_cpu.vector),
                 "rerank_max_abs_diff": float(np.abs(np.asarray(r_gpu) - np.asarray(r_cpu)).max())}

    big = np.repeat(feats, 32, axis=0)[:256]
    big_mask = np.ones(big.shape[:2], bool)
    speed = {}
    models = [("gpu", gpu), ("cpu", cpu)]
    int8 = gpu.info.precision == "int8"
    if int8:   # the int8 file on the GPU as it is, as device "auto" loaded it before int8_float
        as_is = load_model(bundle, device="auto", runner_factory=lambda path, dev: OrtRunner(path, dev, int8=False))
        models.insert(1, ("gpu, int8 file as is", as_is))
        in_float = {graph: getattr(runner, "int8_in_float", False) for graph, runner in gpu._runners.items()}
        agreement["frame_cos_min_as_is"] = least_cosine(as_is.encode_frames(batch), f_cpu)
    for name, model in models:
        speed[name] = {
            "frames_per_s": 32 / (timed(lambda: model.encode_frames(batch), repeats) / 1000),
            "text_ms": timed(lambda: model.encode_text(CAPTIONS[:1]), repeats * 3),
            "clips_per_s": 256 / (timed(lambda: model.encode_clips(big, big_mask), repeats) / 1000),
            "rerank100_ms": timed(lambda: model.rerank(one_query, clips.clip_tokens, clips.frame_tokens, many_mask),
                                  repeats),
        }
    result = {"bundle": bundle.name, "precision": gpu.info.precision, "providers": providers,
              "bare_onnxruntime_providers": bare_providers, "gpu_load_s": gpu_load_s,
              "agreement": agreement, "speed": speed}
    if int8:
        result["int8_in_float"] = in_float
        if any(in_float.values()):
            result["placement"] = int8_placement(bundle, gpu.info.files)
    return result


def index_folder(bundle: Path, videos: Path, device: str, fps: float, workers: int = 0) -> dict:
    library = OUT / "gpu_check_libraries" / f"{bundle.name}-{device}-{workers}"
    run = index_fresh_library(library, bundle, videos, {"sample_fps": fps, "device": device, "workers": workers})
    return {"device": device, "workers": workers, **run.summary()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundles", nargs="+", type=Path)
    parser.add_argument("--videos", type=Path, help="a folder of videos to index with and without the GPU")
    parser.add_argument("--make-videos", type=int, default=0, help="write this many 1080p files into --videos first")
    parser.add_argument("--video-seconds", type=int, default=60, help="length of each --make-videos file (default 60)")
    parser.add_argument("--gpu-workers", default="0", help="worker counts to index with on the GPU, e.g. 1,2,4 (0 = default)")
    parser.add_argument("--fps", type=float, default=1.0, help="sampling rate for --videos (default 1)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", default="gpu_check.json")
    args = parser.parse_args()

    import onnxruntime as ort

    if args.make_videos and args.videos:
        started = time.perf_counter()
        make_videos(args.videos, args.make_videos, args.video_seconds)
        print(f"{args.make_videos} videos in {args.videos} ({time.perf_counter() - started:.0f} s)", flush=True)
    results = {"onnxruntime": ort.__version__, "available_providers": ort.get_available_providers(),
               "bundles": [], "index": []}
    print(f"onnxruntime {ort.__version__}: {', '.join(ort.get_available_providers())}")
    for bundle in args.bundles:
        print(f"\n== {bundle}", flush=True)
        r = check_bundle(bundle, args.repeats)
        results["bundles"].append(r)
        print(f"providers: {r['providers']}; bare onnxruntime session: {r['bare_onnxruntime_providers']}")
        print("agreement GPU vs CPU: " + ", ".join(f"{k} {v:.6f}" for k, v in r["agreement"].items()))
        if "int8_in_float" in r:
            print(f"int8 products in float on the GPU: {r['int8_in_float']}")
        for graph, variants in r.get("placement", {}).items():
            print(f"nodes per provider, {graph}: " + "; ".join(f"{k}: {v}" for k, v in variants.items()))
        print_table(["device", "frames/s (b32)", "text ms", "clips/s (b256)", "rerank 100 ms"],
                    [[d, s["frames_per_s"], s["text_ms"], s["clips_per_s"], s["rerank100_ms"]]
                     for d, s in r["speed"].items()])
        if args.videos:
            runs = [("auto", int(w)) for w in args.gpu_workers.split(",")] + [("cpu", 0)]
            for device, workers in runs:
                row = index_folder(bundle, args.videos, device, args.fps, workers)
                row["bundle"] = bundle.name
                results["index"].append(row)
                print(f"index {device}: " + json.dumps({k: v for k, v in row.items() if k != "core_busy"}), flush=True)
    path = write_json(args.out, results)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
