"""Time-reversal negatives: each caption against its own clip played backwards (training only).

A clip played backwards shows the same frames as the clip itself, so nothing but the order of its frames
can tell the two apart. Where the caption names a direction ("moving left", "growing", "A, then B") the
reversed clip contradicts it; contrasting the two, as "Test of Time" (Bagad et al., CVPR 2023) does with
its time-order negatives, gives the temporal heads a signal that no other pair in a batch isolates. On the
shapes world the direction of motion is what the model missed most (benchmarks/RESULTS.md).

Only clips whose data says order matters take part (``ClipSet.order_matters``): a caption like "a red
circle staying still" fits its reversed clip as well as the clip, and must not be pushed away from it.
For each such clip b, with s the stage-1 score and f the fused score,

    loss = mean_b softplus(scale_1 (s(t_b, rev v_b) - s(t_b, v_b)))
         + mean_b softplus(scale_f (f(t_b, rev v_b) - f(t_b, v_b)))

the two-way softmax of the clip against its reversal. Scores that ignore order (mean pooling) give
exactly zero gradient here. Nothing of it is exported.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class ReversalConfig:
    enabled: bool = False
    weight: float = 1.0


def reverse_frames(features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[B,T,D] frames whose valid ones come first -> the valid frames in reverse order, padding left in place."""
    T = features.shape[1]
    count = mask.to(torch.long).sum(dim=1, keepdim=True)                 # [B,1]
    t = torch.arange(T, device=features.device).unsqueeze(0)            # [1,T]
    index = torch.where(t < count, count - 1 - t, t)                    # [B,T]
    return features.gather(1, index.unsqueeze(-1).expand_as(features))


def reversal_loss(forward: torch.Tensor, backward: torch.Tensor, scale: float | torch.Tensor) -> torch.Tensor:
    """Mean two-way contrast of each clip's score (``forward`` [b]) against its reversal's (``backward`` [b])."""
    return F.softplus(scale * (backward - forward)).mean()
