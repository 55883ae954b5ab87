"""The plain CLIP model: open_clip towers, mean pooling over frames, token-wise max-mean rerank.

It is the baseline bundle (and the tiny test bundle): no trained heads, K=1 clip token,
P=1 phrase token. Its reranker is the token-wise interaction of DRL/CLIP4Clip
(/work/shared/methods.md): ½[mean_words max_frames cos(w,f) + mean_frames max_words cos(w,f)].
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from engine.model import backbone
from engine.model.backbone import Backbone
from engine.model.exportable import ExportSpec, unit

_NEG = -1e4  # stands for -inf in masked maxima; finite so that an all-padding row stays finite


class FrameEncoder(nn.Module):
    def __init__(self, clip: nn.Module):
        super().__init__()
        self.clip = clip

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return backbone.frame_features(self.clip, pixels)  # [N, D]


class MeanClipEncoder(nn.Module):
    """Masked mean of the frame features; the clip token is that (normalised) mean."""

    def forward(self, frame_features: torch.Tensor, frame_mask: torch.Tensor):
        mask = frame_mask.to(frame_features.dtype).unsqueeze(-1)  # [B, T, 1]
        frames = frame_features * mask  # [B, T, D], padding zeroed
        mean = frames.sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)  # [B, D]
        clip_vector = unit(mean)
        return clip_vector, clip_vector.unsqueeze(1), frames


class TextEncoder(nn.Module):
    def __init__(self, clip: nn.Module):
        super().__init__()
        self.clip = clip

    def forward(self, token_ids: torch.Tensor):
        words = backbone.word_tokens(self.clip, token_ids)  # [N, L, D]
        sentence = backbone.sentence_vector(self.clip, token_ids, words)  # [N, D]
        return sentence, words, sentence.unsqueeze(1), backbone.word_mask(self.clip, token_ids)


def max_mean_scores(word_tokens: torch.Tensor, word_mask: torch.Tensor,
                    frame_tokens: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """Token-wise interaction of one query [1,L,D] with N candidates [N,T,D] -> [N].

    Cosine similarities, masked on both sides so that padding never changes a score.
    """
    words = unit(word_tokens[0])  # [L, D]
    frames = unit(frame_tokens)  # [N, T, D]
    wmask = word_mask[0].to(words.dtype)  # [L]
    fmask = frame_mask.to(words.dtype)  # [N, T]
    sim = torch.einsum("ld,ntd->nlt", words, frames)  # [N, L, T]
    best_frame = torch.where(fmask[:, None, :] > 0, sim, torch.full_like(sim, _NEG)).amax(dim=2)  # [N, L]
    text_to_video = (best_frame * wmask).sum(dim=1) / wmask.sum().clamp_min(1.0)
    best_word = torch.where(wmask[None, :, None] > 0, sim, torch.full_like(sim, _NEG)).amax(dim=1)  # [N, T]
    video_to_text = (best_word * fmask).sum(dim=1) / fmask.sum(dim=1).clamp_min(1.0)
    return 0.5 * (text_to_video + video_to_text)


class MaxMeanReranker(nn.Module):
    def forward(self, text_vector, word_tokens, phrase_tokens, word_mask, clip_tokens, frame_tokens, frame_mask):
        return max_mean_scores(word_tokens, word_mask, frame_tokens, frame_mask)


class PlainClipModel:
    """ExportableModel over an untouched open_clip CLIP."""

    def __init__(self, source: Backbone, frames_per_clip: int = 12, name: str | None = None):
        self.source = source
        self.frames_per_clip = frames_per_clip
        self.name = name or f"{source.model_name}-plain"

    def export_spec(self) -> ExportSpec:
        s = self.source
        return ExportSpec(
            name=self.name, backbone=backbone.backbone_label(s.model_name), embed_dim=s.embed_dim,
            frames_per_clip=self.frames_per_clip, clip_tokens=1, phrase_tokens=1, image_size=s.image_size,
            context_length=s.context_length, mean=s.mean, std=s.std,
            config={"method": "plain", "weights": s.weights, "clip_encoder": "masked-mean",
                    "reranker": "token-max-mean"},
            variable_text_length=backbone.causal_text(s.clip))

    def frame_encoder(self) -> nn.Module:
        return FrameEncoder(self.source.clip).eval()

    def clip_encoder(self) -> nn.Module:
        return MeanClipEncoder().eval()

    def text_encoder(self) -> nn.Module:
        return TextEncoder(self.source.clip).eval()

    def reranker(self) -> nn.Module:
        return MaxMeanReranker().eval()

    def caption_bank(self) -> tuple[np.ndarray, list[str]] | None:
        return None

    def tokenizer_model(self) -> Any:
        return self.source.tokenizer()
