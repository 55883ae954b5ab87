"""Shared losses and masked helpers."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from engine.model.heads.fusion import FusionConfig, ScoreFusion
from engine.model.heads.layers import masked_max, masked_mean, masked_softmax
from engine.model.heads.losses import multi_positive_nce, positive_matrix, symmetric_nce


def test_infonce_with_one_positive_is_cross_entropy():
    logits = torch.randn(5, 5)
    eye = positive_matrix(5, None, torch.device("cpu"))
    assert torch.isclose(multi_positive_nce(logits, eye), F.cross_entropy(logits, torch.arange(5)))
    both = 0.5 * (F.cross_entropy(logits * 3, torch.arange(5)) + F.cross_entropy(logits.t() * 3, torch.arange(5)))
    assert torch.isclose(symmetric_nce(logits, eye, 3.0), both)


def test_captions_of_one_video_are_all_positives():
    positives = positive_matrix(3, torch.tensor([7, 7, 8]), torch.device("cpu"))
    assert positives.tolist() == [[True, True, False], [True, True, False], [False, False, True]]
    logits = torch.tensor([[2.0, 2.0, -5.0], [2.0, 2.0, -5.0], [0.0, 0.0, 3.0]])
    single = positive_matrix(3, None, torch.device("cpu"))
    assert multi_positive_nce(logits, positives) < multi_positive_nce(logits, single)


def test_masked_reductions_ignore_masked_values():
    x = torch.tensor([[1.0, 5.0, 100.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    assert masked_max(x, mask, 1).item() == 5.0
    assert masked_mean(x, mask, 1).item() == 3.0
    weights = masked_softmax(x, mask, 1)
    assert weights[0, 2] == 0 and torch.isclose(weights.sum(), torch.tensor(1.0))
    assert torch.all(masked_softmax(x, torch.zeros_like(mask), 1) == 0)


def test_fusion_weights_and_unknown_names():
    fusion = ScoreFusion(["stage1", "hcmi"], FusionConfig(weights={"stage1": 0.5, "hcmi": 2.0}))
    scores = {"stage1": torch.ones(2, 2), "hcmi": torch.full((2, 2), 3.0)}
    assert torch.allclose(fusion(scores), torch.full((2, 2), 6.5))
    assert torch.allclose(fusion(scores, frozenset({"hcmi"})), torch.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="every fusion component"):
        fusion(scores, frozenset({"hcmi", "stage1"}))
    with pytest.raises(ValueError, match="unknown components"):
        ScoreFusion(["stage1"], FusionConfig(weights={"hmci": 1.0}))
