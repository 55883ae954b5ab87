"""Fixtures for the method-head tests: the tiny open_clip backbone and small stack configs."""
from __future__ import annotations

import dataclasses

import pytest
import torch

T = 6  # frames per segment in these tests (the configs say 8; smaller is faster)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny tensors: one intra-op thread is fastest, and far faster on a shared, loaded machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_config(name: str, **overrides):
    from engine.model.stack import StackConfig

    cfg = StackConfig.from_json(name)
    return dataclasses.replace(cfg, frames_per_clip=T, **overrides)


@pytest.fixture
def make_model():
    """make_model(config name, **StackConfig overrides) -> VideoTextModel on the tiny backbone, seed 0."""
    from engine.model.stack import build_model

    def make(name: str = "stack_full", **overrides):
        torch.manual_seed(0)
        return build_model(small_config(name, **overrides))

    return make


@pytest.fixture
def tokenize():
    import open_clip

    from engine.model.backbone import register_custom_configs

    register_custom_configs()
    tokenizer = open_clip.get_tokenizer("clipseek-tiny", context_length=32)
    return lambda texts: torch.as_tensor(tokenizer(texts), dtype=torch.int64)


@pytest.fixture
def frames_of():
    """frames_of(batch, frames=T, width=64, seed=0) -> L2-normalised random frame features."""

    def make(batch: int, frames: int = T, width: int = 64, seed: int = 0) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        x = torch.randn(batch, frames, width, generator=generator)
        return x / x.norm(dim=-1, keepdim=True)

    return make
