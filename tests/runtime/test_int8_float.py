"""An int8 graph's products turned back into float for a GPU session: no integer ops left, the int8 file's
weights, and the GPU session built from the rewrite only where a GPU is likely."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from int8_graphs import float_model, quantize  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import onnxruntime as ort  # noqa: E402

from engine.runtime import sessions  # noqa: E402
from engine.runtime.int8_float import float_graph  # noqa: E402
from engine.runtime.sessions import OrtRunner  # noqa: E402

INTEGER_OPS = {"DynamicQuantizeLinear", "MatMulInteger"}


def _run(model, x):
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def _dequantized_weights(quantized_path):
    """Each int8 weight as the float it stands for, ``(w - zero_point) * scale``, by float weight name."""
    tensors = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(quantized_path)).graph.initializer}
    return {name[:-len("_quantized")]: (w.astype(np.float32) - tensors[name.replace("_quantized", "_zero_point")])
            * tensors[name.replace("_quantized", "_scale")]
            for name, w in tensors.items() if name.endswith("_quantized")}


@pytest.mark.parametrize("shared_input", [False, True])
def test_products_become_float_matmuls_with_the_int8_weights(tmp_path, shared_input):
    source = float_model(tmp_path / "f.onnx", shared_input=shared_input)
    quantized = quantize(source, tmp_path / "q.onnx")
    rewritten = float_graph(quantized)
    model = onnx.load_from_string(rewritten)
    onnx.checker.check_model(model, full_check=True)
    ops = [node.op_type for node in model.graph.node]
    assert not INTEGER_OPS & set(ops) and ops.count("MatMul") == (3 if shared_input else 2)
    assert {i.name for i in model.graph.initializer} == {f"{w}_quantized_dequantized"
                                                         for w in ("W1", "W2", "W3")[:ops.count("MatMul")]}

    # the float graph with the dequantized weights put in by hand computes exactly the same
    by_hand = onnx.load(str(source))
    for init in by_hand.graph.initializer:
        init.CopyFrom(numpy_helper.from_array(_dequantized_weights(quantized)[init.name], init.name))
    x = np.random.default_rng(1).standard_normal((5, 16)).astype(np.float32)
    np.testing.assert_allclose(_run(rewritten, x), _run(by_hand.SerializeToString(), x), rtol=1e-5, atol=1e-5)
    # and stays as close to the fp32 graph as the int8 file (closer: the activations are not quantized)
    want = _run(source, x)
    assert np.abs(_run(rewritten, x) - want).max() <= np.abs(_run(quantized, x) - want).max()


def test_per_tensor_weights_become_float_too(tmp_path):
    quantized = quantize(float_model(tmp_path / "f.onnx"), tmp_path / "q.onnx", per_channel=False)
    model = onnx.load_from_string(float_graph(quantized))
    assert not INTEGER_OPS & {node.op_type for node in model.graph.node}
    x = np.random.default_rng(2).standard_normal((3, 16)).astype(np.float32)
    assert np.abs(_run(model.SerializeToString(), x) - _run(quantized, x)).max() < 0.05 * np.abs(_run(quantized, x)).max()


def test_a_float_graph_has_nothing_to_turn(tmp_path):
    assert float_graph(float_model(tmp_path / "f.onnx")) is None


def test_a_product_off_the_pattern_is_left_as_it_is(tmp_path):
    """A weight that is not in the file (a graph input here) cannot be dequantized: that product stays
    integer, its quantizer stays, and the others still turn."""
    quantized = quantize(float_model(tmp_path / "f.onnx"), tmp_path / "q.onnx")
    model = onnx.load(str(quantized))
    first = next(n for n in model.graph.node if n.op_type == "MatMulInteger")
    weight = next(i for i in model.graph.initializer if i.name == first.input[1])
    model.graph.input.append(helper.make_tensor_value_info(weight.name, TensorProto.UINT8, list(weight.dims)))
    values = numpy_helper.to_array(weight)
    model.graph.initializer.remove(weight)
    odd = tmp_path / "odd.onnx"
    onnx.save(model, str(odd))
    rewritten = onnx.load_from_string(float_graph(odd))
    ops = [node.op_type for node in rewritten.graph.node]
    assert ops.count("MatMulInteger") == 1 and ops.count("DynamicQuantizeLinear") == 1 and ops.count("MatMul") == 1
    x = np.random.default_rng(3).standard_normal((4, 16)).astype(np.float32)
    feeds = {"x": x, weight.name: values}
    got = ort.InferenceSession(rewritten.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    want = ort.InferenceSession(str(odd), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    assert np.abs(got - want).max() < 0.05 * np.abs(want).max()


def test_a_product_whose_integer_result_is_a_graph_output_stays(tmp_path):
    quantized = quantize(float_model(tmp_path / "f.onnx"), tmp_path / "q.onnx")
    model = onnx.load(str(quantized))
    first = next(n for n in model.graph.node if n.op_type == "MatMulInteger")
    model.graph.output.append(helper.make_tensor_value_info(first.output[0], TensorProto.INT32, None))
    seen = tmp_path / "seen.onnx"
    onnx.save(model, str(seen))
    rewritten = onnx.load_from_string(float_graph(seen))
    kept = [n for n in rewritten.graph.node if n.op_type == "MatMulInteger"]
    assert [n.output[0] for n in kept] == [first.output[0]]
    x = np.random.default_rng(5).standard_normal((2, 16)).astype(np.float32)
    got = ort.InferenceSession(rewritten.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    want = ort.InferenceSession(str(seen), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_array_equal(got[1], want[1])      # the integer output, untouched


class _FakeGpu:
    """onnxruntime's InferenceSession as a machine with a GPU would answer: what a CUDA session was
    asked to load is recorded, and it is run by the CPU (this machine has no GPU)."""

    def __init__(self, monkeypatch, refuse_bytes: bool = False):
        self.loaded: list[str | bytes] = []
        real = ort.InferenceSession

        def session(model, sess_options=None, providers=None):
            if "CUDAExecutionProvider" not in providers:
                return real(model, sess_options=sess_options, providers=providers)
            self.loaded.append(model)
            if refuse_bytes and isinstance(model, bytes):
                raise RuntimeError("this onnxruntime cannot read the rewrite")
            made = real(model, sess_options=sess_options, providers=["CPUExecutionProvider"])
            return _Reporting(made)

        monkeypatch.setattr(sessions, "_gpu_failed", False)
        monkeypatch.setattr(sessions.ort, "InferenceSession", session)


class _Reporting:
    def __init__(self, session):
        self._session = session

    def __getattr__(self, name):
        return getattr(self._session, name)

    def get_providers(self):
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]


CUDA = ["CUDAExecutionProvider", "CPUExecutionProvider"]


def test_a_gpu_session_of_an_int8_graph_loads_the_float_products(tmp_path, monkeypatch):
    quantized = quantize(float_model(tmp_path / "f.onnx"), tmp_path / "q.onnx")
    gpu = _FakeGpu(monkeypatch)
    monkeypatch.setattr(sessions, "gpu_likely", lambda: True)
    runner = OrtRunner(quantized, "auto", available=CUDA, int8=True)
    assert runner.int8_in_float and isinstance(gpu.loaded[0], bytes)
    assert not INTEGER_OPS & {n.op_type for n in onnx.load_from_string(gpu.loaded[0]).graph.node}
    x = np.random.default_rng(4).standard_normal((5, 16)).astype(np.float32)
    np.testing.assert_allclose(runner.run({"x": x})["y"], _run(gpu.loaded[0], x))


def test_without_a_likely_gpu_the_file_is_loaded_as_it_is(tmp_path, monkeypatch):
    """onnxruntime-gpu is installed on every CPU machine: no rewrite there (it costs a second and memory)."""
    quantized = quantize(float_model(tmp_path / "f.onnx"), tmp_path / "q.onnx")
    gpu = _FakeGpu(monkeypatch)
    monkeypatch.setattr(sessions, "gpu_likely", lambda: False)
    runner = OrtRunner(quantized, "auto", available=CUDA, int8=True)
    assert gpu.loaded == [str(quantized)] and not runner.int8_in_float
    assert OrtRunner(float_model(tmp_path / "f2.onnx"), "auto", available=CUDA, int8=False).int8_in_float is False


def test_a_rewrite_the_gpu_refuses_falls_back_to_the_file_on_the_gpu(tmp_path, monkeypatch):
    quantized = quantize(float_model(tmp_path / "f.onnx"), tmp_path / "q.onnx")
    gpu = _FakeGpu(monkeypatch, refuse_bytes=True)
    monkeypatch.setattr(sessions, "gpu_likely", lambda: True)
    runner = OrtRunner(quantized, "auto", available=CUDA, int8=True)
    assert isinstance(gpu.loaded[0], bytes) and gpu.loaded[1] == str(quantized)
    assert not runner.int8_in_float and "CUDAExecutionProvider" in runner.providers
    assert not sessions._gpu_failed
