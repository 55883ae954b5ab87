"""Decoding on an NVIDIA GPU (engine.media.hw_decode): asked for by the device setting, and a device that cannot
be opened (every machine without an NVIDIA GPU) sends the file to the CPU decoder with the same frames."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine.media import FrameSampler, iter_segments, sample_frames
from engine.media import hw_decode
from engine.settings import Settings
from videogen import ShotSpec

SHOTS = [ShotSpec(2.0, pattern="pan", speed=30), ShotSpec(2.0, shape="square")]


def _frames(sampler: FrameSampler) -> list[tuple[float, np.ndarray]]:
    return [(round(f.time, 4), f.rgb) for f in sampler]


@pytest.fixture
def gop_video(video_factory):
    return video_factory("hw_gops.mp4", fps=25, keyint=50, bframes=3, shots=SHOTS,
                         encoder_args=["-preset", "veryfast"])


def test_the_cpu_setting_never_asks_for_the_gpu(monkeypatch):
    monkeypatch.setattr(hw_decode, "cuda_decoding_possible", lambda: True)
    assert hw_decode.hwaccel_for("cpu") is None
    assert hw_decode.hwaccel_for("auto") == hw_decode.CUDA
    assert hw_decode.hwaccel_for("gpu") == hw_decode.CUDA
    monkeypatch.setattr(hw_decode, "cuda_decoding_possible", lambda: False)
    assert hw_decode.hwaccel_for("auto") is None


@pytest.mark.parametrize("rate", [1.0, 2.0, 10.0])
def test_decoding_on_the_gpu_or_after_its_refusal_gives_the_cpu_frames(gop_video, rate):
    on_cpu = sample_frames(gop_video.path, rate, 64)
    asked = sample_frames(gop_video.path, rate, 64, hwaccel=hw_decode.CUDA)
    expected, got = _frames(on_cpu), _frames(asked)
    assert [t for t, _ in got] == [t for t, _ in expected]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(got, expected))
    assert not asked.warnings
    if asked.stats.hardware:        # a machine with an NVIDIA GPU
        assert asked.stats.hardware == hw_decode.CUDA and not asked.stats.hardware_refused
        assert asked.stats.gops_in_lanes == 0
    else:                           # the device could not be opened: the CPU decoded it, in the same way
        assert asked.stats.hardware_refused
        assert asked.stats.frames_decoded == on_cpu.stats.frames_decoded
        assert asked.stats.gops_in_lanes == on_cpu.stats.gops_in_lanes


def test_segments_decode_where_the_device_setting_says(gop_video, monkeypatch):
    monkeypatch.setattr(hw_decode, "cuda_decoding_possible", lambda: True)
    settings = Settings(sample_fps=2.0, max_segment_seconds=3.0, min_segment_seconds=1.0)
    assert iter_segments(gop_video.path, settings).sampler.hwaccel == hw_decode.CUDA
    on_cpu = iter_segments(gop_video.path, dataclasses.replace(settings, device="cpu"))
    assert on_cpu.sampler.hwaccel is None
    asked = iter_segments(gop_video.path, settings)
    assert [s.segment for s in asked] == [s.segment for s in on_cpu]
    assert asked.stats.hardware or asked.stats.hardware_refused


def test_keyframes_alone_are_decoded_on_the_cpu_without_asking_the_device(video_factory):
    truth = video_factory("hw_keyframes.mp4", fps=25, keyint=25, shots=SHOTS)
    sampler = sample_frames(truth.path, 0.5, 64, hwaccel=hw_decode.CUDA)
    frames = _frames(sampler)
    assert sampler.stats.keyframes_only and len(frames) == 2
    assert sampler.stats.hardware == "" and sampler.stats.hardware_refused == ""


def test_a_device_that_refused_once_is_not_asked_again_in_this_process(gop_video, monkeypatch):
    asked = []

    def no_device(path, device_type):
        asked.append(path)
        raise OSError("no CUDA-capable device is detected")

    monkeypatch.setattr(hw_decode, "_refusals", {})
    monkeypatch.setattr(hw_decode, "open_on_device", no_device)
    first = sample_frames(gop_video.path, 2.0, 64, hwaccel=hw_decode.CUDA)
    second = sample_frames(gop_video.path, 2.0, 64, hwaccel=hw_decode.CUDA)
    assert _frames(first) and _frames(second)
    assert len(asked) == 1
    assert first.stats.hardware_refused == second.stats.hardware_refused == "no CUDA-capable device is detected"
    assert hw_decode.refusal("vaapi") is None
