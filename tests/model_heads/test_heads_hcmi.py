"""HCMI: temporal self-attention, adaptive clustering, phrases, three-level scores, denoising, margin."""
from __future__ import annotations

import torch

from engine.model.heads.hcmi import (
    FrameClusterer, HcmiConfig, HcmiScorer, PhrasePooler, TemporalFrameEncoder, latent_positives)
from engine.model.heads.layers import prior_pool, relative_positions
from engine.model.heads.losses import positive_matrix, symmetric_triplet


def test_relative_positions_ignore_where_padding_sits():
    mask = torch.tensor([[1, 1, 1, 0, 0], [0, 1, 1, 0, 1]], dtype=torch.float32)
    assert torch.allclose(relative_positions(mask), torch.tensor([[0, 0.5, 1, 0, 0], [0, 0, 0.5, 0, 1.0]]))


def test_clusterer_is_order_aware_and_ignores_padding(frames_of):
    torch.manual_seed(0)
    cfg = HcmiConfig()
    encoder, clusterer = TemporalFrameEncoder(64, 6, cfg), FrameClusterer(64, 4, cfg)
    frames = frames_of(2)
    mask = torch.ones(2, 6)
    mask[1, 4:] = 0
    tokens = encoder(frames, mask)
    clips = clusterer(tokens, mask)
    assert tokens.shape == (2, 6, 64) and clips.shape == (2, 4, 64)
    assert torch.all(tokens[1, 4:] == 0)
    noisy = frames.clone()
    noisy[1, 4:] = 9.0
    assert torch.allclose(clusterer(encoder(noisy, mask), mask), clips, atol=1e-5)
    # the first clip summarises the start of the segment: reversing time changes it
    reversed_clips = clusterer(encoder(frames.flip(1), torch.ones(2, 6)), torch.ones(2, 6))
    assert not torch.allclose(reversed_clips[0, 0], clips[0, 0], atol=1e-3)


def test_phrases_split_a_caption_in_order():
    """Phrase 1 gathers the first part of the caption, the last phrase its end."""
    torch.manual_seed(0)
    pooler = PhrasePooler(64, 4, 16, HcmiConfig(position_prior=4.0))
    words = torch.zeros(1, 16, 64)
    words[0, :5, 0] = 1.0   # first event's words
    words[0, 5:10, 1] = 1.0  # second event's words
    mask = torch.zeros(1, 16)
    mask[0, :10] = 1
    phrases = pooler(words, mask)
    first, last = phrases[0, 0] - pooler.slot_position[0], phrases[0, -1] - pooler.slot_position[-1]
    assert first[0] > first[1] and last[1] > last[0]


def test_clip_phrase_score_prefers_the_caption_order():
    scorer = HcmiScorer(2, 2, HcmiConfig())
    a, b = torch.eye(8)[0], torch.eye(8)[1]
    phrases = torch.stack([a, b]).unsqueeze(0)  # "A, then B"
    in_order = torch.stack([torch.stack([a, b]), torch.stack([b, a])])  # videos: A then B / B then A
    scores = scorer.clip_phrase(phrases, in_order)
    assert scores[0, 0] > scores[0, 1] + 0.1


def test_scorer_levels_and_gradients():
    torch.manual_seed(0)
    scorer = HcmiScorer(4, 4, HcmiConfig())
    words = torch.randn(2, 10, 64, requires_grad=True)
    word_mask = torch.ones(2, 10)
    total, levels = scorer(torch.randn(2, 64), words, word_mask, torch.randn(2, 4, 64), torch.randn(3, 64),
                           torch.randn(3, 4, 64), torch.randn(3, 6, 64), torch.ones(3, 6))
    assert total.shape == (2, 3) and set(levels) == {"video_sentence", "clip_phrase", "frame_word"}
    total.sum().backward()
    assert words.grad.abs().sum() > 0 and scorer.alignment_bias.grad is not None


def test_latent_positives_come_from_videos_closer_than_the_second_view():
    video = torch.tensor([[1.0, 0.0, 0.0], [0.98, 0.2, 0.0], [0.0, 0.0, 1.0]])
    view2 = torch.tensor([[0.8, 0.6, 0.0], [0.98, 0.2, 0.0], [0.0, 0.1, 1.0]])
    latent = latent_positives(video, view2)
    # video 1 is closer to video 0 than video 0's own second view: (v_0, t_1) is a latent positive
    assert latent[1, 0] and not latent[2, 0] and not latent[0, 2]


def test_margin_uses_the_hardest_negative():
    positives = positive_matrix(3, None, torch.device("cpu"))
    easy = torch.eye(3)
    assert symmetric_triplet(easy, positives, 0.2) == 0
    hard = easy.clone()
    hard[0, 2] = 0.95  # text 0 almost matches video 2
    loss = symmetric_triplet(hard, positives, 0.2)
    assert torch.isclose(loss, torch.tensor((0.15 + 0.15) / 3))


def test_prior_pool_keeps_every_slot_filled_for_short_segments(frames_of):
    frames = frames_of(1)
    mask = torch.zeros(1, 6)
    mask[0, :2] = 1
    pooled = prior_pool(frames, mask, 4)
    assert pooled.shape == (1, 4, 64) and torch.all(pooled.norm(dim=-1) > 0.5)


def test_frame_differences_put_the_whole_change_into_the_tokens(frames_of):
    """With TDB-style differences the tokens' sum gains (last - first valid frame): the direction of motion."""
    torch.manual_seed(0)
    assert not hasattr(TemporalFrameEncoder(64, 6, HcmiConfig()), "difference")  # off unless asked for
    encoder = TemporalFrameEncoder(64, 6, HcmiConfig(frame_differences=True))
    with torch.no_grad():
        encoder.proj.weight.zero_()  # keep only the residual paths: tokens = frames + change
    frames = frames_of(2)
    mask = torch.ones(2, 6)
    mask[1, 4:] = 0
    masked = frames * mask.unsqueeze(-1)
    with torch.no_grad():
        tokens = encoder(masked, mask)
        change = tokens.sum(dim=1) - masked.sum(dim=1)
        assert torch.allclose(change[0], frames[0, 5] - frames[0, 0], atol=1e-5)
        assert torch.allclose(change[1], frames[1, 3] - frames[1, 0], atol=1e-5)  # up to the last valid frame
        assert torch.all(tokens[1, 4:] == 0)
        noisy = masked.clone()
        noisy[1, 4:] = 9.0
        assert torch.allclose(encoder(noisy, mask), tokens, atol=1e-6)  # padding never leaks in
        backwards = encoder(frames.flip(1), torch.ones(2, 6))
        assert torch.allclose(backwards[0].sum(0) - frames[0].sum(0), -change[0], atol=1e-5)


def test_difference_gain_scales_the_change_the_tokens_start_with(frames_of):
    torch.manual_seed(0)
    encoder = TemporalFrameEncoder(64, 6, HcmiConfig(frame_differences=True, difference_gain=8.0))
    with torch.no_grad():
        encoder.proj.weight.zero_()
    frames = frames_of(1)
    with torch.no_grad():
        change = encoder(frames, torch.ones(1, 6)).sum(dim=1) - frames.sum(dim=1)
    assert torch.allclose(change[0], 8.0 * (frames[0, 5] - frames[0, 0]), atol=1e-4)
