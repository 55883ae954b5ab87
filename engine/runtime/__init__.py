"""Model bundle loader, ONNX sessions with provider fallback, tokenizer and encoders. Never imports torch.

The names below are imported when first used: reading a bundle's description (engine.runtime.bundle, which
opening a library does) then costs no onnxruntime, OpenCV or tokenizer import.
"""
from __future__ import annotations

import importlib

_HOMES = {"BundleInfo": "bundle", "open_bundle": "bundle", "verify": "bundle",
          "ClipEmbedding": "model", "Model": "model", "TextEmbedding": "model", "load_model": "model",
          "Tokenizer": "tokenizer"}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
