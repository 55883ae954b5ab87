"""load_model(graphs=...): only the graphs asked for are loaded; the others say so when used."""
from __future__ import annotations

import numpy as np
import pytest

from engine.errors import BundleError
from engine.runtime import load_model


def test_indexing_graphs_only_give_the_same_embeddings(runtime_bundle):
    full = load_model(runtime_bundle, device="cpu")
    part = load_model(runtime_bundle, device="cpu", graphs=("frame_encoder", "clip_encoder"))
    frames = np.random.default_rng(0).integers(0, 256, size=(3, 48, 80, 3), dtype=np.uint8)
    assert np.array_equal(full.encode_frames(frames), part.encode_frames(frames))
    assert np.array_equal(full.preprocess(frames), part.preprocess(frames))
    assert part.providers == ["CPUExecutionProvider"]
    with pytest.raises(BundleError, match="text_encoder graph was not loaded"):
        part.encode_text(["a dog"])
    assert part.tokenizer is None   # an indexing worker never reads tokenizer.json


def test_the_tokenizer_is_read_when_the_text_graph_may_open_later(runtime_bundle):
    full = load_model(runtime_bundle, device="cpu")
    part = load_model(runtime_bundle, device="cpu", graphs=("frame_encoder",), others_on_use=True)
    assert np.array_equal(full.encode_text(["a dog"]).vector, part.encode_text(["a dog"]).vector)


def test_unknown_graph_names_are_refused(runtime_bundle):
    with pytest.raises(ValueError, match="graphs must be some of"):
        load_model(runtime_bundle, device="cpu", graphs=("frame_encoder", "audio_encoder"))


def test_other_graphs_open_when_first_used(runtime_bundle):
    """What a searching Library does: the text graphs now, the frame and clip encoders at an image search."""
    full = load_model(runtime_bundle, device="cpu")
    part = load_model(runtime_bundle, device="cpu", graphs=("text_encoder", "reranker"), others_on_use=True)
    frames = np.random.default_rng(0).integers(0, 256, size=(2, 48, 80, 3), dtype=np.uint8)
    assert np.array_equal(full.encode_frames(frames), part.encode_frames(frames))
    features = part.encode_frames(frames)[None, :, :].repeat(2, axis=1)
    mask = np.ones((1, 4), np.float32)
    assert np.array_equal(full.encode_clips(features, mask).vector, part.encode_clips(features, mask).vector)
    assert np.array_equal(full.encode_text(["a dog"]).vector, part.encode_text(["a dog"]).vector)


def test_a_graph_opened_on_use_is_still_checked(bundle_copy):
    import shutil

    shutil.copy(bundle_copy / "clip_encoder.onnx", bundle_copy / "frame_encoder.onnx")  # the wrong graph
    model = load_model(bundle_copy, device="cpu", graphs=("text_encoder",), others_on_use=True,
                       verify_fingerprint=False)
    with pytest.raises(BundleError, match="differ from bundle.json"):
        model.encode_frames(np.zeros((1, 48, 80, 3), np.uint8))
