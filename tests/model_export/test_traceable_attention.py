"""traceable_attention: the same numbers as nn.MultiheadAttention, and an ONNX graph of any length."""
from __future__ import annotations

import warnings

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from engine.model.traceable_attention import self_attention, traceable_attention


def causal(length: int) -> torch.Tensor:
    return torch.full((length, length), float("-inf")).triu(1)


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("mask", ["none", "float", "bool", "3d"])
def test_same_as_multihead_attention(batch_first, mask):
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(32, 4, batch_first=batch_first).eval()
    x = torch.randn(3, 7, 32) if batch_first else torch.randn(7, 3, 32)
    attn_mask = {"none": None, "float": causal(7), "bool": torch.ones(7, 7, dtype=torch.bool).triu(1),
                 "3d": causal(7).expand(3 * 4, 7, 7)}[mask]
    with torch.no_grad():
        want = mha(x, x, x, need_weights=False, attn_mask=attn_mask)[0]
        got = self_attention(mha, x, attn_mask)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_other_calls_run_torchs_forward():
    mha = nn.MultiheadAttention(16, 2, batch_first=True).eval()
    x, y = torch.randn(2, 5, 16), torch.randn(2, 3, 16)
    padding = torch.tensor([[False, False, False, True, True]] * 2)
    with torch.no_grad():
        plain = [mha(x, y, y, need_weights=False)[0], mha(x, x, x, key_padding_mask=padding)[1]]
        with traceable_attention(mha):
            patched = [mha(x, y, y, need_weights=False)[0], mha(x, x, x, key_padding_mask=padding)[1]]
    torch.testing.assert_close(patched[0], plain[0])
    torch.testing.assert_close(patched[1], plain[1])
    assert "forward" not in vars(mha)          # the patch is gone afterwards


def test_exported_graph_takes_any_length(tmp_path):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(32, 4, batch_first=True)
            self.register_buffer("mask", causal(16))

        def forward(self, x):
            positions = torch.ones_like(x[0, :, 0]).long().cumsum(0) - 1
            m = self.mask.index_select(0, positions).index_select(1, positions)
            return self.attn(x, x, x, need_weights=False, attn_mask=m)[0]

    block = Block().eval()
    path = tmp_path / "block.onnx"
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), traceable_attention(block), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(block, (torch.randn(2, 16, 32),), str(path), input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "N", 1: "L"}, "y": {0: "N", 1: "L"}}, opset_version=17,
                              dynamo=False)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for length in (3, 11, 16):
        x = torch.randn(2, length, 32)
        with torch.no_grad():
            want = block(x).numpy()
        np.testing.assert_allclose(session.run(None, {"x": x.numpy()})[0], want, atol=1e-5)
