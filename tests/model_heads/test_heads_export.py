"""The stack's four graph modules export to ONNX and onnxruntime reproduces torch within 1e-4."""
from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import numpy_helper

from engine.model.export import GRAPH_IO, export_graph, graph_examples
from engine.model.stack import StackConfig, build_model

pytestmark = pytest.mark.slow  # one export of four graphs: ~8 s on the 2-core machine

GRAPHS = ("frame_encoder", "clip_encoder", "text_encoder", "reranker")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        model = build_model(dataclasses.replace(StackConfig.from_json("stack_full"), frames_per_clip=6)).eval()
        bank = torch.randn(12, model.width)
        model.set_caption_bank(bank / bank.norm(dim=-1, keepdim=True), [f"caption {i}" for i in range(12)])
        examples = graph_examples(model, model.export_spec())
        folder = tmp_path_factory.mktemp("stack_graphs")
        for graph in GRAPHS:
            export_graph(examples[graph], GRAPH_IO[graph], folder / f"{graph}.onnx")
    finally:
        torch.set_num_threads(threads)
    return folder, examples, model.query_clusterer.bank.embeddings.numpy()


def _grown(inputs, names, dynamic):
    """One more row on every dynamic axis: the graphs must not have baked the example's batch size in."""
    return [torch.cat([x, x[:1]]) if name in dynamic else x for x, name in zip(inputs, names)]


@pytest.mark.parametrize("graph", GRAPHS)
def test_graph_matches_torch(exported, graph):
    folder, examples, _ = exported
    example = examples[graph]
    input_names, output_names = GRAPH_IO[graph]
    session = ort.InferenceSession(str(folder / f"{graph}.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(input_names)
    for inputs in (list(example.inputs), _grown(example.inputs, input_names, example.dynamic)):
        with torch.no_grad():
            expected = example.module(*inputs)
        expected = expected if isinstance(expected, tuple) else (expected,)
        got = session.run(list(output_names), {n: x.numpy() for n, x in zip(input_names, inputs)})
        for name, want, have in zip(output_names, expected, got):
            want = want.float().numpy()
            assert want.shape == have.shape, name
            assert np.abs(want - np.asarray(have, dtype=np.float32)).max() < 1e-4, name


def test_reranker_graph_ignores_padded_frames(exported):
    folder, examples, _ = exported
    names = GRAPH_IO["reranker"][0]
    inputs = {n: x.numpy().copy() for n, x in zip(names, examples["reranker"].inputs)}
    session = ort.InferenceSession(str(folder / "reranker.onnx"), providers=["CPUExecutionProvider"])
    before = session.run(None, inputs)[0]
    padded = inputs["frame_mask"] == 0
    assert padded.any()
    inputs["frame_tokens"][padded] = 5.0
    after = session.run(None, inputs)[0]
    assert np.abs(before - after).max() < 1e-5


@pytest.mark.parametrize("graph", ("text_encoder", "reranker"))
def test_graph_holds_the_caption_bank_once(exported, graph):
    """The bank is the largest constant of a trained bundle; a folded transposed copy would double it."""
    folder, _, bank = exported
    model = onnx.load(str(folder / f"{graph}.onnx"))
    tensors = [numpy_helper.to_array(t) for t in model.graph.initializer]
    tensors += [numpy_helper.to_array(a.t) for n in model.graph.node if n.op_type == "Constant"
                for a in n.attribute if a.name == "value"]
    copies = [t.shape for t in tensors
              if (t.shape == bank.shape and np.allclose(t, bank)) or (t.shape == bank.T.shape and np.allclose(t, bank.T))]
    assert copies == [bank.shape]
