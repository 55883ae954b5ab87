"""bundle.json reading and verification: a damaged bundle is named and refused, never half-loaded."""
from __future__ import annotations

import json

import pytest

from engine.errors import BundleError
from engine.runtime import load_model
from engine.runtime.bundle import BundleInfo, compute_fingerprint, open_bundle, verify


def test_good_bundle_verifies(runtime_bundle):
    assert verify(runtime_bundle) == []
    info = open_bundle(runtime_bundle)
    assert info.fingerprint == compute_fingerprint(runtime_bundle, info.files)
    assert BundleInfo.from_json(info.to_json()) == info


def test_missing_graph_is_named(bundle_copy):
    (bundle_copy / "reranker.onnx").unlink()
    problems = verify(bundle_copy)
    assert len(problems) == 1 and "reranker.onnx" in problems[0] and "missing" in problems[0]
    with pytest.raises(BundleError, match="reranker.onnx"):
        load_model(bundle_copy, device="cpu")


def test_changed_file_breaks_the_fingerprint(bundle_copy):
    graph = bundle_copy / "clip_encoder.onnx"
    data = bytearray(graph.read_bytes())
    data[-1] ^= 0xFF
    graph.write_bytes(bytes(data))
    problems = verify(bundle_copy)
    assert len(problems) == 1 and "fingerprint" in problems[0]
    with pytest.raises(BundleError, match="fingerprint"):
        load_model(bundle_copy, device="cpu")


def test_changed_tokenizer_breaks_the_fingerprint(bundle_copy):
    (bundle_copy / "tokenizer.json").write_text("{}")
    assert "fingerprint" in verify(bundle_copy)[0]
    with pytest.raises(BundleError, match="fingerprint"):
        load_model(bundle_copy, device="cpu")


def test_a_graph_onnxruntime_cannot_read_is_reported_as_damage(bundle_copy):
    """The sessions build while the files are hashed: the sentence is the fingerprint's, not onnxruntime's."""
    graph = bundle_copy / "text_encoder.onnx"
    graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 2])
    with pytest.raises(BundleError, match="fingerprint .* changed or damaged"):
        load_model(bundle_copy, device="cpu")


def test_unreadable_json(bundle_copy):
    (bundle_copy / "bundle.json").write_text("{not json")
    assert "unreadable json" in verify(bundle_copy)[0]
    with pytest.raises(BundleError, match="bundle.json: unreadable json"):
        open_bundle(bundle_copy)


def test_unknown_version(bundle_copy):
    data = json.loads((bundle_copy / "bundle.json").read_text())
    data["version"] = 99
    (bundle_copy / "bundle.json").write_text(json.dumps(data))
    assert "version 99 is unknown" in verify(bundle_copy)[0]


def test_missing_field(bundle_copy):
    data = json.loads((bundle_copy / "bundle.json").read_text())
    del data["embed_dim"]
    (bundle_copy / "bundle.json").write_text(json.dumps(data))
    assert "embed_dim" in verify(bundle_copy)[0]


def test_partial_export_without_bundle_json(bundle_copy):
    (bundle_copy / "bundle.json").unlink()
    with pytest.raises(BundleError, match="not a complete bundle"):
        open_bundle(bundle_copy)


def test_renamed_graph_output_is_refused(bundle_copy):
    data = json.loads((bundle_copy / "bundle.json").read_text())
    data["graphs"]["text_encoder"]["outputs"][0]["name"] = "sentence"
    (bundle_copy / "bundle.json").write_text(json.dumps(data))
    assert "text_encoder has inputs" in verify(bundle_copy)[0]


def test_file_names_cannot_leave_the_bundle(bundle_copy):
    data = json.loads((bundle_copy / "bundle.json").read_text())
    data["files"]["tokenizer"] = "../tokenizer.json"
    (bundle_copy / "bundle.json").write_text(json.dumps(data))
    assert any("plain name" in p for p in verify(bundle_copy))


@pytest.mark.parametrize("field, value, said", [
    ("context_length", 0, "context_length must be a whole number of at least 2, not 0"),
    ("image_size", 0, "image_size must be a whole number of at least 1, not 0"),
    ("frames_per_clip", 0, "frames_per_clip must be a whole number of at least 1"),
    ("image_size", 112, "image_size is 112 but the frame_encoder's pixels has"),
    ("embed_dim", 128, "embed_dim is 128 but the frame_encoder's frame_features has"),
    ("mean", [0.5], "mean must be three numbers (red, green, blue), not [0.5]"),
    ("std", [0, 0, 0], "std must be three positive numbers (red, green, blue), not [0.0, 0.0, 0.0]"),
    ("resize", "stretch", "resize 'stretch' is not one of center_crop, squash"),
])
def test_bundle_json_values_that_would_fail_every_file_are_refused(bundle_copy, field, value, said):
    """bundle.json's own fields are not fingerprinted: a value edited there is checked before any video meets it."""
    data = json.loads((bundle_copy / "bundle.json").read_text())
    data[field] = value
    (bundle_copy / "bundle.json").write_text(json.dumps(data))
    problems = verify(bundle_copy)
    assert len(problems) == 1 and said in problems[0], problems
    with pytest.raises(BundleError, match="re-export"):
        open_bundle(bundle_copy)


def test_a_model_trained_from_scratch_on_the_shapes_world_alone_is_a_demonstration(runtime_bundle):
    from dataclasses import replace
    from pathlib import Path

    shipped = open_bundle(Path(__file__).resolve().parents[2] / "assets" / "models" / "clipseek-shapes")
    assert shipped.trained_only_on == "shapes"
    assert replace(shipped, backbone="ViT-B-32").trained_only_on is None      # pretrained weights, heads on shapes
    real_data = {"training": {"config": {"data": {"kind": "msrvtt"}}}}
    assert replace(shipped, config=real_data).trained_only_on is None
    for odd in ({}, {"training": None}, {"training": {"config": []}}, {"training": {"config": {"data": "shapes"}}}):
        assert replace(shipped, config=odd).trained_only_on is None
    assert open_bundle(runtime_bundle).trained_only_on is None                # an export with no training recorded
