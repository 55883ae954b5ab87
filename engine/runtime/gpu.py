"""Whether this computer can run the model on an NVIDIA GPU, asked without importing onnxruntime or starting CUDA.

Indexing picks its number of worker processes before any of them opens the model: with the GPU the
frame encoder is no longer what limits it, and each worker's CUDA context costs GPU memory (see
benchmarks/RESULTS.md, "The CUDA path").
"""
from __future__ import annotations

import ctypes
import functools
import importlib.util
import os
from pathlib import Path

NVIDIA_DRIVER = "nvcuda.dll" if os.name == "nt" else "libcuda.so.1"


def nvidia_driver_loads() -> bool:
    """The NVIDIA driver's library loads (loading it does not start CUDA)."""
    try:
        ctypes.CDLL(NVIDIA_DRIVER)
    except OSError:
        return False
    return True


def onnxruntime_has_cuda() -> bool:
    """The installed onnxruntime ships its CUDA provider (onnxruntime-gpu)."""
    spec = importlib.util.find_spec("onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        return False
    return any(any((Path(place) / "capi").glob("*onnxruntime_providers_cuda*"))
               for place in spec.submodule_search_locations)


@functools.cache
def gpu_likely() -> bool:
    """onnxruntime-gpu and an NVIDIA driver are both here: device "auto" will most likely run on the GPU.
    (CUDA libraries that turn out missing still send the sessions to the CPU; see sessions.py.)"""
    return onnxruntime_has_cuda() and nvidia_driver_loads()
