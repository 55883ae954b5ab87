"""DMAE: dual-modal attention-enhanced interaction, NegNCE and TPM-CL (methods.md §7, official code).

Score (per pair, reranker): weighted token interaction between words and frames,
t2v = Σ_t a_t [max_f S_tf + 0.5·ρ·S_{t,f**}]  (visual clue: f** is the frame most similar to the
word's best frame f*, ρ their similarity), v2t = Σ_f b_f max_t S_tf, score = ½(t2v + v2t); computed
once with the word tokens and once with the sentence as a one-token text and averaged ("att_ti").

Choices (each is a config value):
- The paper's textual clue (spaCy POS mask "TWM") needs spaCy at query time; we use the code's
  learned "wti" weights instead: a_t = softmax_t(Linear(w_t)), b_f = softmax_f(Linear(v_f)), masked.
  This is the alternative methods.md §7.7 proposes and keeps the query side inside the graph.
- The visual clue is computed from the stored frame tokens inside the reranker (one-hot matmuls
  instead of gathers; a segment with one valid frame gets no clue).
- TPM-CL's visual tokens are the T frame tokens (the code's extra token is dropped: T is fixed).
  The predicted frame weights b weight the frames' side (v2t) of the TPM-CL interactions, as the
  predicted word weights a weight the words of the global text t_g.
- Adaptive token masking removes the most important tokens until their cumulative weight reaches
  ``mask_cumulative`` (the token that crosses it included, so at least one is removed) and always
  keeps at least one token.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.model.heads.layers import NEG, masked_max, masked_softmax, unit


@dataclass
class DmaeConfig:
    enabled: bool = True
    visual_clue: float = 0.5           # weight of the neighbouring-frame term (code: 0.5)
    use_sentence: bool = True          # average word and sentence interactions ("att_ti")
    logit_scale: float = 100.0         # NegNCE temperature scale (code: 100)
    positive_weight: float = 1.0       # NegNCE weights (code: 1.0 and 0.5)
    hard_negative_weight: float = 0.5
    mask_cumulative: float = 0.6       # TPM-CL adaptive masking threshold (l3_cis_thresh)
    tpm_margin: float = 0.6            # TPM-CL partial-order margin (l3_margin_loss_thresh)
    negnce_weight: float = 1.0         # loss weights
    tpm_weight: float = 0.5


class DmaeInteraction(nn.Module):
    """Weighted word–frame interaction with the neighbouring-frame visual clue -> [Nt, Nv]."""

    def __init__(self, width: int, cfg: DmaeConfig):
        super().__init__()
        self.cfg = cfg
        self.word_weight = nn.Linear(width, 1)
        self.frame_weight = nn.Linear(width, 1)

    def word_weights(self, words: torch.Tensor, word_mask: torch.Tensor) -> torch.Tensor:
        return masked_softmax(self.word_weight(words).squeeze(-1), word_mask, dim=-1)

    def frame_weights(self, frames: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        return masked_softmax(self.frame_weight(frames).squeeze(-1), frame_mask, dim=-1)

    def interact(self, words: torch.Tensor, word_weights: torch.Tensor, word_mask: torch.Tensor,
                 frames: torch.Tensor, frame_weights: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """words [Nt,L,D] with weights/mask [Nt,L]; frames [Nv,T,D] with weights/mask [Nv,T] -> [Nt,Nv]."""
        words, frames = unit(words), unit(frames)
        t_count = frames.shape[1]
        sim = torch.einsum("nld,vtd->nvlt", words, frames)  # [Nt, Nv, L, T]
        fmask = frame_mask[None, :, None, :]
        masked_sim = torch.where(fmask > 0, sim, torch.full_like(sim, NEG))
        best = masked_sim.amax(dim=3)  # [Nt, Nv, L]
        positions = torch.arange(t_count, device=sim.device)
        best_onehot = (masked_sim.argmax(dim=3).unsqueeze(-1) == positions).to(sim.dtype)  # [Nt,Nv,L,T]
        frame_sim = torch.einsum("vtd,vud->vtu", frames, frames)  # [Nv, T, T]
        usable = frame_mask[:, None, :] * frame_mask[:, :, None] * (1.0 - torch.eye(t_count, device=sim.device))
        frame_sim = torch.where(usable > 0, frame_sim, torch.full_like(frame_sim, NEG))
        rows = torch.einsum("nvlt,vtu->nvlu", best_onehot, frame_sim)  # similarities of f* to every frame
        rho = rows.amax(dim=3)  # [Nt, Nv, L]
        neighbour_onehot = (rows.argmax(dim=3).unsqueeze(-1) == positions).to(sim.dtype)
        neighbour_sim = (neighbour_onehot * sim).sum(dim=3)
        has_neighbour = (rho > NEG / 2).to(sim.dtype)
        t2v_tokens = best + self.cfg.visual_clue * rho * neighbour_sim * has_neighbour
        t2v = (t2v_tokens * word_weights[:, None, :] * word_mask[:, None, :]).sum(dim=2)
        best_word = masked_max(sim, word_mask[:, None, :, None], dim=2)  # [Nt, Nv, T]
        v2t = (best_word * frame_weights[None, :, :] * frame_mask[None, :, :]).sum(dim=2)
        return 0.5 * (t2v + v2t)

    def sentence_interact(self, sentence: torch.Tensor, frames: torch.Tensor, frame_weights: torch.Tensor,
                          frame_mask: torch.Tensor) -> torch.Tensor:
        one = torch.ones_like(sentence[:, :1])
        return self.interact(sentence.unsqueeze(1), one, one, frames, frame_weights, frame_mask)

    def forward(self, sentence, words, word_mask, frames, frame_mask) -> torch.Tensor:
        frame_weights = self.frame_weights(frames, frame_mask)
        score = self.interact(words, self.word_weights(words, word_mask), word_mask, frames, frame_weights,
                              frame_mask)
        if self.cfg.use_sentence:
            score = 0.5 * (score + self.sentence_interact(sentence, frames, frame_weights, frame_mask))
        return score


def neg_nce(scores: torch.Tensor, positives: torch.Tensor, cfg: DmaeConfig) -> torch.Tensor:
    """Negative-aware InfoNCE over rows of [B, B] scores (DMAE code, NegNCE).

    L = w_p · mean_i[-log Σ_{j∈P(i)} p_ij] + w_h · mean_{(i,j)∈H}[-log(1 - p_ij)],
    p = softmax(scale·S) clamped to [1e-6, 1-1e-6], H = negatives beating the row's or column's positive.
    """
    probs = torch.softmax(scores * cfg.logit_scale, dim=1).clamp(1e-6, 1 - 1e-6)
    positive_term = -torch.log((probs * positives).sum(dim=1).clamp(1e-6, 1.0)).mean()
    diagonal = scores.diagonal()
    hard = (~positives) & ((scores > diagonal[:, None]) | (scores > diagonal[None, :]))
    if not bool(hard.any()):
        return cfg.positive_weight * positive_term
    hard_term = -(torch.log(1 - probs) * hard).sum() / hard.sum()
    return cfg.positive_weight * positive_term + cfg.hard_negative_weight * hard_term


class CrossModalWeightPredictor(nn.Module):
    """TPM-CL token-weight predictor: tokens of one modality weighted from the other's (sum to 1)."""

    def __init__(self, width: int, other_tokens: int, own_tokens: int):
        super().__init__()
        self.resample = nn.Linear(other_tokens, own_tokens)  # along the token axis
        self.mlp = nn.Sequential(nn.LayerNorm(2 * width), nn.Linear(2 * width, width // 2), nn.GELU(),
                                 nn.Linear(width // 2, 1), nn.Sigmoid())

    def forward(self, own: torch.Tensor, own_mask: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        """own [B,n,D], own_mask [B,n], other [B,m,D] -> weights [B,n] summing to 1 over valid tokens."""
        other = self.resample(other.transpose(1, 2)).transpose(1, 2)  # [B, n, D]
        weights = self.mlp(torch.cat([other, own], dim=-1)).squeeze(-1) * own_mask
        return weights / weights.sum(dim=1, keepdim=True).clamp_min(1e-6)


def keep_after_masking(weights: torch.Tensor, mask: torch.Tensor, cumulative: float) -> torch.Tensor:
    """Adaptive token masking: drop the most important tokens up to cumulative weight -> keep mask."""
    ordered, order = (weights * mask).sort(dim=1, descending=True)
    before = torch.cumsum(ordered, dim=1) - ordered  # weight of the more important tokens
    drop_sorted = (before < cumulative).to(weights.dtype)
    drop = torch.zeros_like(weights).scatter(1, order, drop_sorted)
    keep = mask * (1.0 - drop)
    # always keep one token: the least important valid one
    least = torch.where(mask > 0, weights, torch.full_like(weights, 2.0)).argmin(dim=1, keepdim=True)
    fallback = torch.zeros_like(keep).scatter(1, least, 1.0)
    empty = (keep.sum(dim=1, keepdim=True) == 0).to(keep.dtype)
    return keep + empty * fallback


class TpmCl(nn.Module):
    """Triplet partial-margin contrastive learning on matched pairs (training only)."""

    def __init__(self, width: int, words: int, frames: int, cfg: DmaeConfig):
        super().__init__()
        self.cfg = cfg
        self.word_predictor = CrossModalWeightPredictor(width, frames, words)
        self.frame_predictor = CrossModalWeightPredictor(width, 1, frames)

    def forward(self, interaction: DmaeInteraction, sentence, words, word_mask, frames, frame_mask):
        """Matched rows (text i, video i) -> (loss, full scores [B, 3], partial scores [B, 3])."""
        cfg = self.cfg
        words_u, frames_u, sentence_u = unit(words), unit(frames), unit(sentence)
        a = self.word_predictor(words_u, word_mask, frames_u)  # [B, L]
        b = self.frame_predictor(frames_u, frame_mask, sentence_u.unsqueeze(1))  # [B, T]
        keep_words = keep_after_masking(a.detach(), word_mask, cfg.mask_cumulative)
        keep_frames = keep_after_masking(b.detach(), frame_mask, cfg.mask_cumulative)
        a_partial = a * keep_words / (a * keep_words).sum(dim=1, keepdim=True).clamp_min(1e-6)
        text_global = unit(torch.einsum("bl,bld->bd", a, words_u))
        text_partial = unit(torch.einsum("bl,bld->bd", a_partial, words_u))

        b_partial = b * keep_frames / (b * keep_frames).sum(dim=1, keepdim=True).clamp_min(1e-6)

        def one_token(text: torch.Tensor, weights: torch.Tensor, fmask: torch.Tensor) -> torch.Tensor:
            return interaction.sentence_interact(text, frames, weights, fmask).diagonal()  # matched pairs

        full = torch.stack([one_token(sentence_u, b, frame_mask), one_token(text_global, b, frame_mask),
                            one_token(text_global, b, frame_mask)], dim=1)
        partial = torch.stack([one_token(sentence_u, b_partial, keep_frames),
                               one_token(text_global, b_partial, keep_frames),
                               one_token(text_partial, b, frame_mask)], dim=1)
        loss = F.relu(cfg.tpm_margin - (full - partial)).mean(dim=0).sum()
        return loss, full, partial
