"""Frame layout: where things are in the frame, added to the frame vector.

A ViT read out at its class token, trained on captions that never name a place, learns a frame
vector that does not say where the object is (benchmarks/shapes_probe.py measured R^2 0.00 for the
object's centre). Then "moving left" and "moving right" give the same sequence of frame vectors and
no temporal head can tell them apart. The patch tokens still sit on their grid, so this head reads
``maps`` saliency maps off them (a softmax over the grid, one per map) and adds a learned projection
of the maps to the class-token embedding. Position is given by which grid cell lights up, so it needs
no learning; what the maps attend to does. The frame encoder stays per-frame ([N,3,S,S] -> [N,D]),
which keeps it exportable, unlike VoP^F's joint spatio-temporal attention.

With ``centroids`` each map's centre of mass on the grid (x, y in [-1, 1], a soft-argmax as in Finn
et al.'s deep spatial autoencoders) is projected and added as well. A linear map of the saliency maps
turns a move from cell a to cell b into a vector that depends on a and b; the centre of mass turns it
into the same vector wherever the move starts, so "moving left" is one direction for every start
position, which a frame-difference head can read directly.

``map_projection`` false drops the linear map of the saliency maps and keeps only the centres. That
projection is as large as the class-token embedding itself (norm 14 against 18 in the still stage with
both), so it crowds out what the object is; the centres carry where it is in eight numbers.

``patch_gradient`` false reads the maps off the patch tokens without training the tower through them:
the tower then learns only from the class token, as without the layout, and the layout's few weights
learn where the object is from patch tokens that already tell object from background.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class LayoutConfig:
    enabled: bool = False   # off for pretrained CLIP, whose frame vectors it would change
    maps: int = 4           # saliency maps over the patch grid
    centroids: bool = False     # also each map's centre of mass (x, y), projected
    centroid_scale: float = 1.0  # norm of each coordinate's column in the projection at the start
    map_projection: bool = True  # the saliency maps themselves, projected (false: the centres alone)
    patch_gradient: bool = True  # the layout's losses also train the tower through its patch tokens


class FrameLayout(nn.Module):
    def __init__(self, token_width: int, grid_cells: int, embed_dim: int, cfg: LayoutConfig):
        super().__init__()
        if cfg.maps < 1:
            raise ValueError(f"layout.maps must be at least 1, got {cfg.maps}")
        self.grid_cells = grid_cells
        self.patch_gradient = cfg.patch_gradient
        self.saliency = nn.Linear(token_width, cfg.maps)
        if not cfg.map_projection and not cfg.centroids:
            raise ValueError("layout needs map_projection, centroids or both")
        self.project = nn.Linear(cfg.maps * grid_cells, embed_dim) if cfg.map_projection else None
        self.place = None
        if cfg.centroids:
            side = math.isqrt(grid_cells)
            if side * side != grid_cells:
                raise ValueError(f"layout.centroids needs a square patch grid, got {grid_cells} cells")
            # open_clip flattens the patch grid row by row: cell = row * side + column
            centre = (torch.arange(side, dtype=torch.float32) + 0.5) * (2.0 / side) - 1.0
            rows, columns = torch.meshgrid(centre, centre, indexing="ij")
            self.register_buffer("cell_xy", torch.stack([columns.flatten(), rows.flatten()], dim=1),
                                 persistent=False)
            self.place = nn.Linear(2 * cfg.maps, embed_dim, bias=False)
            with torch.no_grad():
                weight = torch.randn(embed_dim, 2 * cfg.maps)
                self.place.weight.copy_(weight / weight.norm(dim=0, keepdim=True) * cfg.centroid_scale)

    def maps(self, patches: torch.Tensor) -> torch.Tensor:
        """patch tokens [N,G,W] -> saliency maps [N,M,G], each summing to G (mean 1 per cell)."""
        if patches.shape[1] != self.grid_cells:
            raise ValueError(f"layout expects {self.grid_cells} patch tokens per frame, got {patches.shape[1]}")
        if not self.patch_gradient:
            patches = patches.detach()
        return self.saliency(patches).softmax(dim=1).transpose(1, 2) * self.grid_cells

    def centroids(self, patches: torch.Tensor) -> torch.Tensor:
        """patch tokens [N,G,W] -> each map's centre of mass [N,M,2] as (x, y), -1 left/top to 1 right/bottom."""
        if self.place is None:
            raise ValueError("this layout has no centroids (layout.centroids is false)")
        return self._centres(self.maps(patches))

    def _centres(self, maps: torch.Tensor) -> torch.Tensor:
        return (maps / self.grid_cells) @ self.cell_xy

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """patch tokens [N,G,W] -> layout embedding [N,D] (added to the frame embedding before normalising)."""
        maps = self.maps(patches)
        if self.place is None:
            return self.project(maps.flatten(1))
        out = self.place(self._centres(maps).flatten(1))
        return out if self.project is None else out + self.project(maps.flatten(1))
