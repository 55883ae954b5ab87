"""Unsigned int8 weights made signed when a graph is loaded on a CPU with an int8 dot product (VNNI).

`clipseek model export --int8` writes unsigned weights (u8 x u8 kernels), because on x86 CPUs without
VNNI the faster u8 x s8 kernel sums in saturating 16-bit pairs and vectors drift. CPUs with VNNI
(AVX512-VNNI, AVX-VNNI) add u8 x s8 products straight into 32 bits, so nothing saturates and the
u8 x s8 kernel is about twice as fast there. Shifting a weight and its zero point by 128 together,
``(w - zp) == ((w - 128) - (zp - 128))``, gives the same integers in the signed type: the graph
computes exactly what it did, on the faster kernel.

The file is read with a small protobuf reader (onnx_wire; the `onnx` package is not a runtime
dependency) and the shifted tensors replace the originals through ``SessionOptions.add_initializer``.
"""
from __future__ import annotations

import functools
import logging
import os
import platform
import sys
from pathlib import Path

import numpy as np

from engine.runtime.onnx_wire import UINT8, map_file, read_graph

log = logging.getLogger(__name__)

ENV = "CLIPSEEK_INT8_WEIGHTS"        # auto (default) | signed | unsigned
CHOICES = ("auto", "signed", "unsigned")
VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")

# op type -> (weight input, weight zero-point input); both must be shifted together.
WEIGHT_SLOTS = {
    "MatMulInteger": (1, 3),
    "ConvInteger": (1, 3),
    "DynamicQuantizeMatMul": (1, 3),   # com.microsoft
    "MatMulIntegerToFloat": (1, 5),    # com.microsoft
}
CONTROL_FLOW = ("If", "Loop", "Scan")  # subgraphs could use an initializer where we do not look



@functools.lru_cache(maxsize=4)
def cpu_has_vnni(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True when the CPU flags list an int8 dot product; False where they cannot be read."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            return any(flag in flags for flag in VNNI_FLAGS)
    return False


def signed_is_exact(has_vnni: bool | None = None, machine: str | None = None) -> bool:
    """Whether u8 x s8 kernels give the u8 x u8 numbers here: on x86 only with VNNI (see the module doc)."""
    machine = (machine if machine is not None else platform.machine()).lower()
    if machine not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return True
    return cpu_has_vnni() if has_vnni is None else has_vnni


def wanted(choice: str | None = None, has_vnni: bool | None = None) -> bool:
    """Whether to make weights signed: ``CLIPSEEK_INT8_WEIGHTS`` (or ``choice``), else the CPU decides."""
    choice = (choice if choice is not None else os.environ.get(ENV, "auto")).strip().lower() or "auto"
    if choice not in CHOICES:
        log.warning("%s=%r is not one of %s; using auto", ENV, choice, ", ".join(CHOICES))
        choice = "auto"
    has_vnni = cpu_has_vnni() if has_vnni is None else has_vnni
    if choice == "signed" and not signed_is_exact(has_vnni):
        log.warning("%s=signed on a CPU without VNNI: its u8 x s8 kernels saturate, so vectors drift "
                    "from those of other machines", ENV)
    if choice != "auto":
        return choice == "signed"
    return has_vnni


def signed_weights(path: Path) -> dict[str, np.ndarray]:
    """Initializer name -> its int8 replacement, for every unsigned weight and zero point that only
    integer matmuls/convolutions use; empty when the graph has none (fp32, or already signed)."""
    nodes, tensors = read_graph(map_file(path))
    if any(node.op_type in CONTROL_FLOW for node in nodes):
        return {}

    values = {name: tensor.values() for name, tensor in tensors.items() if tensor.data_type == UINT8}

    def shiftable(name: str) -> bool:
        return values.get(name) is not None

    pairs = []                                   # (weight, zero point) of each integer matmul/conv
    slot_uses: dict[str, int] = {}
    for node in nodes:
        slots = WEIGHT_SLOTS.get(node.op_type)
        if slots is None or len(node.inputs) <= max(slots):
            continue
        weight, zero_point = (node.inputs[i] for i in slots)
        if shiftable(weight) and shiftable(zero_point):
            pairs.append((weight, zero_point))
            for name in (weight, zero_point):
                slot_uses[name] = slot_uses.get(name, 0) + 1
    all_uses: dict[str, int] = {}
    for node in nodes:
        for name in node.inputs:
            all_uses[name] = all_uses.get(name, 0) + 1
    # A tensor also read by another node (or by a node whose partner cannot shift) keeps its type;
    # dropping a pair can strand its partner's other pairs, so repeat until nothing changes.
    keep_unsigned = {name for name, uses in slot_uses.items() if uses != all_uses.get(name, 0)}
    while True:
        stranded = {name for pair in pairs if keep_unsigned.intersection(pair) for name in pair} - keep_unsigned
        if not stranded:
            break
        keep_unsigned |= stranded
    shifted = {}
    for pair in pairs:
        if keep_unsigned.intersection(pair):
            continue
        for name in pair:
            shifted[name] = np.asarray(values[name] ^ np.uint8(0x80)).view(np.int8)  # w - 128, as int8 bits
    return shifted
