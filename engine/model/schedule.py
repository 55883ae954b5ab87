"""Learning-rate schedule: linear warm-up, then cosine decay, as a function of training progress.

Progress is a number in [0, 1]. The trainer passes ``max(step / total_steps, elapsed / time_budget)``, so
that when a wall-clock budget ends a run before its planned steps, the run still warms up and decays fully
instead of stopping at a high learning rate.
"""
from __future__ import annotations

import math


def lr_factor(progress: float, warmup_fraction: float, final_factor: float = 0.0) -> float:
    """Multiplier of the base learning rate at ``progress``: 0 -> 1 linearly over the warm-up, then a half
    cosine from 1 down to ``final_factor`` at progress 1."""
    progress = min(max(progress, 0.0), 1.0)
    if warmup_fraction > 0 and progress < warmup_fraction:
        return progress / warmup_fraction
    span = 1.0 - warmup_fraction
    decayed = 1.0 if span <= 0 else (progress - warmup_fraction) / span
    return final_factor + (1.0 - final_factor) * 0.5 * (1.0 + math.cos(math.pi * decayed))


def training_progress(step: int, total_steps: int, elapsed_seconds: float, budget_seconds: float | None) -> float:
    """The larger of the step fraction and the time fraction (when a budget is set)."""
    by_steps = step / max(total_steps, 1)
    by_time = elapsed_seconds / budget_seconds if budget_seconds else 0.0
    return min(1.0, max(by_steps, by_time))
