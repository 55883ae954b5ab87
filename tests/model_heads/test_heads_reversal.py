"""Time-reversal negatives: each caption against its own clip played backwards (training only)."""
from __future__ import annotations

import pytest
import torch

from engine.model.heads.reversal import ReversalConfig, reversal_loss, reverse_frames

CAPTIONS = ["a big red circle moving left", "a small blue square moving right",
            "a big green star growing", "a small red triangle staying still"]


def test_reverse_frames_reverses_the_valid_frames_and_leaves_padding_in_place():
    features = torch.arange(2 * 4, dtype=torch.float32).reshape(2, 4, 1)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])
    out = reverse_frames(features, mask)[..., 0]
    assert out.tolist() == [[2.0, 1.0, 0.0, 3.0], [7.0, 6.0, 5.0, 4.0]]
    assert torch.equal(reverse_frames(out.unsqueeze(-1), mask), features)   # twice is the identity


def test_the_loss_is_log_two_at_a_tie_and_falls_as_the_clip_beats_its_reversal():
    tie = reversal_loss(torch.tensor([0.3, 0.1]), torch.tensor([0.3, 0.1]), 50.0)
    assert float(tie) == pytest.approx(float(torch.log(torch.tensor(2.0))))
    better = reversal_loss(torch.tensor([0.5]), torch.tensor([0.3]), 50.0)
    worse = reversal_loss(torch.tensor([0.3]), torch.tensor([0.5]), 50.0)
    assert float(better) < 1e-3 < 9.0 < float(worse)


def _batch(model, tokenize, frames_of, order_matters):
    features = frames_of(4, width=model.width).requires_grad_(True)
    return {"frame_features": features, "frame_mask": torch.ones(4, features.shape[1]),
            "token_ids": tokenize(CAPTIONS), "video_ids": torch.arange(4),
            "order_matters": torch.tensor(order_matters)}


def test_the_stack_adds_the_loss_and_it_reaches_the_frames(make_model, tokenize, frames_of):
    model = make_model("stack_full", reversal=ReversalConfig(enabled=True, weight=2.0))
    batch = _batch(model, tokenize, frames_of, [True, True, True, False])
    losses = model.losses(batch)
    assert torch.isfinite(losses["reversal"]) and float(losses["reversal"].detach()) > 0
    assert float(losses["total"].detach()) == pytest.approx(sum(float(v.detach()) for k, v in losses.items() if k != "total"),
                                                   rel=1e-5)
    losses["reversal"].backward()
    grad = batch["frame_features"].grad
    assert float(grad[:3].abs().sum()) > 0
    assert float(grad[3].abs().sum()) == 0.0     # staying still: its reversal is no negative


def test_scores_blind_to_order_get_no_signal_from_it(make_model, tokenize, frames_of):
    # mean pooling and token max-mean score a clip and its reversal alike: the loss is log 2 twice, flat
    model = make_model("stack_plain", reversal=ReversalConfig(enabled=True))
    batch = _batch(model, tokenize, frames_of, [True, True, True, True])
    loss = model.losses(batch)["reversal"]
    assert float(loss.detach()) == pytest.approx(2 * float(torch.log(torch.tensor(2.0))), abs=1e-4)
    loss.backward()
    assert float(batch["frame_features"].grad.abs().max()) < 1e-6


def test_no_loss_without_clips_whose_order_matters_or_when_off(make_model, tokenize, frames_of):
    on = make_model("stack_full", reversal=ReversalConfig(enabled=True))
    assert "reversal" not in on.losses(_batch(on, tokenize, frames_of, [False] * 4))
    off = make_model("stack_full")
    assert "reversal" not in off.losses(_batch(off, tokenize, frames_of, [True] * 4))


def test_kept_in_the_stack_config(make_model):
    from engine.model.stack import StackConfig

    model = make_model("stack_full", reversal=ReversalConfig(enabled=True, weight=0.5))
    assert StackConfig.from_dict(model.cfg.to_dict()).reversal == ReversalConfig(enabled=True, weight=0.5)
