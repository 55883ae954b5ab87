"""The protobuf reader and writer under the load-time graph changes, against the onnx package's own."""
from __future__ import annotations

import numpy as np
import pytest

from engine.runtime import onnx_wire

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def test_varints_round_trip_and_packed_runs_decode():
    values = [0, 1, 127, 128, 255, 300, 16_384, 2**31 + 5]
    packed = memoryview(b"".join(onnx_wire.varint(v) for v in values))
    assert onnx_wire.ints(2, packed).tolist() == values
    assert onnx_wire.ints(2, memoryview(bytes([1, 2, 127]))).tolist() == [1, 2, 127]
    assert onnx_wire.ints(0, 300).tolist() == [300]
    assert [onnx_wire._varint(memoryview(onnx_wire.varint(v)), 0)[0] for v in values] == values


@pytest.mark.parametrize("values", [
    np.arange(-6, 6, dtype=np.float32).reshape(3, 4) / 7,
    np.array([0, 7, 255], np.uint8),
    np.array([-128, -1, 0, 5, 127], np.int8),
])
@pytest.mark.parametrize("raw", [True, False])
def test_tensors_read_as_onnx_writes_them(values, raw):
    tensor = numpy_helper.from_array(values, "t")
    if not raw:   # the typed fields small tensors may use: float_data, int32_data
        dtype = helper.np_dtype_to_tensor_dtype(values.dtype)
        tensor = helper.make_tensor("t", dtype, values.shape, values.flatten().tolist(), raw=False)
    read = onnx_wire.read_tensor(memoryview(tensor.SerializeToString()))
    assert read.name == "t" and read.dims == list(values.shape)
    np.testing.assert_array_equal(read.values(), values)
    assert read.values().dtype == values.dtype


def test_an_external_tensor_has_no_values_here():
    tensor = numpy_helper.from_array(np.zeros(4, np.float32), "t")
    tensor.data_location = TensorProto.EXTERNAL
    tensor.ClearField("raw_data")
    assert onnx_wire.read_tensor(memoryview(tensor.SerializeToString())).values() is None


def test_written_nodes_and_tensors_parse_with_onnx():
    node = onnx.NodeProto.FromString(onnx_wire.node_bytes("MatMul", ["a", "b"], ["c"], "mm"))
    assert (node.op_type, list(node.input), list(node.output), node.name) == ("MatMul", ["a", "b"], ["c"], "mm")
    values = np.random.default_rng(0).standard_normal((300, 2)).astype(np.float32)
    tensor = TensorProto.FromString(b"".join(bytes(p) for p in onnx_wire.float_tensor_parts("w", values)))
    assert tensor.name == "w"
    np.testing.assert_array_equal(numpy_helper.to_array(tensor), values)


def test_a_graph_reads_its_nodes_in_order_and_its_initializers_by_name(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "b"], ["y"], name="add"), helper.make_node("Relu", ["y"], ["z"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2])],
        [numpy_helper.from_array(np.array([1, -1], np.float32), "b")])
    path = tmp_path / "g.onnx"
    onnx.save(helper.make_model(graph), str(path))
    nodes, tensors = onnx_wire.read_graph(onnx_wire.map_file(path))
    assert [(n.op_type, n.inputs, n.outputs, n.name) for n in nodes] == [("Add", ["x", "b"], ["y"], "add"),
                                                                        ("Relu", ["y"], ["z"], "")]
    np.testing.assert_array_equal(tensors["b"].values(), [1, -1])
