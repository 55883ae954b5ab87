"""Unsigned int8 weights made signed when a graph is loaded on a CPU with an int8 dot product (VNNI).

`clipseek model export --int8` writes unsigned weights (u8 x u8 kernels), because on x86 CPUs without
VNNI the faster u8 x s8 kernel sums in saturating 16-bit pairs and vectors drift. CPUs with VNNI
(AVX512-VNNI, AVX-VNNI) add u8 x s8 products straight into 32 bits, so nothing saturates and the
u8 x s8 kernel is about twice as fast there. Shifting a weight and its zero point by 128 together,
``(w - zp) == ((w - 128) - (zp - 128))``, gives the same integers in the signed type: the graph
computes exactly what it did, on the faster kernel.

The file is read with a small protobuf reader (the `onnx` package is not a runtime dependency) and
the shifted tensors replace the originals through ``SessionOptions.add_initializer``.
"""
from __future__ import annotations

import functools
import logging
import mmap
import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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

UINT8, INT8 = 2, 3                     # onnx TensorProto.DataType
EXTERNAL = 1                           # onnx TensorProto.DataLocation


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


# --- protobuf wire format, only what a graph's nodes and initializers need -------------------------

def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: memoryview):
    """(field number, wire type, value) of one message: ints for varints, memoryviews for the rest."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"protobuf wire type {wire} is not used by ONNX files")
        yield number, wire, value


@dataclass
class _Node:
    op_type: str = ""
    inputs: list[str] = field(default_factory=list)


@dataclass
class _Tensor:
    name: str = ""
    data_type: int = 0
    dims: list[int] = field(default_factory=list)
    raw: memoryview | None = None
    int32_data: list[np.ndarray] = field(default_factory=list)   # where small tensors keep 8-bit values
    external: bool = False

    def values(self) -> np.ndarray | None:
        """The uint8 values in their shape, or None when they are not all in the file."""
        size = int(np.prod(self.dims, dtype=np.int64))
        if self.external or self.data_type != UINT8:
            return None
        if self.raw is not None and len(self.raw) == size:
            return np.frombuffer(self.raw, dtype=np.uint8).reshape(self.dims)
        stored = np.concatenate(self.int32_data) if self.int32_data else np.zeros(0, np.uint64)
        if self.raw is None and len(stored) == size and (stored < 256).all():
            return stored.astype(np.uint8).reshape(self.dims)
        return None


def _node(buf: memoryview) -> _Node:
    node = _Node()
    for number, _, value in _fields(buf):
        if number == 1:
            node.inputs.append(bytes(value).decode())
        elif number == 4:
            node.op_type = bytes(value).decode()
    return node


def _ints(wire: int, value: int | memoryview) -> np.ndarray:
    """A repeated integer field's values: one varint, or a packed run of them (decoded at once)."""
    if wire == 0:
        return np.array([value], dtype=np.uint64)
    data = np.frombuffer(value, dtype=np.uint8)
    ends = np.flatnonzero(data < 0x80)
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    if len(ends) == len(data):                  # every value fits in one byte
        return data.astype(np.uint64)
    place = np.arange(len(data)) - np.repeat(starts, ends - starts + 1)
    parts = (data & 0x7F).astype(np.uint64) << (7 * place).astype(np.uint64)
    return np.add.reduceat(parts, starts)


def _tensor(buf: memoryview) -> _Tensor:
    tensor = _Tensor()
    for number, wire, value in _fields(buf):
        if number == 1:
            tensor.dims.extend(int(dim) for dim in _ints(wire, value))
        elif number == 5:
            tensor.int32_data.append(_ints(wire, value))
        elif number == 2:
            tensor.data_type = value
        elif number == 8:
            tensor.name = bytes(value).decode()
        elif number == 9:
            tensor.raw = value
        elif number == 14:
            tensor.external = value == EXTERNAL
    return tensor


def _graph(model: memoryview) -> tuple[list[_Node], dict[str, _Tensor]]:
    for number, _, value in _fields(model):
        if number == 7:
            nodes, tensors = [], {}
            for inner, _, item in _fields(value):
                if inner == 1:
                    nodes.append(_node(item))
                elif inner == 5:
                    tensor = _tensor(item)
                    tensors[tensor.name] = tensor
            return nodes, tensors
    raise ValueError("no graph in this ONNX file")


def signed_weights(path: Path) -> dict[str, np.ndarray]:
    """Initializer name -> its int8 replacement, for every unsigned weight and zero point that only
    integer matmuls/convolutions use; empty when the graph has none (fp32, or already signed)."""
    with open(path, "rb") as file:
        # Mapped, not read: the weights not shifted (a text encoder's token table) are never copied.
        # The map closes when the last view of it goes, after the shifted copies are made.
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    nodes, tensors = _graph(memoryview(mapped))
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
