"""Small float graphs and their int8 versions as `clipseek model export --int8` writes them (needs onnx)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic


def float_model(path: Path, shared_input: bool = False) -> Path:
    """x [n,16] -> MatMul W1 -> Relu -> MatMul W2 -> y [n,8]; ``shared_input``: a third product
    W3 reads x too (one quantizer for two products) and is added to y."""
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)
               for name, shape in (("W1", (16, 32)), ("W2", (32, 8)), ("W3", (16, 8)))]
    nodes = [helper.make_node("MatMul", ["x", "W1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "W2"], ["y" if not shared_input else "y2"])]
    if shared_input:
        nodes += [helper.make_node("MatMul", ["x", "W3"], ["y3"]), helper.make_node("Add", ["y2", "y3"], ["y"])]
    else:
        weights = weights[:2]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 8])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 16])],
                              outputs, weights)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9), str(path))
    return path


def quantize(source: Path, out: Path, per_channel: bool = True) -> Path:
    """Dynamic int8 with unsigned weights, as the exporter does it."""
    quantize_dynamic(str(source), str(out), weight_type=QuantType.QUInt8, per_channel=per_channel,
                     op_types_to_quantize=["MatMul"])
    return out
