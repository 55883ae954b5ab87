"""DMAE: weighted interaction with the visual clue, NegNCE, adaptive masking and TPM-CL."""
from __future__ import annotations

import torch

from engine.model.heads.dmae import DmaeConfig, DmaeInteraction, TpmCl, keep_after_masking, neg_nce
from engine.model.heads.layers import unit
from engine.model.heads.losses import multi_positive_nce, positive_matrix


def test_negnce_equals_infonce_without_hard_negatives():
    cfg = DmaeConfig()
    scores = 0.01 * torch.rand(4, 4) + torch.eye(4) * 0.02  # every positive beats its row and column
    positives = positive_matrix(4, None, torch.device("cpu"))
    expected = multi_positive_nce(scores * cfg.logit_scale, positives)
    assert torch.isclose(neg_nce(scores, positives, cfg), expected, atol=1e-6)


def test_negnce_adds_the_hard_negative_term():
    cfg = DmaeConfig()
    scores = torch.eye(3) * 0.5
    scores[0, 2] = 0.6  # beats text 0's positive: a hard negative
    positives = positive_matrix(3, None, torch.device("cpu"))
    probs = torch.softmax(scores * 100, dim=1).clamp(1e-6, 1 - 1e-6)
    expected = multi_positive_nce(scores * 100, positives) - 0.5 * torch.log(1 - probs[0, 2])
    assert torch.isclose(neg_nce(scores, positives, cfg), expected, atol=1e-5)
    # captions of the same video are positives, never hard negatives
    same_video = positive_matrix(3, torch.tensor([0, 1, 0]), torch.device("cpu"))
    assert neg_nce(scores, same_video, cfg) < neg_nce(scores, positives, cfg)


def test_visual_clue_adds_the_neighbouring_frame():
    cfg = DmaeConfig(use_sentence=False)
    head = DmaeInteraction(4, cfg)
    for layer in (head.word_weight, head.frame_weight):  # uniform weights for a hand-checked value
        torch.nn.init.zeros_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
    word = torch.tensor([[[1.0, 0.0, 0.0, 0.0]]])
    frames = unit(torch.tensor([[[1.0, 0.0, 0.0, 0.0], [0.8, 0.6, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]]))
    score = head(word[:, 0], word, torch.ones(1, 1), frames, torch.ones(1, 3))
    t2v = 1.0 + 0.5 * 0.8 * 0.8  # best frame 0, its neighbour frame 1 (ρ = 0.8, S = 0.8)
    v2t = (1.0 + 0.8 + 0.0) / 3
    assert torch.isclose(score[0, 0], torch.tensor(0.5 * (t2v + v2t)), atol=1e-5)
    alone = torch.tensor([[1.0, 0.0, 0.0]])  # one valid frame: no neighbour, no clue
    assert torch.isclose(head(word[:, 0], word, torch.ones(1, 1), frames, alone)[0, 0], torch.tensor(1.0))


def test_interaction_ignores_padding_and_passes_gradients():
    torch.manual_seed(0)
    head = DmaeInteraction(16, DmaeConfig())
    words = torch.randn(2, 7, 16, requires_grad=True)
    word_mask = torch.ones(2, 7)
    word_mask[1, 4:] = 0
    frames = torch.randn(3, 5, 16)
    frame_mask = torch.ones(3, 5)
    frame_mask[2, 2:] = 0
    sentence = torch.randn(2, 16)
    scores = head(sentence, words, word_mask, frames, frame_mask)
    noisy_words, noisy_frames = words.detach().clone(), frames.clone()
    noisy_words[1, 4:] = 8.0
    noisy_frames[2, 2:] = -8.0
    assert torch.allclose(head(sentence, noisy_words, word_mask, noisy_frames, frame_mask), scores, atol=1e-5)
    scores.sum().backward()
    assert words.grad[1, 4:].abs().sum() == 0 and words.grad[0].abs().sum() > 0
    assert head.word_weight.weight.grad is not None and head.frame_weight.weight.grad is not None


def test_adaptive_masking_drops_the_top_tokens_up_to_the_threshold():
    weights = torch.tensor([[0.5, 0.05, 0.3, 0.15, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 1.0, 0.0]])
    # sorted: 0.5 (before 0) drop, 0.3 (before 0.5) drop, 0.15 (before 0.8) keep, 0.05 keep
    assert keep_after_masking(weights, mask, 0.6).tolist() == [[0.0, 1.0, 0.0, 1.0, 0.0]]
    single = torch.tensor([[1.0, 0.0]])
    assert keep_after_masking(single, torch.tensor([[1.0, 0.0]]), 0.6).tolist() == [[1.0, 0.0]]


def test_tpm_cl_makes_the_masked_pair_score_lower_than_the_full_pair():
    torch.manual_seed(0)
    cfg = DmaeConfig()
    interaction = DmaeInteraction(16, cfg)
    tpm = TpmCl(16, 8, 5, cfg)
    sentence = torch.randn(4, 16, requires_grad=True)
    words = torch.randn(4, 8, 16, requires_grad=True)
    frames = torch.randn(4, 5, 16, requires_grad=True)
    word_mask, frame_mask = torch.ones(4, 8), torch.ones(4, 5)
    params = [sentence, words, frames, *interaction.parameters(), *tpm.parameters()]
    optimiser = torch.optim.Adam(params, lr=0.05)
    _, full, partial = tpm(interaction, sentence, words, word_mask, frames, frame_mask)
    gap_before = (full - partial).mean()
    for _ in range(60):
        loss, full, partial = tpm(interaction, sentence, words, word_mask, frames, frame_mask)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    _, full, partial = tpm(interaction, sentence, words, word_mask, frames, frame_mask)
    assert (full > partial).all()
    assert (full - partial).mean() > gap_before + 0.5
