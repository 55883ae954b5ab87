"""Patch-embedding convolutions exported as a matrix product.

A ViT's patch embedding is a Conv2d whose kernel is its stride. onnxruntime runs a Conv in fp32 whatever the
bundle's precision (int8 export quantizes MatMul and Gemm), and in ViT-B-32's int8 frame encoder it took 8 %
of the time. Cut into patches and multiplied by the flattened kernel, the same arithmetic is a MatMul, which
int8 export quantizes like the transformer's own. Inside ``patch_convs_as_matmuls(module)`` every such Conv2d
computes this way; afterwards the modules are as they were.
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from engine.model.forward_patch import forwards_replaced


def patch_convs_as_matmuls(module: nn.Module) -> contextlib.AbstractContextManager[None]:
    return forwards_replaced((m for m in module.modules() if isinstance(m, nn.Conv2d) and is_patch_conv(m)), _bind)


def is_patch_conv(conv: nn.Conv2d) -> bool:
    """A convolution whose windows tile the image without overlap or gaps; not a 1x1 convolution (a ResNet's
    are many, and stay what they are)."""
    return (tuple(conv.kernel_size) == tuple(conv.stride) and max(conv.kernel_size) > 1
            and conv.padding in ((0, 0), "valid") and tuple(conv.dilation) == (1, 1) and conv.groups == 1)


def _bind(conv: nn.Conv2d):
    def forward(x: torch.Tensor) -> torch.Tensor:
        return patch_matmul(conv, x)
    return forward


def patch_matmul(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """What ``conv(x)`` computes for a patch convolution, as one matrix product; x is [N, C, H, W]."""
    channels, height, width = x.shape[1:]
    kh, kw = conv.kernel_size
    rows, cols = height // kh, width // kw
    if (rows * kh, cols * kw) != (height, width):
        x = x[:, :, :rows * kh, :cols * kw]   # as the convolution does, the pixels no whole patch covers go
    patches = (x.reshape(-1, channels, rows, kh, cols, kw).permute(0, 2, 4, 1, 3, 5)
               .reshape(-1, rows * cols, channels * kh * kw))
    out = F.linear(patches, conv.weight.reshape(conv.out_channels, -1), conv.bias)   # [N, rows*cols, out]
    return out.transpose(1, 2).reshape(-1, conv.out_channels, rows, cols)
