"""patch_matmul: a patch embedding's convolution as one matrix product, the same numbers, no Conv in ONNX."""
from __future__ import annotations

import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from engine.model.patch_matmul import is_patch_conv, patch_convs_as_matmuls, patch_matmul


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("size", [(32, 32), (35, 41)])   # whole patches only, and leftover rows and columns
def test_same_as_the_convolution(bias, size):
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 24, kernel_size=8, stride=8, bias=bias).eval()
    x = torch.randn(2, 3, *size)
    with torch.no_grad():
        torch.testing.assert_close(patch_matmul(conv, x), conv(x), atol=1e-5, rtol=1e-5)


def test_only_convolutions_that_tile_the_image_are_patch_convolutions():
    assert is_patch_conv(nn.Conv2d(3, 8, kernel_size=16, stride=16))
    assert is_patch_conv(nn.Conv2d(3, 8, kernel_size=(4, 2), stride=(4, 2), bias=False))
    assert not is_patch_conv(nn.Conv2d(3, 8, kernel_size=3, stride=1, padding=1))     # overlapping windows
    assert not is_patch_conv(nn.Conv2d(3, 8, kernel_size=4, stride=4, padding=1))     # padded
    assert not is_patch_conv(nn.Conv2d(4, 8, kernel_size=4, stride=4, groups=2))      # grouped
    assert not is_patch_conv(nn.Conv2d(3, 8, kernel_size=4, stride=4, dilation=2))
    assert not is_patch_conv(nn.Conv2d(3, 8, kernel_size=1))                           # a 1x1 convolution


def test_exported_graph_has_a_matmul_not_a_conv_and_takes_any_batch(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 16, kernel_size=8, stride=8), nn.Conv2d(16, 4, kernel_size=3, padding=1)).eval()
    path = tmp_path / "patches.onnx"
    with torch.no_grad(), patch_convs_as_matmuls(model), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(2, 3, 32, 32),), str(path), input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, opset_version=17, dynamo=False)
    assert "forward" not in vars(model[0])            # the patch is gone afterwards
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert ops.count("Conv") == 1 and "MatMul" in ops     # the 3x3 convolution stays a Conv
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (1, 5):
        x = torch.randn(batch, 3, 32, 32)
        with torch.no_grad():
            want = model(x).numpy()
        np.testing.assert_allclose(session.run(None, {"x": x.numpy()})[0], want, atol=1e-5)
