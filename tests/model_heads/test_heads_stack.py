"""The composite VideoTextModel: configs, training losses, graph modules, ONNX export."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from engine.errors import ClipSeekError
from engine.model.stack import StackConfig, StackConfigError, build_model, stack_config_names

ALL_CONFIGS = ["stack_full", "stack_plain", "method_hcmi", "method_vtc", "method_dmae", "method_hbci", "method_vop"]
# the built-in model's recipe
DEMO_CONFIGS = ["stack_shapes", "stack_shapes_plain", "stack_shapes_still", "stack_shapes_still_layout"]
CAPTIONS = ["a big red circle moving left", "a small blue star growing",
            "a big red circle moving left, then a small blue star growing", "a white square staying still"]


def test_every_shipped_config_loads_and_names_its_heads():
    assert sorted(ALL_CONFIGS + DEMO_CONFIGS) == stack_config_names()
    assert StackConfig.from_json("stack_full").enabled_heads() == ["hcmi", "vtc", "dmae", "hbci", "vop"]
    assert StackConfig.from_json("stack_plain").enabled_heads() == []
    assert StackConfig.from_json("stack_shapes").enabled_heads() == ["hcmi", "vtc", "dmae", "hbci", "vop"]
    assert StackConfig.from_json("stack_shapes_plain").enabled_heads() == []
    still = StackConfig.from_json("stack_shapes_still")        # still-frame pre-training of the same backbone
    assert still.enabled_heads() == [] and still.frames_per_clip == 1 and still.backbone == "clipseek-shapes"
    with_layout = StackConfig.from_json("stack_shapes_still_layout")   # then the frame layout, on the same stills
    assert dataclasses.replace(with_layout, name=still.name, layout=still.layout) == still
    assert with_layout.layout.enabled and not still.layout.enabled
    for head in ("hcmi", "vtc", "dmae", "hbci", "vop"):
        assert StackConfig.from_json(f"method_{head}").enabled_heads() == [head]


def test_config_errors_name_the_problem(tmp_path):
    with pytest.raises(ClipSeekError, match="stack_full"):
        StackConfig.from_json("no_such_stack")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"hcmi": {"enabeld": True}}))
    with pytest.raises(StackConfigError, match="enabeld"):
        StackConfig.from_json(bad)


def test_round_trip_through_json(tmp_path):
    cfg = StackConfig.from_json("stack_full")
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg.to_dict()))
    assert StackConfig.from_json(path) == cfg


@pytest.mark.parametrize("name", ALL_CONFIGS)
def test_losses_backward_on_a_tiny_batch(make_model, tokenize, frames_of, name):
    model = make_model(name).train()
    if model.cfg.vtc.enabled:
        model.set_caption_bank(frames_of(1, 12, seed=5)[0], [f"caption {i}" for i in range(12)])
    mask = torch.ones(3, 6)
    mask[2, 4:] = 0
    batch = {"frame_features": frames_of(3), "frame_mask": mask, "token_ids": tokenize(CAPTIONS[:3]),
             "frame_features_view2": frames_of(3, seed=1), "video_ids": torch.tensor([0, 1, 2])}
    if name == "method_vop":  # prompts live in the image tower: train from pixels
        batch.pop("frame_features")
        batch["pixels"] = torch.randn(3, 6, 3, 64, 64)
    losses = model.losses(batch)
    assert torch.isfinite(losses["total"])
    expected = {"stage1_nce", "fused_nce", "distill", "total"}
    assert expected <= set(losses)
    losses["total"].backward()
    image_side = ("clip.visual.", "vision_prompts.")  # cached frame features bypass the image tower
    trainable = [(n, p) for n, p in model.named_parameters()
                 if p.requires_grad and ("pixels" in batch or not n.startswith(image_side))]
    assert trainable
    no_grad = [n for n, p in trainable if p.grad is None]
    assert not no_grad, f"parameters without gradient: {no_grad[:8]}"


def test_full_stack_trains_from_pixels_with_a_second_view(make_model, tokenize):
    model = make_model("stack_full").train()
    pixels = torch.randn(2, 6, 3, 64, 64)
    losses = model.losses({"pixels": pixels, "pixels_view2": pixels + 0.05 * torch.randn_like(pixels),
                           "frame_mask": torch.ones(2, 6), "token_ids": tokenize(CAPTIONS[:2])})
    assert {"hcmi_contrastive", "hcmi_margin", "vtc_cluster", "vtc_sweeper", "vtc_queue", "vtc_att", "dmae_negnce",
            "dmae_tpm", "hbci_contrastive", "hbci_distill", "hbci_decorrelation"} <= set(losses)
    losses["total"].backward()
    assert model.clip.visual.conv1.weight.grad is not None


def test_graph_modules_have_the_exported_shapes(make_model, tokenize, frames_of):
    model = make_model("stack_full").eval()
    model.set_caption_bank(frames_of(1, 10, seed=3)[0], [f"c{i}" for i in range(10)])
    with torch.no_grad():
        features = model.frame_encoder()(torch.randn(5, 3, 64, 64))
        assert features.shape == (5, 64)
        assert torch.allclose(features.norm(dim=-1), torch.ones(5), atol=1e-5)
        vector, clips, frames = model.clip_encoder()(frames_of(3), torch.ones(3, 6))
        assert (vector.shape, clips.shape, frames.shape) == ((3, 64), (3, 4, 64), (3, 6, 64))
        text_vector, words, phrases, word_mask = model.text_encoder()(tokenize(CAPTIONS))
        assert (text_vector.shape, words.shape, phrases.shape, word_mask.shape) == ((4, 64), (4, 32, 64),
                                                                                    (4, 4, 64), (4, 32))
        scores = model.reranker()(text_vector[:1], words[:1], phrases[:1], word_mask[:1], clips, frames,
                                  torch.ones(3, 6))
        assert scores.shape == (3,)


def test_reranker_equals_the_training_stage2_score(make_model, tokenize, frames_of):
    model = make_model("stack_full").eval()
    model.set_caption_bank(frames_of(1, 10, seed=3)[0], [f"c{i}" for i in range(10)])
    mask = torch.ones(3, 6)
    mask[1, 3:] = 0
    with torch.no_grad():
        video = model.encode_video(frames_of(3), mask)
        text = model.encode_text(tokenize(CAPTIONS[:2]))
        stage2 = model.stage2_scores(text, video, mask)
        row = model.reranker()(text.vector[1:2], text.word_tokens[1:2], text.phrase_tokens[1:2],
                               text.word_mask[1:2], video.clip_tokens, video.frame_tokens, mask)
    assert stage2.fused.shape == (2, 3)
    assert torch.allclose(row, stage2.fused[1], atol=1e-5)
    assert {"stage1", "max_mean", "hcmi", "vtc", "dmae", "hbci", "hcmi/clip_phrase"} <= set(stage2.heads)


def test_padding_never_changes_a_score(make_model, tokenize, frames_of):
    model = make_model("stack_full").eval()
    frames = frames_of(2)
    mask = torch.ones(2, 6)
    mask[:, 4:] = 0
    garbage = frames.clone()
    garbage[:, 4:] = frames_of(2, seed=9)[:, 4:] * 3.0
    with torch.no_grad():
        text = model.encode_text(tokenize(CAPTIONS[:2]))
        clean = model.encode_video(frames * mask.unsqueeze(-1), mask)
        dirty = model.encode_video(garbage, mask)
        assert torch.allclose(clean.vector, dirty.vector, atol=1e-5)
        assert torch.allclose(clean.clip_tokens, dirty.clip_tokens, atol=1e-5)
        assert torch.allclose(clean.frame_tokens, dirty.frame_tokens, atol=1e-5)
        assert torch.allclose(model.stage2_scores(text, clean, mask).fused,
                              model.stage2_scores(text, dirty, mask).fused, atol=1e-5)
        # word padding: garbage in masked word positions changes nothing either
        words = text.word_tokens.clone()
        words[text.word_mask == 0] = 7.0
        noisy = dataclasses.replace(text, word_tokens=words)
        assert torch.allclose(model.stage2_scores(text, clean, mask).fused,
                              model.stage2_scores(noisy, clean, mask).fused, atol=1e-5)


def test_temporal_order_changes_the_scores(make_model, tokenize, frames_of):
    """"A, then B" must differ from "B, then A": reversing a segment's frames moves the scores."""
    model = make_model("stack_full").eval()
    frames = frames_of(1)
    mask = torch.ones(1, 6)
    with torch.no_grad():
        text = model.encode_text(tokenize(CAPTIONS[2:3]))
        forward = model.encode_video(frames, mask)
        backward = model.encode_video(frames.flip(1), mask)
        ahead = model.stage2_scores(text, forward, mask).heads
        behind = model.stage2_scores(text, backward, mask).heads
    assert not torch.allclose(forward.vector, backward.vector, atol=1e-4)
    assert abs(float(ahead["hcmi/clip_phrase"] - behind["hcmi/clip_phrase"])) > 1e-4
    # the order-blind baseline (max-mean over raw frames) cannot tell them apart
    from engine.model.heads.hcmi import token_max_mean

    plain = [token_max_mean(text.word_tokens, text.word_mask, f, mask) for f in (frames, frames.flip(1))]
    assert torch.allclose(plain[0], plain[1], atol=1e-6)


def test_drop_heads_removes_components_from_the_fusion(make_model, tokenize, frames_of):
    model = make_model("stack_full").eval()
    mask = torch.ones(2, 6)
    with torch.no_grad():
        video = model.encode_video(frames_of(2), mask)
        text = model.encode_text(tokenize(CAPTIONS[:2]))
        full = model.stage2_scores(text, video, mask)
        without = model.stage2_scores(text, video, mask, drop_heads={"hbci", "vtc"})
    weights = dict(zip(model.fusion.active, model.fusion.weights))
    assert "hbci" not in without.heads
    expected = full.fused - weights["hbci"] * full.heads["hbci"] - weights["vtc"] * full.heads["vtc"]
    assert torch.allclose(without.fused, expected, atol=1e-5)


def test_plain_stack_is_mean_pooling_and_max_mean(make_model, tokenize, frames_of):
    model = make_model("stack_plain").eval()
    frames = frames_of(2)
    mask = torch.ones(2, 6)
    with torch.no_grad():
        video = model.encode_video(frames, mask)
        mean = frames.mean(dim=1)
        assert torch.allclose(video.vector, mean / mean.norm(dim=-1, keepdim=True), atol=1e-5)
        text = model.encode_text(tokenize(CAPTIONS[:2]))
        stage2 = model.stage2_scores(text, video, mask)
    assert torch.allclose(stage2.fused, stage2.heads["max_mean"])
    assert model.caption_bank() is None


def test_param_groups_cover_the_trainable_parameters(make_model):
    model = make_model("stack_full")
    groups = model.param_groups(lr_backbone=1e-5, lr_heads=1e-3)
    assert [g["name"] for g in groups] == ["backbone", "heads"]
    assert sum(p.numel() for g in groups for p in g["params"]) == model.trainable_parameter_count()
    torch.optim.AdamW(groups)


def test_caption_bank_is_exported_and_checked(make_model, frames_of):
    model = make_model("stack_full")
    with pytest.raises(ClipSeekError, match=r"\[M, 64\]"):
        model.set_caption_bank(torch.randn(4, 32), ["a", "b", "c", "d"])
    model.set_caption_bank(frames_of(1, 3)[0], ["a", "b", "c"])
    embeddings, captions = model.caption_bank()
    assert embeddings.shape == (3, 64) and embeddings.dtype == np.float32 and captions == ["a", "b", "c"]
    with pytest.raises(ClipSeekError, match="no VTC head"):
        make_model("stack_plain").set_caption_bank(torch.randn(2, 64), ["a", "b"])


def test_sentence_vectors_are_the_raw_text_vectors_a_bank_holds(make_model, tokenize, frames_of):
    model = make_model("stack_full").eval()
    model.set_caption_bank(frames_of(1, 12, seed=5)[0], [f"caption {i}" for i in range(12)])
    tokens = tokenize(CAPTIONS)
    with torch.no_grad():
        text = model.encode_text(tokens)
        raw = model.sentence_vectors(tokens)
    assert torch.equal(raw, text.raw_vector)
    assert not torch.allclose(raw, text.vector)   # the bank expands the query; the bank's own vectors are not


def test_export_spec_records_the_stack(make_model):
    spec = make_model("stack_full").export_spec()
    assert (spec.embed_dim, spec.frames_per_clip, spec.clip_tokens, spec.phrase_tokens) == (64, 6, 4, 4)
    assert (spec.image_size, spec.context_length) == (64, 32)
    assert spec.config["heads"] == ["hcmi", "vtc", "dmae", "hbci", "vop"]
    json.dumps(spec.config)


def test_build_model_takes_an_existing_clip(make_model):
    from engine.model.backbone import build_clip

    clip = build_clip("clipseek-tiny")
    model = build_model(dataclasses.replace(StackConfig.from_json("method_hcmi"), frames_per_clip=6), clip)
    assert model.clip is clip
