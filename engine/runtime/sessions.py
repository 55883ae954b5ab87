"""ONNX graphs behind a small Protocol, with our provider preference and a CPU fallback."""
from __future__ import annotations

import contextlib
import io
import logging
import os
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
import onnxruntime as ort

from engine.errors import BundleError
from engine.runtime import int8_float, int8_weights
from engine.runtime.gpu import gpu_likely, nvidia_driver_loads

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "gpu")
PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")
GPU_PROVIDERS = ("CUDAExecutionProvider",)
ORT_DTYPES = {"tensor(float)": "float32", "tensor(int64)": "int64", "tensor(bool)": "bool",
              "tensor(int32)": "int32", "tensor(float16)": "float16"}


_gpu_failed = False  # set once a GPU session could not be created in this process
_cuda_libraries_tried = False


def load_cuda_libraries() -> bool:
    """Load the CUDA and cuDNN libraries of pip's nvidia-* wheels, once per process, where an NVIDIA driver is.

    Those wheels put their libraries in site-packages, where the dynamic loader does not look: without
    this, onnxruntime's CUDA provider starts only in a process that imported torch first. onnxruntime's
    own ``preload_dlls`` knows where each wheel keeps its files; what it prints goes to the debug log.
    True when the loader ran (libraries it found none of are left to the system's search path)."""
    global _cuda_libraries_tried
    if _cuda_libraries_tried:
        return False
    _cuda_libraries_tried = True
    preload = getattr(ort, "preload_dlls", None)
    if preload is None or not nvidia_driver_loads():
        return False   # no driver: no GPU to run on, and loading a gigabyte of CUDA libraries would only cost time
    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said):
            preload(msvc=False)
    except Exception as exc:   # a half-installed CUDA: the session's own error, if any, is what we report
        log.debug("onnxruntime.preload_dlls failed: %s", exc)
        return False
    if said.getvalue().strip():
        log.debug("onnxruntime.preload_dlls: %s", " ".join(said.getvalue().split()))
    return True


class GraphRunner(Protocol):
    """What an encoder needs from a graph: run it, and know its inputs and outputs."""

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def inputs(self) -> dict[str, str]:
        """input name -> numpy dtype name."""

    def outputs(self) -> list[str]: ...

    @property
    def providers(self) -> list[str]: ...


def select_providers(device: str, available: Sequence[str]) -> list[str]:
    """Our preference ∩ what onnxruntime offers, in our order; "cpu" keeps only the CPU."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    wanted = [p for p in PREFERRED_PROVIDERS if p in available]
    if device == "cpu":
        wanted = [p for p in wanted if p not in GPU_PROVIDERS]
    if "CPUExecutionProvider" not in wanted:
        wanted.append("CPUExecutionProvider")
    return wanted


def cpu_session_options(intra_threads: int = 0) -> ort.SessionOptions:
    """By default up to four threads, for one query at a time (indexing workers pass their share)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_threads if intra_threads > 0 else max(1, min(4, os.cpu_count() or 2))
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Idle intra-op threads would otherwise spin for a while after each run, taking the core a
    # decode thread (or another process) needs: measured 25% slower indexing on two cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class OrtRunner:
    """One graph's session. ``int8``: the graph has int8 weights, which on a CPU with VNNI are made
    signed as it loads (same integers, a kernel about twice as fast; see int8_weights), and on a GPU
    are multiplied in float (the CUDA provider has no kernels for them; see int8_float)."""

    def __init__(self, path: Path, device: str = "auto", intra_threads: int = 0,
                 available: Sequence[str] | None = None, int8: bool = False):
        self.path = Path(path)
        self.signed_weights: dict[str, ort.OrtValue] = {}   # the session reads these; they live as long as it
        self.int8_in_float = False                           # a GPU session of an int8 graph, products in float
        providers = select_providers(device, ort.get_available_providers() if available is None else available)
        self.session = self._create(providers, intra_threads, int8)

    def _create(self, providers: list[str], intra_threads: int, int8: bool) -> ort.InferenceSession:
        global _gpu_failed
        gpu_error = None
        if providers != ["CPUExecutionProvider"] and not _gpu_failed:
            session, gpu_error = self._try_gpu(providers, cpu_session_options(intra_threads), int8)
            if session is not None:
                return session
        try:
            session = self._cpu_session(intra_threads, int8)
        except Exception as exc:
            # A graph the CPU cannot load either is damaged: that is the one thing to say (not the GPU's failure).
            raise BundleError(f"{self.path}: onnxruntime cannot load this graph ({exc}); "
                              "re-export the bundle or import a good copy") from exc
        if gpu_error is not None:   # the GPU, not the graph, failed: said once, later sessions go to the CPU
            log.warning("%s: GPU session failed (%s); using the CPU", self.path.name, gpu_error)
            _gpu_failed = True
        return session

    def _cpu_session(self, intra_threads: int, int8: bool) -> ort.InferenceSession:
        if int8 and int8_weights.wanted():
            session = self._signed_cpu_session(intra_threads)
            if session is not None:
                return session
        return ort.InferenceSession(str(self.path), sess_options=cpu_session_options(intra_threads),
                                    providers=["CPUExecutionProvider"])

    def _signed_cpu_session(self, intra_threads: int) -> ort.InferenceSession | None:
        """The graph with its int8 weights made signed, or None (it then loads as it is)."""
        try:
            shifted = int8_weights.signed_weights(self.path)
        except (ValueError, IndexError, UnicodeDecodeError) as exc:   # onnxruntime will say what is wrong
            log.warning("%s: int8 weights not read (%s); using them unsigned", self.path.name, exc)
            return None
        if not shifted:
            return None
        options = cpu_session_options(intra_threads)
        try:
            self.signed_weights = {name: ort.OrtValue.ortvalue_from_numpy(values) for name, values in shifted.items()}
            for name, value in self.signed_weights.items():
                options.add_initializer(name, value)
            session = ort.InferenceSession(str(self.path), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            log.warning("%s: signed int8 weights not accepted (%s); using them unsigned", self.path.name, exc)
            self.signed_weights = {}
            return None
        log.debug("%s: %d int8 weight tensors made signed for this CPU's VNNI", self.path.name, len(shifted))
        return session

    def _gpu_model(self, int8: bool) -> str | bytes:
        """What the GPU session loads: the file, or for an int8 graph where a GPU is likely, its
        products in float (not where CUDA is only installed: the rewrite costs a second and the memory
        of float weights)."""
        if not (int8 and gpu_likely()):
            return str(self.path)
        try:
            rewritten = int8_float.float_graph(self.path)
        except Exception as exc:   # a file the reader cannot follow: the session's own load will judge it
            log.debug("%s: int8 products not turned to float (%s)", self.path.name, exc)
            return str(self.path)
        return str(self.path) if rewritten is None else rewritten

    def _try_gpu(self, providers: list[str], options: ort.SessionOptions,
                 int8: bool = False) -> tuple[ort.InferenceSession | None, Exception | None]:
        """(a GPU session, None), or (None, the error) when building it failed (the GPU's fault or the graph's:
        the caller tells them apart), or (None, None) when CUDA is listed but unusable (remembered)."""
        global _gpu_failed
        load_cuda_libraries()
        model = self._gpu_model(int8)
        # a rewrite the session refuses may be the rewrite's fault, not the GPU's: the file as it is decides
        candidates = [model, str(self.path)] if isinstance(model, bytes) else [model]
        # onnxruntime logs a missing CUDA library as an error on every session; we say it once.
        ort.set_default_logger_severity(4)
        try:
            for model in candidates:
                try:
                    session = ort.InferenceSession(model, sess_options=options, providers=providers)
                    break
                except Exception as exc:  # a broken CUDA install fails in many ways; the CPU may still work
                    if model is candidates[-1]:
                        return None, exc
                    log.debug("%s: int8 products in float not accepted (%s); loading the file", self.path.name, exc)
        finally:
            ort.set_default_logger_severity(2)
        if any(p in session.get_providers() for p in GPU_PROVIDERS):
            self.int8_in_float = isinstance(model, bytes)
            return session, None
        # Expected on machines without a usable GPU: say so quietly; `status` shows the providers.
        # The CPU session is built again by the caller, with the CPU's own options (int8 weights).
        log.info("CUDA is installed but unusable here; running ONNX graphs on the CPU")
        _gpu_failed = True
        return None, None

    @property
    def providers(self) -> list[str]:
        return list(self.session.get_providers())

    def inputs(self) -> dict[str, str]:
        return {i.name: ORT_DTYPES.get(i.type, i.type) for i in self.session.get_inputs()}

    def outputs(self) -> list[str]:
        return [o.name for o in self.session.get_outputs()]

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = self.outputs()
        return dict(zip(names, self.session.run(names, feeds)))
