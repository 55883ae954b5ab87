"""The seam between a torch model and the exporter.

Any model that the exporter turns into a bundle provides four graph modules whose
inputs and outputs follow docs/architecture.md ("Runtime model API"). The plain
CLIP model (issue: foundation) and the full five-method stack both implement this.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn


@dataclass
class ExportSpec:
    name: str                     # bundle name shown to users, e.g. "clipseek-shapes"
    backbone: str                 # open_clip model name or "custom:<config name>"
    embed_dim: int                # D
    frames_per_clip: int          # T
    clip_tokens: int              # K
    phrase_tokens: int            # P
    image_size: int               # S (square input of the frame encoder)
    context_length: int           # L
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    config: dict[str, Any] = field(default_factory=dict)  # recorded verbatim in bundle.json
    resize: str = "center_crop"   # frame preprocessing: "center_crop" (CLIP) or "squash" (whole frame)
    # The text encoder gives the same results for token ids cut after the longest end-of-text as for
    # the whole context (a causal text transformer and heads that mask padding); the exporter checks
    # it and the runtime then encodes a short query at its own length instead of L.
    variable_text_length: bool = False


class ExportableModel(Protocol):
    def export_spec(self) -> ExportSpec: ...

    def frame_encoder(self) -> nn.Module:
        """forward(pixels [N,3,S,S]) -> frame_features [N,D], L2-normalised."""

    def clip_encoder(self) -> nn.Module:
        """forward(frame_features [B,T,D], frame_mask [B,T]) -> (clip_vector [B,D], clip_tokens [B,K,D], frame_tokens [B,T,D])."""

    def text_encoder(self) -> nn.Module:
        """forward(token_ids [N,L] int64) -> (text_vector [N,D], word_tokens [N,L,D], phrase_tokens [N,P,D], word_mask [N,L])."""

    def reranker(self) -> nn.Module:
        """forward(text_vector [1,D], word_tokens [1,L,D], phrase_tokens [1,P,D], word_mask [1,L],
        clip_tokens [N,K,D], frame_tokens [N,T,D], frame_mask [N,T]) -> scores [N]."""

    def caption_bank(self) -> tuple[np.ndarray, list[str]] | None:
        """VTC caption bank (embeddings [M,D], captions) shipped with the bundle, or None."""

    def tokenizer_model(self) -> Any:
        """The open_clip tokenizer object whose ids tokenizer.json must reproduce."""


def unit(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    return x / x.norm(dim=dim, keepdim=True).clamp_min(1e-6)
