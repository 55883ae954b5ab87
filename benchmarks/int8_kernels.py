"""int8 weight formats on this CPU: speed and drift from fp32 of the ViT-B-32 frame and text encoders.

    .venv/bin/python benchmarks/int8_kernels.py

Compares fp32, dynamic int8 with signed weights (u8 x s8 kernels: fast, but they saturate on x86 CPUs
without VNNI), dynamic int8 with unsigned weights (u8 x u8: what `clipseek model export --int8`
writes), and the unsigned file with its weights made signed as the runtime loads it on a CPU with VNNI
(engine/runtime/int8_weights.py; measured here whatever the CPU, with its largest difference to the
unsigned file's output). For the frame encoder also the patch-embedding Conv in int8 (ConvInteger),
which the exporter leaves in float. One intra-op thread, a batch of 12, median of 10 runs, on a
random-weight ViT-B-32 bundle.

    .venv/bin/python benchmarks/int8_kernels.py --profile

adds where each graph's time goes as the runtime loads it (onnxruntime's profiler, share per operator).
Prints tables and writes benchmarks/out/int8_kernels.json.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import QuantType, quantize_dynamic

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.common import kernel_events  # noqa: E402
from engine.runtime.int8_weights import cpu_has_vnni, signed_weights  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
BUNDLE = OUT / "vit-b-32-fp32"
BATCH = 12
RUNS = 10
WEIGHTS = {"int8, signed weights": QuantType.QInt8, "int8, unsigned weights": QuantType.QUInt8}
SIGNED_AT_LOAD = "int8, unsigned made signed at load"
CONV_TOO = "int8 + patch Conv, made signed at load"


def export_bundle() -> None:
    if not (BUNDLE / "bundle.json").exists():
        subprocess.run([sys.executable, "-m", "engine.cli.main", "model", "export", "ViT-B-32", "--random-weights",
                        "--out", str(BUNDLE)], check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})


def inputs_for(session: ort.InferenceSession, rng: np.random.Generator) -> dict[str, np.ndarray]:
    feeds = {}
    for spec in session.get_inputs():
        shape = [dim if isinstance(dim, int) else BATCH for dim in spec.shape]
        if "int" in spec.type:
            feeds[spec.name] = rng.integers(1, 40_000, shape).astype(np.int64)
        else:
            feeds[spec.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return float((np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)).min())


def measure(path: Path, feeds: dict[str, np.ndarray], shift: bool = False) -> tuple[float, np.ndarray]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    shifted = signed_weights(path) if shift else {}
    replacements = [(name, ort.OrtValue.ortvalue_from_numpy(values)) for name, values in shifted.items()]
    for name, value in replacements:
        options.add_initializer(name, value)
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    output = session.run(None, feeds)[0]
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times)), output


def op_shares(path: Path, feeds: dict[str, np.ndarray], runs: int = 3) -> dict[str, float]:
    """Share of kernel time per operator type, the weights made signed as the runtime does on VNNI."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    replacements = [(name, ort.OrtValue.ortvalue_from_numpy(values)) for name, values in signed_weights(path).items()]
    for name, value in replacements:
        options.add_initializer(name, value)
    options.enable_profiling = True
    options.profile_file_prefix = str(OUT / "int8_profile")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    for _ in range(runs):
        session.run(None, feeds)
    spent: collections.Counter[str] = collections.Counter()
    for event in kernel_events(session):
        spent[event["args"]["op_name"]] += event["dur"]
    total = sum(spent.values()) or 1
    return {op: round(100 * us / total, 1) for op, us in spent.most_common()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", action="store_true", help="also show where each graph's time goes")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    export_bundle()
    rows, profiles = [], {}
    print(f"CPU with VNNI: {'yes' if cpu_has_vnni() else 'no'}")
    print(f"{'graph':14s} {'weights':36s} {'ms per batch of 12':>18s} {'min cosine to fp32':>19s} "
          f"{'max diff to unsigned':>21s}")
    for graph in ("frame_encoder", "text_encoder"):
        fp32 = BUNDLE / f"{graph}.onnx"
        variants = {"fp32": fp32}
        for name, weight_type in WEIGHTS.items():
            variants[name] = OUT / f"{graph}-{weight_type.name}.onnx"
            quantize_dynamic(str(fp32), str(variants[name]), weight_type=weight_type, per_channel=True,
                             op_types_to_quantize=["MatMul", "Gemm"])
        feeds = inputs_for(ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"]),
                           np.random.default_rng(0))
        variants[SIGNED_AT_LOAD] = variants["int8, unsigned weights"]
        if graph == "frame_encoder":
            variants[CONV_TOO] = OUT / f"{graph}-{QuantType.QUInt8.name}-conv.onnx"
            quantize_dynamic(str(fp32), str(variants[CONV_TOO]), weight_type=QuantType.QUInt8, per_channel=True,
                             op_types_to_quantize=["MatMul", "Gemm", "Conv"])
        reference, outputs = None, {}
        for name, path in variants.items():
            ms, output = measure(path, feeds, shift=name in (SIGNED_AT_LOAD, CONV_TOO))
            reference = output if reference is None else reference
            outputs[name] = output
            cosine = min_cosine(reference, output)
            diff = float(np.abs(output - outputs["int8, unsigned weights"]).max()) if name == SIGNED_AT_LOAD else None
            rows.append({"graph": graph, "weights": name, "ms": round(ms, 1), "min_cosine": round(cosine, 5),
                         "max_abs_diff_to_unsigned": diff})
            print(f"{graph:14s} {name:36s} {ms:18.1f} {cosine:19.5f} {'' if diff is None else f'{diff:21.2g}'}",
                  flush=True)
        if args.profile:
            shares = op_shares(variants[SIGNED_AT_LOAD], feeds)
            profiles[graph] = shares
            print(f"  where {graph}'s time goes ({SIGNED_AT_LOAD}): "
                  + ", ".join(f"{op} {share}%" for op, share in list(shares.items())[:8]), flush=True)
    (OUT / "int8_kernels.json").write_text(json.dumps({"command": " ".join(sys.argv), "cores": os.cpu_count(),
                                                       "vnni": cpu_has_vnni(), "rows": rows, "profiles": profiles},
                                                      indent=1))


if __name__ == "__main__":
    main()
