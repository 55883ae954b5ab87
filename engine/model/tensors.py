"""numpy clips -> torch inputs: pixel normalisation, tokenisation, frame features in batches."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch


class Normalizer:
    """uint8 RGB [..., S, S, 3] -> float32 [..., 3, S, S], (x/255 - mean) / std, as the runtime does."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        self.mean = torch.as_tensor(mean, dtype=torch.float32).view(3, 1, 1)
        self.std = torch.as_tensor(std, dtype=torch.float32).view(3, 1, 1)

    def __call__(self, pixels: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(pixels)).float().div_(255.0)
        x = x.movedim(-1, -3)                      # [..., 3, S, S]
        return (x - self.mean) / self.std


def tokenize(tokenizer, texts: Sequence[str], chunk: int = 1024) -> torch.Tensor:
    """[N, L] int64 token ids from the model's open_clip tokenizer."""
    parts = [tokenizer(list(texts[i:i + chunk])) for i in range(0, len(texts), chunk)]
    return torch.cat(parts).long() if parts else torch.zeros(0, 0, dtype=torch.long)


@torch.no_grad()
def encode_frames_batched(model, pixels: np.ndarray, normalizer: Normalizer, chunk: int = 256) -> torch.Tensor:
    """Frame features [N, T, D] of uint8 clips [N, T, S, S, 3], ``chunk`` frames at a time."""
    n, t = pixels.shape[:2]
    flat = pixels.reshape(n * t, *pixels.shape[2:])
    was_training = model.training
    model.eval()
    try:
        feats = [model.encode_frames(normalizer(flat[i:i + chunk])) for i in range(0, len(flat), chunk)]
    finally:
        model.train(was_training)
    return torch.cat(feats).reshape(n, t, -1)
