"""Frame layout: where things are in the frame, added to the frame vector.

A ViT read out at its class token, trained on captions that never name a place, learns a frame
vector that does not say where the object is (benchmarks/shapes_probe.py measured R^2 0.00 for the
object's centre). Then "moving left" and "moving right" give the same sequence of frame vectors and
no temporal head can tell them apart. The patch tokens still sit on their grid, so this head reads
``maps`` saliency maps off them (a softmax over the grid, one per map) and adds a learned projection
of the maps to the class-token embedding. Position is given by which grid cell lights up, so it needs
no learning; what the maps attend to does. The frame encoder stays per-frame ([N,3,S,S] -> [N,D]),
which keeps it exportable, unlike VoP^F's joint spatio-temporal attention.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class LayoutConfig:
    enabled: bool = False   # off for pretrained CLIP, whose frame vectors it would change
    maps: int = 4           # saliency maps over the patch grid


class FrameLayout(nn.Module):
    def __init__(self, token_width: int, grid_cells: int, embed_dim: int, cfg: LayoutConfig):
        super().__init__()
        if cfg.maps < 1:
            raise ValueError(f"layout.maps must be at least 1, got {cfg.maps}")
        self.grid_cells = grid_cells
        self.saliency = nn.Linear(token_width, cfg.maps)
        self.project = nn.Linear(cfg.maps * grid_cells, embed_dim)

    def maps(self, patches: torch.Tensor) -> torch.Tensor:
        """patch tokens [N,G,W] -> saliency maps [N,M,G], each summing to G (mean 1 per cell)."""
        if patches.shape[1] != self.grid_cells:
            raise ValueError(f"layout expects {self.grid_cells} patch tokens per frame, got {patches.shape[1]}")
        return self.saliency(patches).softmax(dim=1).transpose(1, 2) * self.grid_cells

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """patch tokens [N,G,W] -> layout embedding [N,D] (added to the frame embedding before normalising)."""
        return self.project(self.maps(patches).flatten(1))
