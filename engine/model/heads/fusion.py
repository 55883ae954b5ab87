"""Fusion of the interaction scores into one stage-2 score, and its distillation into stage 1.

stage2 = Σ_h w_h · s_h over the components that are on: "stage1" (cosine of the stage-1 vectors),
"max_mean" (parameter-free word–frame max-mean, the plain baseline), "hcmi", "vtc", "dmae", "hbci".
The weights start at the configured values and are learned (``learnable``) by an InfoNCE on the fused
score. Distillation: KL(softmax(stage2 / τ) || softmax(stage1 / τ)) over rows and columns with the
stage-2 side detached, so that stage 1 (the hnswlib vector) learns to recall what stage 2 ranks high
(HBI-style, methods.md §9).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

COMPONENTS = ("stage1", "max_mean", "hcmi", "vtc", "dmae", "hbci")


@dataclass
class FusionConfig:
    weights: dict[str, float] = field(default_factory=lambda: {
        "stage1": 1.0, "max_mean": 0.0, "hcmi": 1.0, "vtc": 1.0, "dmae": 1.0, "hbci": 1.0})  # initial w_h
    learnable: bool = True             # learn the weights with the fused InfoNCE
    logit_scale: float = 50.0          # 1/temperature of the fused InfoNCE and the distillation
    fused_weight: float = 1.0          # loss weight of the InfoNCE on the fused score
    distill_weight: float = 1.0        # loss weight of the stage-2 -> stage-1 KL


class ScoreFusion(nn.Module):
    def __init__(self, active: list[str], cfg: FusionConfig):
        super().__init__()
        unknown = sorted(set(cfg.weights) - set(COMPONENTS))
        if unknown:
            raise ValueError(f"fusion weights name unknown components {unknown}; known: {list(COMPONENTS)}")
        self.active = [name for name in COMPONENTS if name in active]
        initial = torch.tensor([float(cfg.weights.get(name, 0.0)) for name in self.active])
        self.weights = nn.Parameter(initial, requires_grad=cfg.learnable)

    def forward(self, scores: dict[str, torch.Tensor], drop: frozenset[str] = frozenset()) -> torch.Tensor:
        fused = None
        for index, name in enumerate(self.active):
            if name in drop:
                continue
            term = self.weights[index] * scores[name]
            fused = term if fused is None else fused + term
        if fused is None:
            raise ValueError(f"every fusion component was dropped ({sorted(drop)}); keep at least one of "
                             f"{self.active}")
        return fused
