"""Exporting the tiny custom config: bundle layout, graph parity with torch, weights, int8, refusals."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.errors import BundleError
from engine.model.backbone import build_clip
from engine.model.export import export_bundle, export_tiny_bundle
from engine.runtime.bundle import GRAPH_IO, open_bundle, verify


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


def test_bundle_json_describes_the_export(tiny_export):
    data = json.loads((tiny_export.bundle / "bundle.json").read_text())
    assert data["backbone"] == "custom:clipseek-tiny"
    assert (data["embed_dim"], data["frames_per_clip"], data["clip_tokens"], data["phrase_tokens"]) == (64, 4, 1, 1)
    assert (data["image_size"], data["context_length"], data["precision"]) == (64, 32, "fp32")
    assert data["mean"] == pytest.approx([0.48145466, 0.4578275, 0.40821073])
    assert data["config"]["method"] == "plain"
    for graph, (inputs, outputs) in GRAPH_IO.items():
        assert [t["name"] for t in data["graphs"][graph]["inputs"]] == list(inputs)
        assert [t["name"] for t in data["graphs"][graph]["outputs"]] == list(outputs)
        assert (tiny_export.bundle / data["files"][graph]).is_file()
    # a causal text tower: token ids of any length up to the context length of 32
    assert data["graphs"]["text_encoder"]["inputs"][0] == {"name": "token_ids", "dtype": "int64", "shape": ["N", "L"]}
    assert data["graphs"]["reranker"]["inputs"][0]["shape"] == [1, 64]
    assert data["graphs"]["reranker"]["outputs"][0]["shape"] == ["N"]
    assert "caption_bank" not in data["files"]
    assert verify(tiny_export.bundle) == []
    assert not list(tiny_export.bundle.parent.glob(".*partial*")), "the staging folder must be gone"


@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("graph", list(GRAPH_IO))
def test_onnx_matches_torch(tiny_export, make_inputs, run_both, graph, batch):
    want, got = run_both(tiny_export, graph, make_inputs(tiny_export, batch)[graph])
    for name, w, g in zip(GRAPH_IO[graph][1], want, got):
        assert g.shape == w.shape, name
        assert np.abs(w - g).max() <= 1e-4, name


def test_export_tiny_bundle_is_deterministic(tiny_export, tmp_path):
    # Same config, seed 0, T=4 as the fixture: byte-identical graphs, so the same fingerprint.
    bundle = export_tiny_bundle(tmp_path / "tiny")
    assert open_bundle(bundle).fingerprint == open_bundle(tiny_export.bundle).fingerprint
    assert open_bundle(bundle).name == "clipseek-tiny-random"


def test_checkpoint_weights_reach_the_graphs(tiny_export, make_inputs, tmp_path):
    torch.manual_seed(123)
    trained = build_clip("clipseek-tiny")
    checkpoint = tmp_path / "weights.pt"
    torch.save(trained.state_dict(), checkpoint)
    bundle = export_bundle("clipseek-tiny", tmp_path / "from-ckpt", checkpoint=checkpoint, frames_per_clip=4)
    assert open_bundle(bundle).config["weights"] == "checkpoint:weights.pt"
    assert open_bundle(bundle).name == "clipseek-tiny-weights"

    import onnxruntime as ort

    pixels = make_inputs(tiny_export, 3)["frame_encoder"]["pixels"]
    session = ort.InferenceSession(str(bundle / "frame_encoder.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {"pixels": pixels.numpy()})[0]
    with torch.no_grad():
        want = trained.encode_image(pixels, normalize=True).numpy()
    assert np.abs(got - want).max() <= 1e-4
    random_bundle = ort.InferenceSession(str(tiny_export.bundle / "frame_encoder.onnx"),
                                         providers=["CPUExecutionProvider"])
    assert np.abs(random_bundle.run(None, {"pixels": pixels.numpy()})[0] - want).max() > 1e-2


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    state = build_clip("clipseek-tiny").state_dict()
    state["visual.proj"] = torch.zeros(3, 3)
    del state["text_projection"]
    checkpoint = tmp_path / "other.pt"
    torch.save(state, checkpoint)
    with pytest.raises(BundleError, match="do not fit this architecture") as refused:
        export_bundle("clipseek-tiny", tmp_path / "out", checkpoint=checkpoint)
    assert "1 missing, 1 of another shape, first size mismatch for visual.proj" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "out").exists()


def test_unreadable_checkpoint_is_refused_in_one_line(tmp_path):
    import torch

    checkpoint = tmp_path / "junk.pt"
    checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(BundleError, match="unreadable checkpoint") as refused:
        export_bundle("clipseek-tiny", tmp_path / "out", checkpoint=checkpoint)
    # torch's own text (paragraphs on its weights_only default) would bury the sentence.
    assert "not a file that torch.save wrote" in str(refused.value)
    assert "\n" not in str(refused.value) and len(str(refused.value)) < 300

    whole = tmp_path / "whole.pt"
    torch.save({"w": torch.zeros(3)}, whole)
    checkpoint.write_bytes(whole.read_bytes()[:200])
    with pytest.raises(BundleError, match="cut short or damaged"):
        export_bundle("clipseek-tiny", tmp_path / "out", checkpoint=checkpoint)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kwargs", [{}, {"random_weights": True, "pretrained": "openai"}])
def test_exactly_one_weight_source(tmp_path, kwargs):
    with pytest.raises(BundleError, match="exactly one weight source"):
        export_bundle("clipseek-tiny", tmp_path / "out", **kwargs)


def test_unknown_model_lists_choices(tmp_path):
    with pytest.raises(BundleError, match="ViT-B-32"):
        export_bundle("ViT-Nope", tmp_path / "out", random_weights=True)


def test_refuses_to_overwrite_a_folder_that_is_not_a_bundle(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(BundleError, match="not a bundle folder"):
        export_bundle("clipseek-tiny", tmp_path / "out", random_weights=True)
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"


def test_int8_tiny_stays_close_to_fp32(tiny_export, exporter, make_inputs, run_both, tmp_path):
    quantized = exporter("clipseek-tiny", tmp_path / "int8", int8=True)
    assert open_bundle(quantized.bundle).precision == "int8"
    assert verify(quantized.bundle) == []
    for graph in ("frame_encoder", "text_encoder"):
        feeds = make_inputs(tiny_export, 5)[graph]
        fp32, _ = run_both(tiny_export, graph, feeds)
        _, int8 = run_both(quantized, graph, feeds)
        assert (quantized.bundle / f"{graph}.onnx").stat().st_size < (tiny_export.bundle / f"{graph}.onnx").stat().st_size
        for want, got in zip(fp32, int8):
            if want.ndim >= 2 and want.dtype == np.float32 and np.abs(want).max() > 0:
                assert cosine_rows(want, got).min() >= 0.999
