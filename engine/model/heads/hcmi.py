"""HCMI: hierarchical cross-modal interaction (methods.md §6).

Video side (per segment, precomputable): frames + frame position embeddings -> masked self-attention
-> frame tokens [T]; adaptive clustering of frame tokens into K clip tokens; attention pooling of the
clips into one video token (the stage-1 vector). Text side: words -> P phrase tokens by learned-query
attention pooling; the sentence is CLIP's end-of-text vector. Scores: video–sentence (cosine),
clip–phrase (order-aware soft alignment), frame–word (token max-mean).

Choices where the sources are silent (each is a config value):
- Clustering = one round of slot-style soft assignment: each frame's membership is a softmax over
  the K clusters (frames compete, which makes it a clustering, not K independent poolings), plus a
  learned Gaussian prior over relative time per cluster (``position_prior``). The prior makes clip k
  mostly the k-th part of the segment, so clip slots carry temporal position; their content also
  carries it through the frame position embeddings.
- Phrases use the same learned position prior over word positions, so phrase p is mostly the p-th
  part of the caption ("a big red circle moving left" / "then a small blue star growing").
- Clip–phrase matching is order-aware: a learned alignment bias [P, K], initialised to prefer the
  diagonal (early phrases with early clips, ``order_prior``), is added to the similarity logits of a
  soft alignment, and a purely positional alignment (phrase p against the clips the bias expects,
  whatever their content) is mixed in with ``order_weight``. Without that second term a strong
  content match anywhere in the segment would win and the score would stay blind to "A, then B"
  vs "B, then A", as plain max-mean is.
- The temporal encoder's output enters through a residual on the raw frames (CLIP4Clip seqTransf),
  so an untrained head starts close to mean-pooled CLIP.
- ``frame_differences`` (off by default; on for the shapes model): each frame's change from the frame
  before, through a linear map that starts as the identity, is added to the attention input and to the
  token, as CLIP2Video's temporal difference block feeds differences to its temporal transformer. The
  changes telescope, so any pooling of the tokens holds last minus first frame: a direction of motion
  that attention alone, learning from a residual that starts at zero, did not find within the shapes
  recipe's hour (benchmarks/shapes_probe.py: the clip vector told motion no better than before).
  ``difference_gain`` starts the map at a multiple of the identity: the pooled video vector holds about
  gain/T of last minus first, so at gain 1 and T = 8 the direction is an eighth of a frame's change, and the
  shapes model still missed it (RESULTS.md, "Three more pilots").
- Adaptive label denoising: P(i) = {i} ∪ {j: cos(v_i, v_j) > cos(v_i, v_i')} on stop-gradient
  video vectors of two frame samplings; marginal sample enhancement: symmetric triplet on the hardest
  in-batch negative of the fused HCMI score (margin 0.15, the middle of the proposed 0.1–0.2).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.model.heads.layers import (
    AttentionBlock, PositionPrior, heads_for, masked_max, masked_mean, masked_softmax, relative_positions, unit)
from engine.model.heads.losses import symmetric_nce, symmetric_triplet


@dataclass
class HcmiConfig:
    enabled: bool = True
    temporal_layers: int = 1           # self-attention blocks over the T frames
    head_width: int = 32               # attention head width; heads = D // head_width
    mlp_ratio: float = 2.0             # hidden width of the blocks' MLP, times D
    position_prior: float = 1.0        # strength of the clip / phrase relative-position priors
    order_prior: float = 8.0           # initial diagonal preference of the clip–phrase alignment
    align_temperature: float = 0.1     # softness of the clip–phrase alignment
    order_weight: float = 0.5          # share of the purely positional alignment in the clip–phrase score
    weight_video_sentence: float = 1.0  # level weights of the HCMI score
    weight_clip_phrase: float = 1.0
    weight_frame_word: float = 1.0
    logit_scale: float = 50.0          # 1/temperature of the hierarchical contrastive losses
    contrastive_weight: float = 1.0    # loss weight of the three-level InfoNCE (summed over levels)
    margin: float = 0.15               # marginal sample enhancement triplet margin
    margin_weight: float = 0.5         # loss weight of the triplet
    denoise: bool = True               # add latent positives when a second frame sampling is given
    frame_differences: bool = False    # add each frame's change from the one before to its token (CLIP2Video's TDB)
    difference_gain: float = 1.0       # the difference map starts as the identity times this


class TemporalFrameEncoder(nn.Module):
    """Frame features [B,T,D] + position embeddings -> masked self-attention -> frame tokens [B,T,D]."""

    def __init__(self, width: int, frames: int, cfg: HcmiConfig):
        super().__init__()
        self.position = nn.Parameter(torch.randn(frames, width) * 0.02)
        heads = heads_for(width, cfg.head_width)
        self.blocks = nn.ModuleList(AttentionBlock(width, heads, cfg.mlp_ratio) for _ in range(cfg.temporal_layers))
        self.ln = nn.LayerNorm(width)
        self.proj = nn.Linear(width, width)
        nn.init.normal_(self.proj.weight, std=0.02)
        nn.init.zeros_(self.proj.bias)
        if cfg.frame_differences:
            # Starts as the identity (times difference_gain): the tokens then sum to the frames plus (last - first
            # frame) from the start, the direction of motion when frame vectors keep position (heads/layout.py).
            self.difference = nn.Linear(width, width)
            with torch.no_grad():
                self.difference.weight.copy_(torch.eye(width) * cfg.difference_gain)
            nn.init.zeros_(self.difference.bias)

    def forward(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        mask = mask.to(frames.dtype)
        x = frames + self.position  # [B, T, D]
        change = None
        if hasattr(self, "difference"):
            step = (frames[:, 1:] - frames[:, :-1]) * (mask[:, 1:] * mask[:, :-1]).unsqueeze(-1)
            change = self.difference(torch.cat([torch.zeros_like(frames[:, :1]), step], dim=1))
            x = x + change
        for block in self.blocks:
            x = block(x, mask)
        tokens = frames + self.proj(self.ln(x))
        if change is not None:
            tokens = tokens + change
        return tokens * mask.unsqueeze(-1)  # padding rows are exactly zero


class FrameClusterer(nn.Module):
    """Adaptive clustering of frame tokens [B,T,D] into K clip tokens [B,K,D]."""

    def __init__(self, width: int, clips: int, cfg: HcmiConfig):
        super().__init__()
        self.queries = nn.Parameter(torch.randn(clips, width) * 0.02)
        self.ln = nn.LayerNorm(width)
        self.key = nn.Linear(width, width)
        self.prior = PositionPrior(clips, cfg.position_prior)
        self.slot_position = nn.Parameter(torch.randn(clips, width) * 0.02)
        self.ln_mlp = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, int(width * cfg.mlp_ratio)), nn.GELU(),
                                 nn.Linear(int(width * cfg.mlp_ratio), width))
        self.scale = width ** -0.5

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keys = self.key(self.ln(tokens))  # [B, T, D]
        logits = torch.einsum("btd,kd->btk", keys, self.queries) * self.scale
        logits = logits + self.prior(relative_positions(mask))
        membership = torch.softmax(logits, dim=-1) * mask.unsqueeze(-1).to(tokens.dtype)  # [B, T, K]
        weights = membership / membership.sum(dim=1, keepdim=True).clamp_min(1e-6)
        clips = torch.einsum("btk,btd->bkd", weights, tokens) + self.slot_position
        return clips + self.mlp(self.ln_mlp(clips))


class VideoPool(nn.Module):
    """K clip tokens -> one video vector (learned-query attention pooling; mean at initialisation)."""

    def __init__(self, width: int):
        super().__init__()
        self.query = nn.Parameter(torch.zeros(width))
        self.ln = nn.LayerNorm(width)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.ln(clips) @ self.query * clips.shape[-1] ** -0.5, dim=1)  # [B, K]
        return unit(torch.einsum("bk,bkd->bd", weights, clips))


class PhrasePooler(nn.Module):
    """Words [N,L,D] (masked) -> P phrase tokens [N,P,D] by learned-query attention pooling."""

    def __init__(self, width: int, phrases: int, context_length: int, cfg: HcmiConfig):
        super().__init__()
        self.queries = nn.Parameter(torch.randn(phrases, width) * 0.02)
        self.word_position = nn.Parameter(torch.randn(context_length, width) * 0.02)
        self.ln = nn.LayerNorm(width)
        self.key = nn.Linear(width, width)
        self.prior = PositionPrior(phrases, cfg.position_prior)
        self.slot_position = nn.Parameter(torch.randn(phrases, width) * 0.02)
        self.scale = width ** -0.5

    def forward(self, words: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keys = self.key(self.ln(words)) + self.word_position[: words.shape[1]]
        logits = torch.einsum("nld,pd->nlp", keys, self.queries) * self.scale
        logits = logits + self.prior(relative_positions(mask))
        weights = masked_softmax(logits, mask.unsqueeze(-1), dim=1)  # over words
        return torch.einsum("nlp,nld->npd", weights, words) + self.slot_position


def order_prior_matrix(phrases: int, clips: int, strength: float) -> torch.Tensor:
    p = (torch.arange(phrases, dtype=torch.float32) + 0.5) / phrases
    k = (torch.arange(clips, dtype=torch.float32) + 0.5) / clips
    return -strength * (p[:, None] - k[None, :]).pow(2)


def token_max_mean(words: torch.Tensor, word_mask: torch.Tensor,
                   frames: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """DRL/X-CLIP token interaction for all pairs: ½[mean_w max_f + mean_f max_w] cos -> [Nt, Nv]."""
    sim = torch.einsum("nld,vtd->nvlt", unit(words), unit(frames))
    wmask = word_mask[:, None, :, None]
    fmask = frame_mask[None, :, None, :]
    best_frame = masked_max(sim, fmask, dim=3)  # [Nt, Nv, L]
    best_word = masked_max(sim, wmask, dim=2)  # [Nt, Nv, T]
    t2v = masked_mean(best_frame, word_mask[:, None, :], dim=2)
    v2t = masked_mean(best_word, frame_mask[None, :, :], dim=2)
    return 0.5 * (t2v + v2t)


class HcmiScorer(nn.Module):
    """The three HCMI level scores for all pairs, and their weighted sum."""

    def __init__(self, phrases: int, clips: int, cfg: HcmiConfig):
        super().__init__()
        self.cfg = cfg
        self.alignment_bias = nn.Parameter(order_prior_matrix(phrases, clips, cfg.order_prior))

    def clip_phrase(self, phrases: torch.Tensor, clips: torch.Tensor) -> torch.Tensor:
        """Order-aware clip–phrase score [Nt, Nv]: a content-driven soft alignment (with the order bias)
        mixed with a purely positional one (phrase p against the clips where it is expected)."""
        sim = torch.einsum("npd,vkd->nvpk", unit(phrases), unit(clips))  # [Nt, Nv, P, K]
        logits = sim / self.cfg.align_temperature + self.alignment_bias
        content = 0.5 * ((torch.softmax(logits, dim=3) * sim).sum(dim=3).mean(dim=2) +
                         (torch.softmax(logits, dim=2) * sim).sum(dim=2).mean(dim=2))
        ordered = 0.5 * ((torch.softmax(self.alignment_bias, dim=1) * sim).sum(dim=3).mean(dim=2) +
                         (torch.softmax(self.alignment_bias, dim=0) * sim).sum(dim=2).mean(dim=2))
        return (1.0 - self.cfg.order_weight) * content + self.cfg.order_weight * ordered

    def forward(self, sentence, words, word_mask, phrases, video_vector, clips, frames, frame_mask):
        levels = {
            "video_sentence": unit(sentence) @ unit(video_vector).t(),
            "clip_phrase": self.clip_phrase(phrases, clips),
            "frame_word": token_max_mean(words, word_mask, frames, frame_mask),
        }
        cfg = self.cfg
        weights = {"video_sentence": cfg.weight_video_sentence, "clip_phrase": cfg.weight_clip_phrase,
                   "frame_word": cfg.weight_frame_word}
        total = sum(weights[k] * levels[k] for k in levels) / max(sum(weights.values()), 1e-6)
        return total, levels


def latent_positives(video: torch.Tensor, video_view2: torch.Tensor) -> torch.Tensor:
    """HCMI adaptive label denoising -> [Nt, Nv] bool of latent positive (text j, video i) pairs.

    Video j is a latent positive of video i when it is closer to v_i than v_i's own second view.
    """
    video, video_view2 = unit(video.detach()), unit(video_view2.detach())
    cross = video @ video.t()  # [B, B]
    own = (video * video_view2).sum(dim=-1, keepdim=True)  # [B, 1]
    latent = cross > own
    return latent.t()  # text index first: (v_i, t_j) becomes positives[j, i]


def hcmi_losses(total: torch.Tensor, levels: dict[str, torch.Tensor], positives: torch.Tensor,
                cfg: HcmiConfig) -> dict[str, torch.Tensor]:
    contrastive = sum(symmetric_nce(s, positives, cfg.logit_scale) for s in levels.values())
    return {
        "hcmi_contrastive": cfg.contrastive_weight * contrastive,
        "hcmi_margin": cfg.margin_weight * symmetric_triplet(total, positives, cfg.margin),
    }
