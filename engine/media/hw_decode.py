"""Decoding on an NVIDIA GPU's video engine (NVDEC, FFmpeg's CUDA hwaccel in PyAV's wheel).

With the model on the GPU, decoding is what limits indexing (benchmarks/RESULTS.md, "The CUDA path"), and
on a laptop the CPU's cores are few. Where an NVIDIA driver loads and the device setting allows the GPU,
``FrameSampler`` opens files with ``hwaccel_for(device)``; FFmpeg decodes the same pictures there (H.264
decoding is exact) and hands them to system memory for resizing. Files sampled from their keyframes alone
stay on the CPU, whose threads decode those as fast or faster, without a GPU device opened per file.
A stream the GPU cannot take (a codec or profile its NVDEC lacks) falls back to FFmpeg's software decoder
inside FFmpeg. A device that cannot be opened at all sends the file to the CPU decoder (``FrameSampler``
reopens it), and this process does not ask it again.
"""
from __future__ import annotations

import functools

from engine.runtime.gpu import nvidia_driver_loads

CUDA = "cuda"


@functools.cache
def cuda_decoding_possible() -> bool:
    """The NVIDIA driver's library loads and PyAV's FFmpeg has the CUDA hwaccel (nothing is started; PyAV is
    imported only where the driver is)."""
    if not nvidia_driver_loads():
        return False
    try:
        from av.codec.hwaccel import hwdevices_available
    except ImportError:
        return False
    return CUDA in hwdevices_available()


def hwaccel_for(device: str) -> str | None:
    """The hardware device type to decode on for this ``device`` setting ("auto", "cpu", "gpu"), or None."""
    if device == "cpu" or not cuda_decoding_possible():
        return None
    return CUDA


_refusals: dict[str, str] = {}   # device type -> why it could not be opened, in this process


def open_on_device(path: str, device_type: str):
    """``av.open`` decoding on ``device_type``; raises what FFmpeg raises when the device cannot be opened."""
    import av
    from av.codec.hwaccel import HWAccel

    return av.open(path, hwaccel=HWAccel(device_type, allow_software_fallback=True))


def refusal(device_type: str) -> str | None:
    """Why ``device_type`` could not be opened before in this process, or None: a driver that refused once is not
    asked again for every file."""
    return _refusals.get(device_type)


def remember_refusal(device_type: str, reason: str) -> None:
    _refusals[device_type] = reason
