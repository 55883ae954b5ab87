"""HBCI: guided attention, concept decoupling, bi-directional interaction, cross-level distillation."""
from __future__ import annotations

import pytest
import torch

from engine.model.heads.hbci import HbciConfig, HbciHead, decorrelation, hbci_losses
from engine.model.heads.losses import distill_kl, positive_matrix


def _inputs(nt=2, nv=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(sentence=torch.randn(nt, 16, generator=g), words=torch.randn(nt, 7, 16, generator=g),
                word_mask=torch.ones(nt, 7), phrases=torch.randn(nt, 4, 16, generator=g),
                clips=torch.randn(nv, 4, 16, generator=g), frames=torch.randn(nv, 5, 16, generator=g),
                frame_mask=torch.ones(nv, 5))


def test_shapes_padding_and_gradients():
    torch.manual_seed(0)
    head = HbciHead(16, HbciConfig(concepts=4))
    x = _inputs()
    x["word_mask"][1, 5:] = 0
    x["frame_mask"][2, 3:] = 0
    score, levels, concepts = head(**x)
    assert score.shape == (2, 3) and len(levels) == 2 and concepts[0][0].shape == (2, 3, 4, 4)
    noisy = {k: v.clone() for k, v in x.items()}
    noisy["words"][1, 5:] = 6.0
    noisy["frames"][2, 3:] = -6.0
    assert torch.allclose(head(**noisy)[0], score, atol=1e-5)
    score.sum().backward()
    for name, parameter in head.named_parameters():
        assert parameter.grad is not None, name


def test_interaction_is_bi_directional():
    """The video's concepts depend on the text and the text's concepts on the video."""
    torch.manual_seed(0)
    level = HbciHead(16, HbciConfig(concepts=4)).levels[0]
    x = _inputs(nt=2, nv=1)
    text_c, video_c = level.concepts(x["sentence"], x["words"], x["word_mask"], x["frames"], x["frame_mask"])
    assert not torch.allclose(video_c[0, 0], video_c[1, 0], atol=1e-4)  # one video, two texts
    other = _inputs(nt=1, nv=2, seed=1)
    text_c, _ = level.concepts(x["sentence"][:1], x["words"][:1], x["word_mask"][:1], other["frames"],
                               other["frame_mask"])
    assert not torch.allclose(text_c[0, 0], text_c[0, 1], atol=1e-4)  # one text, two videos


def test_losses_on_a_batch():
    torch.manual_seed(0)
    head = HbciHead(16, HbciConfig(concepts=4))
    x = _inputs(nt=3, nv=3)
    _, levels, concepts = head(**x)
    losses = hbci_losses(levels, concepts, positive_matrix(3, None, torch.device("cpu")), head.cfg)
    assert set(losses) == {"hbci_contrastive", "hbci_distill", "hbci_decorrelation"}
    sum(losses.values()).backward()


def test_distillation_vanishes_when_levels_agree_and_teacher_is_frozen():
    teacher = torch.randn(4, 4, requires_grad=True)
    assert distill_kl(teacher.detach(), teacher, 50.0) < 1e-6
    student = torch.randn(4, 4, requires_grad=True)
    distill_kl(student, teacher, 50.0).backward()
    assert teacher.grad is None and student.grad is not None


def test_decorrelation_rewards_aligned_independent_concepts():
    base = torch.randn(6, 4, 32)
    aligned = decorrelation(base.unsqueeze(1).expand(6, 6, 4, 32), base.unsqueeze(0).expand(6, 6, 4, 32), 1.0, 1.0)
    shuffled = decorrelation(base.unsqueeze(1).expand(6, 6, 4, 32),
                             base.flip(1).unsqueeze(0).expand(6, 6, 4, 32), 1.0, 1.0)
    assert aligned < shuffled


def test_concepts_must_divide_the_width():
    with pytest.raises(ValueError, match="divide"):
        HbciHead(18, HbciConfig(concepts=4))
