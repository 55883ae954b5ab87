"""HBCI: hierarchical bi-directional conceptual interaction (methods.md §5; reconstruction [I]).

Two granularity levels share one module each: level 0 = (frame tokens, word tokens), level 1 =
(clip tokens, phrase tokens). Per level and pair:
1. text-guided attention: v̄ = Σ_t softmax(scale·cos(s, V_t)) V_t over the video tokens;
   video-guided attention: t̄ = Σ_j softmax(scale·cos(v̄, X_j)) X_j over the text tokens
   (the bi-directional counterpart, so that the text side is also chosen by the video);
2. decoupling: learned projections (identity at start) split t̄ and v̄ into C concepts of D/C;
3. BCI, R rounds: α = softmax_c MLP([t^c; v^c]) from both modalities' concepts gates the update
   of the video concepts from the text concepts (v^c += α_c W_tv t^c), and β the reverse;
4. S = Σ_c w_c cos(t^c, v^c), w = softmax_c MLP([t^c; v^c]).
Score = Σ_l rate_l S^(l). Losses: per-level InfoNCE, cross-level similarity distillation
(KL from the finer level, detached, to the coarser one: the finer level is the better-informed
teacher as in HBI) and the DiCoSA decorrelation of matched pairs' concepts (α = 0.01, β = 0.005).

Choices: concept weights go through a softmax (DiCoSA uses raw MLP outputs; a softmax keeps the
score a convex mix of cosines, on the same scale as the other heads' scores); the BCI weights are
shared across rounds; guidance uses cosines times ``guide_scale`` (DiCoSA: raw features / 3).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from engine.model.heads.layers import masked_softmax, unit
from engine.model.heads.losses import distill_kl, symmetric_nce


@dataclass
class HbciConfig:
    enabled: bool = True
    concepts: int = 8                  # C concept sub-spaces (DiCoSA: 8); must divide D
    rounds: int = 2                    # R bi-directional interaction rounds (proposed 2–3)
    guide_scale: float = 10.0          # sharpness of text-/video-guided attention
    level_rates: list[float] = field(default_factory=lambda: [0.5, 0.5])  # frame–word, clip–phrase
    logit_scale: float = 50.0          # InfoNCE / distillation temperature
    contrastive_weight: float = 1.0    # loss weights
    distill_weight: float = 1.0
    decorrelation_weight: float = 1.0
    decorrelation_alpha: float = 0.01
    decorrelation_beta: float = 0.005


def _mlp(inputs: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.GELU(), nn.Linear(hidden, 1))


class ConceptLevel(nn.Module):
    """One granularity level of HBCI: guided attention, decoupling, BCI rounds, concept similarity."""

    def __init__(self, width: int, cfg: HbciConfig):
        super().__init__()
        if width % cfg.concepts:
            raise ValueError(f"HBCI: {cfg.concepts} concepts do not divide the embedding width {width}")
        self.cfg = cfg
        self.concept_width = d = width // cfg.concepts
        self.text_split = nn.Linear(width, width)
        self.video_split = nn.Linear(width, width)
        for layer in (self.text_split, self.video_split):
            nn.init.eye_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.text_to_video_gate = _mlp(2 * d, 2 * d)
        self.video_to_text_gate = _mlp(2 * d, 2 * d)
        self.text_to_video = nn.Linear(d, d)
        self.video_to_text = nn.Linear(d, d)
        for layer in (self.text_to_video, self.video_to_text):
            nn.init.normal_(layer.weight, std=0.02)
            nn.init.zeros_(layer.bias)
        self.concept_weight = _mlp(2 * d, 2 * d)

    def concepts(self, sentence, text_tokens, text_mask, video_tokens, video_mask):
        """-> text and video concepts of every pair, each [Nt, Nv, C, D/C]."""
        scale = self.cfg.guide_scale
        video_u = unit(video_tokens)
        guide = torch.einsum("nd,vtd->nvt", unit(sentence), video_u) * scale
        video_pool = torch.einsum("nvt,vtd->nvd", masked_softmax(guide, video_mask[None], dim=2), video_tokens)
        back = torch.einsum("nvd,nld->nvl", unit(video_pool), unit(text_tokens)) * scale
        text_pool = torch.einsum("nvl,nld->nvd", masked_softmax(back, text_mask[:, None, :], dim=2), text_tokens)
        shape = (*text_pool.shape[:2], self.cfg.concepts, self.concept_width)
        text_c = self.text_split(unit(text_pool)).reshape(shape)
        video_c = self.video_split(unit(video_pool)).reshape(shape)
        for _ in range(self.cfg.rounds):
            alpha = torch.softmax(self.text_to_video_gate(torch.cat([text_c, video_c], -1)), dim=2)
            beta = torch.softmax(self.video_to_text_gate(torch.cat([video_c, text_c], -1)), dim=2)
            video_c, text_c = (video_c + alpha * self.text_to_video(text_c),
                               text_c + beta * self.video_to_text(video_c))
        return text_c, video_c

    def forward(self, sentence, text_tokens, text_mask, video_tokens, video_mask):
        text_c, video_c = self.concepts(sentence, text_tokens, text_mask, video_tokens, video_mask)
        weights = torch.softmax(self.concept_weight(torch.cat([text_c, video_c], -1)), dim=2).squeeze(-1)
        cos = (unit(text_c) * unit(video_c)).sum(-1)  # [Nt, Nv, C]
        return (weights * cos).sum(-1), text_c, video_c


class HbciHead(nn.Module):
    def __init__(self, width: int, cfg: HbciConfig):
        super().__init__()
        if len(cfg.level_rates) != 2:
            raise ValueError("HBCI level_rates needs two values: frame–word and clip–phrase")
        self.cfg = cfg
        self.levels = nn.ModuleList([ConceptLevel(width, cfg), ConceptLevel(width, cfg)])

    def forward(self, sentence, words, word_mask, phrases, clips, frames, frame_mask):
        """-> (score [Nt,Nv], per-level scores, per-level (text concepts, video concepts))."""
        phrase_mask = torch.ones(phrases.shape[:2], dtype=phrases.dtype, device=phrases.device)
        clip_mask = torch.ones(clips.shape[:2], dtype=clips.dtype, device=clips.device)
        s0, t0, v0 = self.levels[0](sentence, words, word_mask, frames, frame_mask)
        s1, t1, v1 = self.levels[1](sentence, phrases, phrase_mask, clips, clip_mask)
        rates = self.cfg.level_rates
        return rates[0] * s0 + rates[1] * s1, [s0, s1], [(t0, v0), (t1, v1)]


def decorrelation(text_c: torch.Tensor, video_c: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    """DiCoSA decorrelation on matched pairs: concept c of the text aligns with concept c of the
    video, and with no other (Barlow-Twins-like cross-correlation over the concept axis)."""
    t = text_c.diagonal(dim1=0, dim2=1).permute(2, 0, 1)  # [B, C, d]
    v = video_c.diagonal(dim1=0, dim2=1).permute(2, 0, 1)

    def standardise(x: torch.Tensor) -> torch.Tensor:
        return (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True).clamp_min(1e-4)

    corr = torch.einsum("bcd,bed->ce", standardise(t), standardise(v)) / (t.shape[0] * t.shape[-1])
    eye = torch.eye(corr.shape[0], device=corr.device, dtype=corr.dtype)
    return alpha * ((corr.diagonal() - 1) ** 2).sum() + beta * ((corr * (1 - eye)) ** 2).sum()


def hbci_losses(levels: list[torch.Tensor], concepts, positives: torch.Tensor,
                cfg: HbciConfig) -> dict[str, torch.Tensor]:
    contrastive = sum(symmetric_nce(s, positives, cfg.logit_scale) for s in levels)
    distill = distill_kl(levels[1], levels[0], cfg.logit_scale)
    decor = sum(decorrelation(t, v, cfg.decorrelation_alpha, cfg.decorrelation_beta) for t, v in concepts)
    return {
        "hbci_contrastive": cfg.contrastive_weight * contrastive,
        "hbci_distill": cfg.distill_weight * distill,
        "hbci_decorrelation": cfg.decorrelation_weight * decor,
    }
