"""Losses shared by several heads: (multi-positive) InfoNCE, symmetric triplet, score distillation.

A batch row i pairs text i with video i. ``positives`` [Nt, Nv] (bool) marks every pair that counts
as matching: the diagonal, other captions of the same video (``video_ids``) and, for HCMI, latent
positives found by label denoising.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.model.heads.layers import NEG


def positive_matrix(batch_size: int, video_ids: torch.Tensor | None, device: torch.device) -> torch.Tensor:
    """[B, B] bool: text i matches video j when they are the same row or share a video id."""
    eye = torch.eye(batch_size, dtype=torch.bool, device=device)
    if video_ids is None:
        return eye
    return eye | (video_ids[:, None] == video_ids[None, :])


def multi_positive_nce(logits: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """-log( sum_{j in P(i)} e^{l_ij} / sum_j e^{l_ij} ), averaged over rows (one direction)."""
    log_all = torch.logsumexp(logits, dim=1)
    log_pos = torch.logsumexp(torch.where(positives, logits, torch.full_like(logits, NEG)), dim=1)
    return (log_all - log_pos).mean()


def symmetric_nce(scores: torch.Tensor, positives: torch.Tensor, logit_scale: torch.Tensor | float) -> torch.Tensor:
    """½[t2v + v2t] multi-positive InfoNCE over a square score matrix [B, B] (CLIP4Clip CrossEn)."""
    logits = scores * logit_scale
    return 0.5 * (multi_positive_nce(logits, positives) + multi_positive_nce(logits.t(), positives.t()))


def symmetric_triplet(scores: torch.Tensor, positives: torch.Tensor, margin: float) -> torch.Tensor:
    """HCMI marginal sample enhancement: hinge on the hardest in-batch negative, both directions.

    [m - S(v_i,t_i) + max_{j not positive} S(v_i,t_j)]_+ + [m - S(t_i,v_i) + max_j S(t_i,v_j)]_+
    """
    diagonal = scores.diagonal()
    negatives = torch.where(positives, torch.full_like(scores, NEG), scores)
    hardest_video = negatives.amax(dim=1)  # per text: most confusable video
    hardest_text = negatives.amax(dim=0)  # per video: most confusable text
    has_video = (~positives).any(dim=1).to(scores.dtype)
    has_text = (~positives).any(dim=0).to(scores.dtype)
    loss = F.relu(margin - diagonal + hardest_video) * has_video + F.relu(margin - diagonal + hardest_text) * has_text
    return loss.mean()


def distill_kl(student: torch.Tensor, teacher: torch.Tensor, scale: float) -> torch.Tensor:
    """KL(softmax(teacher) || softmax(student)) over rows and columns; the teacher is not updated."""
    teacher = teacher.detach() * scale
    student = student * scale
    rows = F.kl_div(F.log_softmax(student, dim=1), F.log_softmax(teacher, dim=1), log_target=True,
                    reduction="batchmean")
    cols = F.kl_div(F.log_softmax(student.t(), dim=1), F.log_softmax(teacher.t(), dim=1), log_target=True,
                    reduction="batchmean")
    return 0.5 * (rows + cols)
