"""The real ViT-B-32 architecture (random weights), exported once for the whole module."""
from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from engine.model.export import quantize_int8
from engine.runtime.int8_float import float_graph
from engine.runtime.bundle import GRAPH_IO, open_bundle, verify

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def vit_b32(tmp_path_factory, exporter):
    return exporter("ViT-B-32", tmp_path_factory.mktemp("vitb32") / "bundle", frames_per_clip=12)


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


def test_bundle_describes_vit_b32(vit_b32):
    info = open_bundle(vit_b32.bundle)
    assert (info.backbone, info.embed_dim, info.image_size, info.context_length) == ("ViT-B-32", 512, 224, 77)
    assert info.frames_per_clip == 12
    assert verify(vit_b32.bundle) == []


@pytest.mark.parametrize("graph", list(GRAPH_IO))
def test_fp32_graphs_match_torch(vit_b32, make_inputs, run_both, graph):
    want, got = run_both(vit_b32, graph, make_inputs(vit_b32, 3)[graph])
    for name, w, g in zip(GRAPH_IO[graph][1], want, got):
        assert g.shape == w.shape, name
        assert np.abs(w - g).max() <= 1e-4, name


@pytest.mark.parametrize("graph", ["frame_encoder", "text_encoder"])
def test_int8_graphs_keep_cosine(vit_b32, make_inputs, run_both, graph, tmp_path):
    # Quantize copies of the shared export instead of exporting ViT-B-32 a second time.
    (tmp_path / "int8").mkdir()
    shutil.copy(vit_b32.bundle / f"{graph}.onnx", tmp_path / "int8" / f"{graph}.onnx")
    quantize_int8(tmp_path / "int8" / f"{graph}.onnx")
    assert (tmp_path / "int8" / f"{graph}.onnx").stat().st_size < 0.6 * (vit_b32.bundle / f"{graph}.onnx").stat().st_size
    feeds = make_inputs(vit_b32, 4)[graph]
    fp32, _ = run_both(vit_b32, graph, feeds)
    _, int8 = run_both(SimpleNamespace(model=vit_b32.model, bundle=tmp_path / "int8"), graph, feeds)
    for name, want, got in zip(GRAPH_IO[graph][1], fp32, int8):
        if name != "word_mask":
            assert cosine_rows(want, got).min() >= 0.999, name
    # Every product with a weight is int8, the patch embedding's included (exported as a MatMul, not a Conv);
    # only attention's products of two activations stay float.
    quantized = onnx.load(str(tmp_path / "int8" / f"{graph}.onnx"))
    weights = {t.name for t in quantized.graph.initializer}
    assert "Conv" not in {n.op_type for n in quantized.graph.node}
    assert not [n.name for n in quantized.graph.node if n.op_type in ("MatMul", "Gemm") and set(n.input) & weights]
    # On a GPU the runtime multiplies these weights in float (engine/runtime/int8_float.py): every product
    # of the exporter's int8 graph turns, and the vectors stay at least as close to fp32.
    rewritten = float_graph(tmp_path / "int8" / f"{graph}.onnx")
    assert not {"MatMulInteger", "DynamicQuantizeLinear"} & {n.op_type for n in onnx.load_from_string(rewritten).graph.node}
    session = ort.InferenceSession(rewritten, providers=["CPUExecutionProvider"])
    in_float = session.run(list(GRAPH_IO[graph][1]), {k: v.numpy() for k, v in feeds.items()})
    for name, want, got in zip(GRAPH_IO[graph][1], fp32, in_float):
        if name != "word_mask":
            assert cosine_rows(want, got).min() >= 0.9995, name
