"""An int8 graph's integer matrix products turned back into float ones, for a GPU.

`clipseek model export --int8` quantizes every MatMul dynamically: the activation goes through
DynamicQuantizeLinear (uint8 by the ONNX standard), then MatMulInteger with the uint8 weights, a Cast
and a Mul by the two scales. onnxruntime's CUDA provider has no DynamicQuantizeLinear and multiplies
only int8 by int8, so on a GPU every one of those products would run on the CPU, with the activations
copied there and back around each. For a GPU session each such group becomes one float MatMul with the
weights dequantized once as the graph loads, ``(w - zero_point) * scale``: the same weights the int8
file holds, the activations left unquantized, all of it on the GPU.

The file on disk is not changed (its fingerprint stays the bundle's); the session is built from the
rewritten bytes. A group that does not match the pattern exactly is left as it is.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.runtime import onnx_wire
from engine.runtime.onnx_wire import GRAPH_OUTPUT, INITIALIZER, NODE, VALUE_INFO, Node, Tensor

log = logging.getLogger(__name__)

@dataclass
class _Product:
    """One quantized product and the float MatMul that replaces it."""
    nodes: tuple[int, ...]      # indices of MatMulInteger, its Cast and the Mul by the scales
    feeders: tuple[int, int]    # the activation's quantizer and the scales' product: gone once nothing reads them
    matmul: bytes               # the replacement node
    inputs: tuple[str, str]     # what it reads: the float activation and the dequantized weight
    weight_name: str
    weight: np.ndarray          # float32 [K, N]


def _dequantized(weight: Tensor | None, zero_point: Tensor | None, scale: Tensor | None) -> np.ndarray | None:
    """``(w - zero_point) * scale`` per column, or None when a part is missing or shaped otherwise."""
    parts = [t.values() if t is not None else None for t in (weight, zero_point, scale)]
    if any(p is None for p in parts):
        return None
    w, zp, s = parts
    if w.ndim != 2 or w.dtype not in (np.uint8, np.int8) or zp.dtype != w.dtype or s.dtype != np.float32:
        return None
    if zp.size not in (1, w.shape[1]) or s.size not in (1, w.shape[1]):
        return None
    return (w.astype(np.float32) - zp.reshape(-1).astype(np.float32)) * s.reshape(-1)


def _products(nodes: list[Node], tensors: dict[str, Tensor], graph_outputs: set[str]) -> list[_Product]:
    producer = {name: i for i, node in enumerate(nodes) for name in node.outputs}
    consumers: dict[str, list[int]] = {}
    for i, node in enumerate(nodes):
        for name in node.inputs:
            consumers.setdefault(name, []).append(i)

    def only_consumer(name: str, op_type: str) -> int | None:
        users = consumers.get(name, [])
        return users[0] if len(users) == 1 and nodes[users[0]].op_type == op_type else None

    found = []
    for i, node in enumerate(nodes):
        if node.op_type != "MatMulInteger" or node.domain or len(node.inputs) != 4:
            continue
        a, w, a_zero, w_zero = node.inputs
        quantize = nodes[producer[a]] if a in producer else None
        if quantize is None or quantize.op_type != "DynamicQuantizeLinear" or quantize.outputs[0::2] != [a, a_zero]:
            continue
        a_scale = quantize.outputs[1]
        cast = only_consumer(node.outputs[0], "Cast")
        mul = only_consumer(nodes[cast].outputs[0], "Mul") if cast is not None else None
        if mul is None or {node.outputs[0], nodes[cast].outputs[0]} & graph_outputs:
            continue
        others = [name for name in nodes[mul].inputs if name != nodes[cast].outputs[0]]
        scales_index = producer.get(others[0]) if len(others) == 1 else None
        scales = nodes[scales_index] if scales_index is not None else None
        if scales is None or scales.op_type != "Mul" or a_scale not in scales.inputs:
            continue
        w_scale = [name for name in scales.inputs if name != a_scale]
        weight = _dequantized(tensors.get(w), tensors.get(w_zero), tensors.get(w_scale[0]) if w_scale else None)
        if weight is None:
            continue
        weight_name = f"{w}_dequantized"
        inputs = (quantize.inputs[0], weight_name)
        matmul = onnx_wire.node_bytes("MatMul", list(inputs), nodes[mul].outputs,
                                      (node.name or nodes[mul].outputs[0]) + "_float")
        found.append(_Product((i, cast, mul), (producer[a], scales_index), matmul, inputs, weight_name, weight))
    return found


def _read(nodes: list[Node], removed: set[int], products: list[_Product], graph_outputs: set[str]) -> set[str]:
    """Every name a node still reads once ``removed`` are gone and the float products are in, or the graph outputs."""
    return ({name for i, node in enumerate(nodes) if i not in removed for name in node.inputs} | graph_outputs
            | {name for p in products for name in p.inputs})


def _removed(nodes: list[Node], products: list[_Product], graph_outputs: set[str]) -> set[int]:
    """The replaced nodes, and the quantizers and scale products that nothing else reads."""
    removed = {i for p in products for i in p.nodes}
    feeders = {i for p in products for i in p.feeders}
    scales = {i for p in products for i in p.feeders[1:]}
    # the scale products first: once they are gone, a quantizer may have no reader left
    for group in (scales, feeders - scales):
        read = _read(nodes, removed, products, graph_outputs)
        removed |= {i for i in group if not any(name in read for name in nodes[i].outputs)}
    return removed


def float_graph(path: Path | str) -> bytes | None:
    """The graph at ``path`` with its quantized products in float, as ONNX bytes; None when it has none."""
    model = onnx_wire.map_file(path)
    graph = onnx_wire.graph_view(model)
    items = list(onnx_wire.spans(graph))
    nodes = [onnx_wire.read_node(value) for number, _, value, _, _ in items if number == NODE]
    tensors = {t.name: t for t in (onnx_wire.read_tensor(value) for number, _, value, _, _ in items
                                   if number == INITIALIZER)}
    outputs = {onnx_wire.value_info_name(value) for number, _, value, _, _ in items if number == GRAPH_OUTPUT}
    products = _products(nodes, tensors, outputs)
    if not products:
        return None
    replaced = {p.nodes[0]: p for p in products}
    removed = _removed(nodes, products, outputs)
    read = _read(nodes, removed, products, outputs)
    gone = {name for i in removed for name in nodes[i].outputs}

    parts: list[bytes | memoryview] = []
    node_index = 0
    for number, _, value, start, end in items:
        if number == NODE:
            i, node_index = node_index, node_index + 1
            if i in replaced:
                parts += onnx_wire.length_field(NODE, replaced[i].matmul)
            if i in removed:
                continue
        elif number == INITIALIZER and onnx_wire.read_tensor(value).name not in read:
            continue   # the int8 weights, zero points and weight scales no node reads now
        elif number == VALUE_INFO and onnx_wire.value_info_name(value) in gone:
            continue
        parts.append(graph[start:end])
    weights = {p.weight_name: p.weight for p in products}   # a weight two products share is written once
    for name, values in weights.items():
        parts += onnx_wire.length_field(INITIALIZER, *onnx_wire.float_tensor_parts(name, values))

    out: list[bytes | memoryview] = []
    for number, _, _, start, end in onnx_wire.spans(model):
        out += onnx_wire.length_field(onnx_wire.GRAPH, *parts) if number == onnx_wire.GRAPH else [model[start:end]]
    log.debug("%s: %d int8 products in float for the GPU", Path(path).name, len(products))
    return b"".join(out)
