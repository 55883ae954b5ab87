"""ONNX files read and rewritten at the protobuf wire level: only what a graph's nodes and initializers need.

The runtime changes a graph as it loads it (int8_weights, int8_float) without the `onnx` package, which
is not a runtime dependency. A file is memory-mapped, never parsed as a whole: a reader keeps views of
the fields it needs, and a rewrite copies every field it does not change byte for byte.
"""
from __future__ import annotations

import mmap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

FLOAT, UINT8, INT8 = 1, 2, 3           # onnx TensorProto.DataType
EXTERNAL = 1                           # onnx TensorProto.DataLocation
GRAPH = 7                              # ModelProto.graph
NODE, INITIALIZER, GRAPH_OUTPUT, VALUE_INFO = 1, 5, 12, 13   # GraphProto fields
LENGTH_DELIMITED = 2


def map_file(path: Path | str) -> memoryview:
    """The file, mapped read-only. The map closes when the last view of it goes."""
    with open(path, "rb") as file:
        return memoryview(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ))


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def spans(buf: memoryview) -> Iterator[tuple[int, int, int | memoryview, int, int]]:
    """(field number, wire type, value, start, end) of one message's fields, in file order: ints for
    varints, memoryviews for the rest; ``buf[start:end]`` is the whole field, key included."""
    pos, end = 0, len(buf)
    while pos < end:
        start = pos
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == LENGTH_DELIMITED:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"protobuf wire type {wire} is not used by ONNX files")
        yield number, wire, value, start, pos


def fields(buf: memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) of one message."""
    for number, wire, value, _, _ in spans(buf):
        yield number, wire, value


@dataclass
class Node:
    op_type: str = ""
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    name: str = ""
    domain: str = ""


def _text(value: memoryview) -> str:
    return bytes(value).decode()


def read_node(buf: memoryview) -> Node:
    node = Node()
    for number, _, value in fields(buf):
        if number == 1:
            node.inputs.append(_text(value))
        elif number == 2:
            node.outputs.append(_text(value))
        elif number == 3:
            node.name = _text(value)
        elif number == 4:
            node.op_type = _text(value)
        elif number == 7:
            node.domain = _text(value)
    return node


def value_info_name(buf: memoryview) -> str:
    for number, _, value in fields(buf):
        if number == 1:
            return _text(value)
    return ""


def ints(wire: int, value: int | memoryview) -> np.ndarray:
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


@dataclass
class Tensor:
    name: str = ""
    data_type: int = 0
    dims: list[int] = field(default_factory=list)
    raw: memoryview | None = None
    int32_data: list[np.ndarray] = field(default_factory=list)   # where small tensors keep 8-bit values
    float_data: list[np.ndarray] = field(default_factory=list)
    external: bool = False

    def values(self) -> np.ndarray | None:
        """The values in their shape (uint8, int8 or float32 tensors), or None when they are not all in the file."""
        dtype = {UINT8: np.uint8, INT8: np.int8, FLOAT: np.float32}.get(self.data_type)
        size = int(np.prod(self.dims, dtype=np.int64))
        if self.external or dtype is None:
            return None
        if self.raw is not None:
            data = np.frombuffer(self.raw, dtype=np.dtype(dtype).newbyteorder("<"))
            return data.reshape(self.dims) if len(data) == size else None
        if dtype is np.float32:
            stored = np.concatenate(self.float_data) if self.float_data else np.zeros(0, np.float32)
            return stored.astype(np.float32).reshape(self.dims) if len(stored) == size else None
        stored = np.concatenate(self.int32_data) if self.int32_data else np.zeros(0, np.uint64)
        if len(stored) != size:
            return None
        if dtype is np.uint8:
            return stored.astype(np.uint8).reshape(self.dims) if (stored < 256).all() else None
        # int8 values are stored sign-extended as int32 varints (64-bit two's complement on the wire)
        return stored.astype(np.int64).astype(np.int8).reshape(self.dims)


def read_tensor(buf: memoryview) -> Tensor:
    tensor = Tensor()
    for number, wire, value in fields(buf):
        if number == 1:
            tensor.dims.extend(int(dim) for dim in ints(wire, value))
        elif number == 2:
            tensor.data_type = value
        elif number == 4:
            tensor.float_data.append(np.frombuffer(value, dtype="<f4") if wire == LENGTH_DELIMITED
                                     else np.frombuffer(value.tobytes(), dtype="<f4"))
        elif number == 5:
            tensor.int32_data.append(ints(wire, value))
        elif number == 8:
            tensor.name = _text(value)
        elif number == 9:
            tensor.raw = value
        elif number == 14:
            tensor.external = value == EXTERNAL
    return tensor


def graph_view(model: memoryview) -> memoryview:
    for number, _, value in fields(model):
        if number == GRAPH:
            return value
    raise ValueError("no graph in this ONNX file")


def read_graph(model: memoryview) -> tuple[list[Node], dict[str, Tensor]]:
    """The graph's nodes in file order, and its initializers by name."""
    nodes, tensors = [], {}
    for number, _, item in fields(graph_view(model)):
        if number == NODE:
            nodes.append(read_node(item))
        elif number == INITIALIZER:
            tensor = read_tensor(item)
            tensors[tensor.name] = tensor
    return nodes, tensors


# --- writing ----------------------------------------------------------------------------------------

def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def length_field(number: int, *payload: bytes | memoryview) -> list[bytes | memoryview]:
    """A length-delimited field whose payload is the given parts, as parts to join: a message is
    built of parts and joined once, so large weights are copied once."""
    size = sum(memoryview(part).nbytes for part in payload)
    return [varint(number << 3 | LENGTH_DELIMITED) + varint(size), *payload]


def node_bytes(op_type: str, inputs: list[str], outputs: list[str], name: str) -> bytes:
    parts: list[bytes | memoryview] = []
    for text in inputs:
        parts += length_field(1, text.encode())
    for text in outputs:
        parts += length_field(2, text.encode())
    parts += length_field(3, name.encode())
    parts += length_field(4, op_type.encode())
    return b"".join(parts)


def float_tensor_parts(name: str, values: np.ndarray) -> list[bytes | memoryview]:
    """A float32 TensorProto with its values as raw little-endian bytes."""
    head = b"".join(varint(1 << 3) + varint(int(dim)) for dim in values.shape) + varint(2 << 3) + varint(FLOAT)
    head += b"".join(length_field(8, name.encode()))
    raw = np.ascontiguousarray(values, dtype="<f4")
    return [head, *length_field(9, memoryview(raw).cast("B"))]
