"""Provider choice and the CPU fallback, with faked provider lists."""
from __future__ import annotations

import onnxruntime as ort
import pytest

from engine.runtime import sessions
from engine.runtime.sessions import OrtRunner, select_providers


@pytest.mark.parametrize("device, available, expected", [
    ("auto", ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
     ["CUDAExecutionProvider", "CPUExecutionProvider"]),
    ("gpu", ["CUDAExecutionProvider", "CPUExecutionProvider"], ["CUDAExecutionProvider", "CPUExecutionProvider"]),
    ("cpu", ["CUDAExecutionProvider", "CPUExecutionProvider"], ["CPUExecutionProvider"]),
    ("auto", ["CPUExecutionProvider"], ["CPUExecutionProvider"]),
    ("gpu", ["CPUExecutionProvider", "CoreMLExecutionProvider"], ["CPUExecutionProvider"]),
])
def test_select_providers(device, available, expected):
    assert select_providers(device, available) == expected


def test_unknown_device():
    with pytest.raises(ValueError, match="auto, cpu, gpu"):
        select_providers("tpu", ["CPUExecutionProvider"])


def test_failing_gpu_session_falls_back_to_cpu(runtime_bundle, monkeypatch):
    real = ort.InferenceSession
    asked = []

    def fake_session(path, sess_options=None, providers=None):
        asked.append(list(providers))
        if "CUDAExecutionProvider" in providers:
            raise RuntimeError("CUDA driver version is insufficient")
        return real(path, sess_options=sess_options, providers=providers)

    monkeypatch.setattr(sessions, "_gpu_failed", False)
    monkeypatch.setattr(sessions.ort, "InferenceSession", fake_session)
    runner = OrtRunner(runtime_bundle / "clip_encoder.onnx", device="gpu",
                       available=["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert asked == [["CUDAExecutionProvider", "CPUExecutionProvider"], ["CPUExecutionProvider"]]
    assert runner.providers == ["CPUExecutionProvider"]
    assert sessions._gpu_failed  # later sessions go straight to the CPU
    OrtRunner(runtime_bundle / "reranker.onnx", device="gpu", available=["CUDAExecutionProvider",
                                                                         "CPUExecutionProvider"])
    assert asked[-1] == ["CPUExecutionProvider"] and len(asked) == 3


def test_runner_reports_io(runtime_bundle):
    runner = OrtRunner(runtime_bundle / "clip_encoder.onnx", device="cpu")
    assert runner.inputs() == {"frame_features": "float32", "frame_mask": "float32"}
    assert runner.outputs() == ["clip_vector", "clip_tokens", "frame_tokens"]
    assert runner.providers == ["CPUExecutionProvider"]
    assert runner.session.get_session_options().inter_op_num_threads == 1


def test_a_damaged_graph_is_reported_as_damaged_not_as_a_gpu_failure(runtime_bundle, tmp_path, monkeypatch, caplog):
    damaged = tmp_path / "clip_encoder.onnx"
    damaged.write_bytes((runtime_bundle / "clip_encoder.onnx").read_bytes()[:-200])
    monkeypatch.setattr(sessions, "_gpu_failed", False)
    with caplog.at_level("WARNING"), pytest.raises(sessions.BundleError, match="cannot load this graph"):
        OrtRunner(damaged, device="gpu", available=["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert "GPU session failed" not in caplog.text
    assert not sessions._gpu_failed     # a good graph after it still tries the GPU
