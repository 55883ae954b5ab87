"""Unsigned int8 weights made signed at load time: same outputs, only where it is safe, only on VNNI."""
from __future__ import annotations

import logging

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from int8_graphs import float_model, quantize  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from engine.errors import BundleError  # noqa: E402
from engine.runtime import int8_weights  # noqa: E402
from engine.runtime.int8_weights import cpu_has_vnni, signed_is_exact, signed_weights, wanted  # noqa: E402
from engine.runtime.sessions import OrtRunner  # noqa: E402

# Signed weights give the unsigned numbers only where u8 x s8 kernels do not saturate (x86 with VNNI, or not x86);
# elsewhere the runtime keeps weights unsigned unless told otherwise, and the tests of equal numbers cannot hold.
exact_here = pytest.mark.skipif(not signed_is_exact(), reason="this x86 CPU has no VNNI: u8 x s8 kernels saturate")


@pytest.fixture
def quantized(tmp_path):
    """Dynamic int8 with unsigned per-channel weights, as `clipseek model export --int8` writes them."""
    return quantize(float_model(tmp_path / "f.onnx"), tmp_path / "q.onnx")


def _initializers(path):
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}


def _run(runner, x):
    return runner.run({"x": x})["y"]


def test_weights_and_zero_points_shift_by_128(quantized):
    original = _initializers(quantized)
    shifted = signed_weights(quantized)
    unsigned = {name for name, values in original.items() if values.dtype == np.uint8}
    assert set(shifted) == unsigned and len(unsigned) == 4     # two weights, two per-channel zero points
    for name, values in shifted.items():
        assert values.dtype == np.int8 and values.shape == original[name].shape
        np.testing.assert_array_equal(values.astype(np.int16), original[name].astype(np.int16) - 128)


@exact_here
def test_signed_session_computes_the_same_numbers(quantized, monkeypatch):
    x = np.random.default_rng(1).standard_normal((5, 16)).astype(np.float32)
    monkeypatch.setenv(int8_weights.ENV, "unsigned")
    plain = OrtRunner(quantized, "cpu", intra_threads=1, int8=True)
    monkeypatch.setenv(int8_weights.ENV, "signed")
    signed = OrtRunner(quantized, "cpu", intra_threads=1, int8=True)
    assert plain.signed_weights == {} and len(signed.signed_weights) == 4
    np.testing.assert_array_equal(_run(signed, x), _run(plain, x))


@exact_here
def test_per_tensor_weights_shift_too(tmp_path, monkeypatch):
    """One zero point per weight (a scalar tensor), as quantize_dynamic writes without per_channel."""
    out = tmp_path / "per_tensor.onnx"
    quantize(float_model(tmp_path / "f.onnx"), out, per_channel=False)
    assert any(values.ndim == 0 for values in signed_weights(out).values())
    x = np.random.default_rng(1).standard_normal((5, 16)).astype(np.float32)
    monkeypatch.setenv(int8_weights.ENV, "signed")
    signed = OrtRunner(out, "cpu", int8=True)
    monkeypatch.setenv(int8_weights.ENV, "unsigned")
    assert len(signed.signed_weights) == 4
    np.testing.assert_array_equal(_run(signed, x), _run(OrtRunner(out, "cpu", int8=True), x))


def test_the_replacement_is_really_used(quantized):
    """A wrong zero point changes the output, so the equality above is not the file's own weights."""
    import onnxruntime as ort

    x = np.random.default_rng(1).standard_normal((5, 16)).astype(np.float32)
    reference = ort.InferenceSession(str(quantized), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    options, keep = ort.SessionOptions(), []
    for name, values in signed_weights(quantized).items():
        keep.append(ort.OrtValue.ortvalue_from_numpy(values + np.int8(3) if "zero_point" in name else values))
        options.add_initializer(name, keep[-1])
    damaged = ort.InferenceSession(str(quantized), options, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert np.abs(damaged - reference).max() > 1e-3


def test_float_graph_and_fp32_bundles_are_left_alone(tmp_path, monkeypatch):
    path = float_model(tmp_path / "f.onnx")
    assert signed_weights(path) == {}
    monkeypatch.setenv(int8_weights.ENV, "signed")
    assert OrtRunner(path, "cpu", int8=True).signed_weights == {}
    assert OrtRunner(path, "cpu", int8=False).signed_weights == {}


def test_a_weight_read_elsewhere_keeps_its_type_with_its_zero_point(quantized, tmp_path):
    model = onnx.load(str(quantized))
    first = next(n for n in model.graph.node if n.op_type == "MatMulInteger")
    weight, zero_point = first.input[1], first.input[3]
    model.graph.node.append(helper.make_node("Cast", [weight], ["w_seen"], to=TensorProto.FLOAT))
    model.graph.output.append(helper.make_tensor_value_info("w_seen", TensorProto.FLOAT, None))
    shared = tmp_path / "shared.onnx"
    onnx.save(model, str(shared))
    shifted = signed_weights(shared)
    assert len(shifted) == 2 and weight not in shifted and zero_point not in shifted


def test_a_zero_point_shared_with_a_kept_weight_keeps_its_type(quantized, tmp_path):
    model = onnx.load(str(quantized))
    matmuls = [n for n in model.graph.node if n.op_type == "MatMulInteger"]
    # Both matmuls share one zero point (same shape is not needed for the check: only the reader runs).
    matmuls[1].input[3] = matmuls[0].input[3]
    model.graph.node.append(helper.make_node("Cast", [matmuls[1].input[1]], ["w_seen"], to=TensorProto.FLOAT))
    shared = tmp_path / "shared_zp.onnx"
    onnx.save(model, str(shared))
    assert signed_weights(shared) == {}


def test_truncated_graph_is_a_bundle_error_not_a_trace(quantized, tmp_path, monkeypatch, caplog):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(quantized.read_bytes()[: quantized.stat().st_size // 2])
    monkeypatch.setenv(int8_weights.ENV, "signed")
    with caplog.at_level(logging.WARNING), pytest.raises(BundleError, match="cannot load this graph"):
        OrtRunner(broken, "cpu", int8=True)


@pytest.mark.parametrize("flags, expected", [
    ("fpu avx2 avx512f avx512_vnni", True), ("fpu avx2 avx_vnni", True), ("fpu avx2 amx_int8", True),
    ("fpu avx2 avx512f", False), ("", False)])
def test_cpu_flags_decide(tmp_path, monkeypatch, flags, expected):
    monkeypatch.setattr(int8_weights.sys, "platform", "linux")
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: {flags}\n\n")
    assert cpu_has_vnni(cpuinfo) is expected
    assert cpu_has_vnni(tmp_path / "missing") is False


def test_environment_overrides_the_cpu(monkeypatch, caplog):
    monkeypatch.delenv(int8_weights.ENV, raising=False)
    assert wanted(has_vnni=True) and not wanted(has_vnni=False)
    assert wanted("signed", has_vnni=False) and not wanted("unsigned", has_vnni=True)
    monkeypatch.setenv(int8_weights.ENV, "Unsigned")
    assert not wanted(has_vnni=True)
    monkeypatch.setenv(int8_weights.ENV, "fast")
    with caplog.at_level(logging.WARNING):
        assert wanted(has_vnni=True)
    assert "fast" in caplog.text and "auto" in caplog.text


def test_signed_is_exact_only_with_vnni_on_x86(caplog):
    assert signed_is_exact(has_vnni=True, machine="x86_64") and not signed_is_exact(has_vnni=False, machine="x86_64")
    assert signed_is_exact(has_vnni=False, machine="aarch64")
    with caplog.at_level(logging.WARNING):
        assert not wanted("auto", has_vnni=False) and "drift" not in caplog.text
        assert wanted("signed", has_vnni=True) and "drift" not in caplog.text
    if signed_is_exact(has_vnni=False):
        return   # not x86: forcing signed is as exact as the default
    with caplog.at_level(logging.WARNING):
        assert wanted("signed", has_vnni=False)      # an expert's choice is kept, with a warning
    assert "without VNNI" in caplog.text and "drift" in caplog.text


@exact_here
def test_int8_bundle_loads_signed_and_encodes_the_same(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    from engine.model.export import export_bundle
    from engine.runtime.model import load_model

    bundle = export_bundle("clipseek-tiny", tmp_path / "int8", random_weights=True, int8=True, frames_per_clip=4)
    frames = np.random.default_rng(0).integers(0, 256, size=(6, 40, 50, 3), dtype=np.uint8)
    encoded = {}
    for choice in ("unsigned", "signed"):
        monkeypatch.setenv(int8_weights.ENV, choice)
        model = load_model(bundle, device="cpu")
        signed = {graph: len(runner.signed_weights) for graph, runner in model._runners.items()}
        assert all(signed[g] > 0 for g in ("frame_encoder", "text_encoder")) is (choice == "signed")
        text = model.encode_text(["a red circle moves left"])
        encoded[choice] = (model.encode_frames(frames), text.vector, text.word_tokens)
    for unsigned, signed in zip(encoded["unsigned"], encoded["signed"]):
        np.testing.assert_array_equal(unsigned, signed)


def test_refused_replacements_fall_back_to_the_file(quantized, monkeypatch, caplog):
    x = np.random.default_rng(1).standard_normal((5, 16)).astype(np.float32)
    # onnxruntime checks no shapes when it takes a replacement; an object array it cannot take at all
    refused = {name: np.array([None] * values.size, dtype=object) for name, values in signed_weights(quantized).items()}
    monkeypatch.setattr(int8_weights, "signed_weights", lambda path: refused)
    monkeypatch.setenv(int8_weights.ENV, "signed")
    with caplog.at_level(logging.WARNING):
        runner = OrtRunner(quantized, "cpu", int8=True)
    assert runner.signed_weights == {} and "not accepted" in caplog.text
    monkeypatch.setenv(int8_weights.ENV, "unsigned")
    np.testing.assert_array_equal(_run(runner, x), _run(OrtRunner(quantized, "cpu", int8=True), x))


def _integer_op_model(op: str, path):
    """One node of ``op`` with an unsigned weight "B" and zero point "B_zp" (shapes for its kernel)."""
    rng = np.random.default_rng(2)
    zp = numpy_helper.from_array(rng.integers(100, 160, (8,)).astype(np.uint8), "B_zp")
    a_zp = numpy_helper.from_array(np.array(9, np.uint8), "a_zp")
    scale_a = numpy_helper.from_array(np.array(0.02, np.float32), "a_scale")
    scale_b = numpy_helper.from_array(np.full(8, 0.03, np.float32), "B_scale")
    weight = numpy_helper.from_array(rng.integers(0, 256, (16, 8)).astype(np.uint8), "B")
    a_type, a_shape, y_type = TensorProto.UINT8, [5, 16], TensorProto.INT32
    if op == "ConvInteger":
        weight = numpy_helper.from_array(rng.integers(0, 256, (8, 3, 3, 3)).astype(np.uint8), "B")
        zp = numpy_helper.from_array(np.array(131, np.uint8), "B_zp")     # its kernel takes one per tensor
        node, extra, a_shape = helper.make_node(op, ["a", "B", "a_zp", "B_zp"], ["y"]), [a_zp], [1, 3, 6, 6]
    elif op == "MatMulInteger":
        node, extra = helper.make_node(op, ["a", "B", "a_zp", "B_zp"], ["y"]), [a_zp]
    elif op == "MatMulIntegerToFloat":
        node = helper.make_node(op, ["a", "B", "a_scale", "B_scale", "a_zp", "B_zp"], ["y"], domain="com.microsoft")
        extra, y_type = [scale_a, scale_b, a_zp], TensorProto.FLOAT
    else:   # DynamicQuantizeMatMul
        node = helper.make_node(op, ["a", "B", "B_scale", "B_zp"], ["y"], domain="com.microsoft")
        extra, a_type, y_type = [scale_b], TensorProto.FLOAT, TensorProto.FLOAT
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("a", a_type, a_shape)],
                              [helper.make_tensor_value_info("y", y_type, None)], [weight, zp] + extra)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    onnx.save(helper.make_model(graph, opset_imports=opsets, ir_version=9), str(path))
    a = rng.integers(0, 256, a_shape).astype(np.uint8) if a_type == TensorProto.UINT8 else \
        rng.standard_normal(a_shape).astype(np.float32)
    return {"a": a}


@exact_here
@pytest.mark.parametrize("op", list(int8_weights.WEIGHT_SLOTS))
def test_every_listed_op_gives_the_same_numbers_signed(op, tmp_path, monkeypatch):
    """onnxruntime takes a replacement of another type without a word, so each op is checked by its output."""
    feeds = _integer_op_model(op, tmp_path / "op.onnx")
    assert set(signed_weights(tmp_path / "op.onnx")) == {"B", "B_zp"}
    outputs = {}
    for choice in ("unsigned", "signed"):
        monkeypatch.setenv(int8_weights.ENV, choice)
        runner = OrtRunner(tmp_path / "op.onnx", "cpu", int8=True)
        assert bool(runner.signed_weights) is (choice == "signed")
        outputs[choice] = runner.run(feeds)["y"]
    np.testing.assert_array_equal(outputs["signed"], outputs["unsigned"])
