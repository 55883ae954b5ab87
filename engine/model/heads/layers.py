"""Small ONNX-friendly building blocks shared by the heads: masked reductions, attention, position priors.

Masks are float tensors of 0/1 (never dynamic lengths). Masked maxima use a large finite negative
instead of -inf so that an all-padding row stays finite and exports cleanly.
"""
from __future__ import annotations

import math

import torch
from torch import nn

NEG = -1e4  # stands for -inf in masked maxima / softmaxes


def unit(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    return x / x.norm(dim=dim, keepdim=True).clamp_min(1e-6)


def masked_max(x: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """Max of x over dim where mask > 0 (mask broadcasts against x)."""
    return torch.where(mask > 0, x, torch.full_like(x, NEG)).amax(dim=dim)


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    mask = mask.to(x.dtype)
    return (x * mask).sum(dim=dim) / mask.sum(dim=dim).clamp_min(1e-6)


def masked_softmax(logits: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """Softmax over dim restricted to mask > 0; an all-masked slice gives all zeros."""
    weights = torch.softmax(torch.where(mask > 0, logits, torch.full_like(logits, NEG)), dim=dim)
    return weights * (mask > 0).to(logits.dtype)


def relative_positions(mask: torch.Tensor) -> torch.Tensor:
    """Position of each valid item among the valid items, scaled to [0, 1] [..., n].

    Counting ranks with a cumulative sum makes it independent of where the padding sits, so a
    segment padded at the end gives its valid frames exactly the positions they have unpadded.
    """
    mask = mask.to(torch.float32)
    rank = torch.cumsum(mask, dim=-1) - 1.0  # [..., n]
    count = mask.sum(dim=-1, keepdim=True)
    return (rank / (count - 1.0).clamp_min(1.0)).clamp(0.0, 1.0) * mask


class PositionPrior(nn.Module):
    """A learned Gaussian prior over relative position for S slots: slot s prefers position centre_s.

    Used to tie clip k to the k-th part of a segment and phrase p to the p-th part of a caption, so
    that clip and phrase slots carry temporal order ("A, then B" differs from "B, then A").
    """

    def __init__(self, slots: int, strength: float):
        super().__init__()
        self.centres = nn.Parameter((torch.arange(slots, dtype=torch.float32) + 0.5) / slots)
        self.log_width = nn.Parameter(torch.tensor(math.log(1.0 / slots)))
        self.strength = strength

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        """positions [B, n] in [0, 1] -> additive logits [B, n, S]."""
        width = self.log_width.exp()
        offset = positions.unsqueeze(-1) - self.centres  # [B, n, S]
        return -self.strength * offset.pow(2) / (2.0 * width.pow(2))


class Attention(nn.Module):
    """Multi-head attention written with plain matmuls (exports to ONNX without fused kernels)."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by {heads} heads")
        self.heads = heads
        self.q = nn.Linear(width, width)
        self.k = nn.Linear(width, width)
        self.v = nn.Linear(width, width)
        self.out = nn.Linear(width, width)

    def forward(self, query: torch.Tensor, context: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        """query [B, nq, W], context [B, nk, W], key_mask [B, nk] -> [B, nq, W]."""
        b, nq, w = query.shape
        nk = context.shape[1]
        h, d = self.heads, w // self.heads
        q = self.q(query).reshape(b, nq, h, d).transpose(1, 2)  # [B, h, nq, d]
        k = self.k(context).reshape(b, nk, h, d).transpose(1, 2)
        v = self.v(context).reshape(b, nk, h, d).transpose(1, 2)
        logits = q @ k.transpose(-1, -2) / math.sqrt(d)  # [B, h, nq, nk]
        weights = masked_softmax(logits, key_mask[:, None, None, :], dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(b, nq, w)
        return self.out(out)


class AttentionBlock(nn.Module):
    """Pre-norm transformer block (self-attention + MLP) over a masked token set."""

    def __init__(self, width: int, heads: int, mlp_ratio: float = 2.0):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        y = self.ln_1(x)
        x = x + self.attn(y, y, mask)
        return x + self.mlp(self.ln_2(x))


def heads_for(width: int, head_width: int) -> int:
    """Number of attention heads of head_width that fit width (at least one)."""
    return max(1, width // head_width) if width % max(1, width // head_width) == 0 else 1


def prior_pool(tokens: torch.Tensor, mask: torch.Tensor, slots: int) -> torch.Tensor:
    """Parameter-free pooling of n tokens into `slots` tokens, slot s averaging around the s-th part.

    tokens [B, n, D], mask [B, n] -> [B, slots, D]. Gaussian weights over relative position keep
    every slot non-empty even when fewer valid tokens than slots remain (the no-HCMI fallback).
    """
    centres = (torch.arange(slots, dtype=tokens.dtype, device=tokens.device) + 0.5) / slots
    offset = relative_positions(mask).unsqueeze(-1) - centres  # [B, n, S]
    logits = -offset.pow(2) * (2.0 * slots * slots)
    weights = masked_softmax(logits, mask.unsqueeze(-1), dim=1)  # over tokens
    return torch.einsum("bns,bnd->bsd", weights, tokens)
