"""VoP: deep prompts in both towers, the function-specific variant, prompt-only training."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from engine.errors import ClipSeekError
from engine.model import backbone
from engine.model.heads.vop import TextPrompts, VisionPrompts, VopConfig


@pytest.fixture
def clip():
    torch.manual_seed(0)
    return backbone.build_clip("clipseek-tiny")


def test_prompted_towers_reduce_to_open_clip_without_prompts(clip, tokenize):
    """With zero prompt tokens our layer-by-layer forward is exactly open_clip's."""
    cfg = VopConfig(prompt_tokens=0)
    pixels = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        mine = VisionPrompts(clip.visual, 4, cfg).encode_frames(clip.visual, pixels)
        assert torch.allclose(mine, clip.encode_image(pixels), atol=1e-5)
        ids = tokenize(["a big red circle moving left", "a star"])
        assert torch.allclose(TextPrompts(clip, cfg).hidden(clip, ids), backbone.text_hidden(clip, ids), atol=1e-5)


def test_prompts_steer_both_towers_and_keep_causality(clip, tokenize):
    cfg = VopConfig()
    vision, text = VisionPrompts(clip.visual, 4, cfg), TextPrompts(clip, cfg)
    pixels = torch.randn(2, 3, 64, 64)
    ids = tokenize(["a big red circle moving left", "a star"])
    with torch.no_grad():
        assert not torch.allclose(vision.encode_frames(clip.visual, pixels), clip.encode_image(pixels), atol=1e-4)
        hidden = text.hidden(clip, ids)
        assert not torch.allclose(hidden, backbone.text_hidden(clip, ids), atol=1e-4)
        changed = ids.clone()
        changed[1, 3] = 320  # a token after "a star"'s end of text: padding must not matter
        assert torch.allclose(text.hidden(clip, changed)[1, :3], hidden[1, :3], atol=1e-5)


def test_function_variant_mixes_frames_but_not_padding(clip):
    cfg = VopConfig(variant="function", function_layers=1)
    vision = VisionPrompts(clip.visual, 4, cfg)
    pixels = torch.randn(2, 4, 3, 64, 64)
    mask = torch.ones(2, 4)
    mask[1, 2:] = 0
    with torch.no_grad():
        features = vision.encode_video(clip.visual, pixels, mask)
        assert features.shape == (2, 4, 64)
        other = pixels.clone()
        other[0, 3] = torch.randn(3, 64, 64)  # change one frame of video 0
        other[1, 2:] = 5.0  # and the padded frames of video 1
        again = vision.encode_video(clip.visual, other, mask)
    assert not torch.allclose(again[0, 0], features[0, 0], atol=1e-5)  # joint attention across frames
    assert torch.allclose(again[1, :2], features[1, :2], atol=1e-5)  # padding never leaks in
    with pytest.raises(ClipSeekError, match="deep"):
        vision.encode_frames(clip.visual, pixels[0])


def test_prompt_only_training_changes_only_the_prompts(make_model, tokenize):
    model = make_model("method_vop").train()
    assert model.prompt_only
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"vision_prompts.prompts", "text_prompts.prompts"}
    assert model.trainable_parameter_count() < 0.01 * sum(p.numel() for p in model.parameters())
    optimiser = torch.optim.AdamW(model.param_groups(1e-4, 1e-2))
    batch = {"pixels": torch.randn(3, 6, 3, 64, 64), "frame_mask": torch.ones(3, 6),
             "token_ids": tokenize(["a red circle", "a blue star", "a white square"])}
    for _ in range(2):
        optimiser.zero_grad()
        model.losses(batch)["total"].backward()
        optimiser.step()
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"vision_prompts.prompts", "text_prompts.prompts"}


def test_prompt_only_on_vit_b_32_is_far_below_one_percent():
    """The paper's setting: 8 prompts per layer on ViT-B/32 (built on the meta device: no memory)."""
    import open_clip

    from engine.model.stack import StackConfig, build_model

    cfg = dataclasses.replace(StackConfig.from_json("stack_full"), backbone="ViT-B-32", frames_per_clip=12)
    cfg = dataclasses.replace(cfg, vop=dataclasses.replace(cfg.vop, prompt_only=True, function_layers=4))
    with torch.device("meta"):
        model = build_model(cfg, open_clip.create_model("ViT-B-32", pretrained=None, device="meta"))
    share = model.trainable_parameter_count() / sum(p.numel() for p in model.parameters())
    assert model.trainable_parameter_count() == 12 * 8 * 768 + 12 * 8 * 512
    assert share < 0.001


def test_prompt_only_needs_vop(make_model):
    with pytest.raises(ClipSeekError, match="vop.enabled"):
        make_model("method_hcmi").set_prompt_only(True)
