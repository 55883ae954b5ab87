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


def test_unknown_graph_names_are_refused(runtime_bundle):
    with pytest.raises(ValueError, match="graphs must be some of"):
        load_model(runtime_bundle, device="cpu", graphs=("frame_encoder", "audio_encoder"))
