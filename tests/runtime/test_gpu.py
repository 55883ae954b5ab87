"""Finding out, without CUDA, whether the model will likely run on an NVIDIA GPU; loading pip's CUDA libraries."""
import ctypes
import importlib.util

import onnxruntime as ort
import pytest

from engine.runtime import gpu, sessions


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    gpu.gpu_likely.cache_clear()
    monkeypatch.setattr(sessions, "_cuda_libraries_tried", False)
    yield
    gpu.gpu_likely.cache_clear()


def _driver(monkeypatch, present: bool):
    real = ctypes.CDLL

    def cdll(name, *args, **kwargs):
        if name == gpu.NVIDIA_DRIVER:
            if not present:
                raise OSError(f"{name}: cannot open shared object file")
            return object()
        return real(name, *args, **kwargs)

    monkeypatch.setattr(ctypes, "CDLL", cdll)


def test_this_onnxruntime_ships_its_cuda_provider():
    # The project installs onnxruntime-gpu on Linux and Windows (pyproject.toml).
    assert gpu.onnxruntime_has_cuda() == ("CUDAExecutionProvider" in ort.get_available_providers())


def test_no_onnxruntime_means_no_cuda(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert not gpu.onnxruntime_has_cuda()


@pytest.mark.parametrize("driver, provider, expected", [(True, True, True), (False, True, False),
                                                        (True, False, False)])
def test_gpu_likely_needs_both_the_driver_and_the_cuda_provider(monkeypatch, driver, provider, expected):
    _driver(monkeypatch, driver)
    monkeypatch.setattr(gpu, "onnxruntime_has_cuda", lambda: provider)
    assert gpu.gpu_likely() is expected


def test_without_a_driver_no_cuda_library_is_loaded(monkeypatch):
    _driver(monkeypatch, False)
    called = []
    monkeypatch.setattr(ort, "preload_dlls", lambda **kw: called.append(kw), raising=False)
    assert sessions.load_cuda_libraries() is False
    assert called == []


def test_with_a_driver_pip_cuda_libraries_are_loaded_once_and_quietly(monkeypatch, capsys, caplog):
    _driver(monkeypatch, True)
    called = []

    def preload(**kw):
        called.append(kw)
        print("Failed to load libcudnn.so.9: cannot open shared object file")

    monkeypatch.setattr(ort, "preload_dlls", preload, raising=False)
    with caplog.at_level("DEBUG", logger="engine.runtime.sessions"):
        assert sessions.load_cuda_libraries() is True
        assert sessions.load_cuda_libraries() is False     # once per process
    assert called == [{"msvc": False}]
    assert capsys.readouterr().out == ""                   # onnxruntime's prints go to the debug log
    assert "libcudnn.so.9" in caplog.text


def test_a_failing_preload_leaves_the_choice_to_the_session(monkeypatch):
    _driver(monkeypatch, True)

    def preload(**kw):
        raise RuntimeError("Invalid parameter of directory")

    monkeypatch.setattr(ort, "preload_dlls", preload, raising=False)
    assert sessions.load_cuda_libraries() is False
