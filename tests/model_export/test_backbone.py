"""The shared feature helpers agree with open_clip's own encoders."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from engine.model import backbone


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return backbone.load_backbone("clipseek-tiny", random_weights=True)


def test_tiny_config_is_registered(tiny):
    assert "clipseek-tiny" in backbone.register_custom_configs()
    assert (tiny.image_size, tiny.context_length, tiny.embed_dim) == (64, 32, 64)
    assert backbone.backbone_label("clipseek-tiny") == "custom:clipseek-tiny"
    assert backbone.backbone_label("ViT-B-32") == "ViT-B-32"


def test_text_helpers_match_open_clip(tiny):
    ids = tiny.tokenizer()(["a dog!!! runs", "two cats"])
    with torch.no_grad():
        want = tiny.clip.encode_text(ids)
        words = backbone.word_tokens(tiny.clip, ids)
        eot = ids.argmax(dim=-1)
        assert torch.allclose(words[torch.arange(2), eot], want, atol=1e-5)
        assert torch.allclose(backbone.sentence_vector(tiny.clip, ids), F.normalize(want, dim=-1), atol=1e-5)


def test_word_mask_counts_tokens_up_to_end_of_text(tiny):
    ids = tiny.tokenizer()(["wow !~ yes", ""])
    assert ids[0, 2] == 0  # "!" is id 0, like padding, yet a real token
    mask = backbone.word_mask(tiny.clip, ids)
    eot = int(ids[0].argmax())
    assert mask[0].tolist() == [1.0] * (eot + 1) + [0.0] * (ids.shape[1] - eot - 1)
    assert mask[1].sum() == 2  # start and end only


def test_frame_features_match_open_clip(tiny):
    pixels = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(backbone.frame_features(tiny.clip, pixels),
                              tiny.clip.encode_image(pixels, normalize=True), atol=1e-6)
