"""Model bundle loader, ONNX sessions with provider fallback, tokenizer and encoders. Never imports torch."""
from __future__ import annotations

from engine.runtime.bundle import BundleInfo, open_bundle, verify
from engine.runtime.model import ClipEmbedding, Model, TextEmbedding, load_model
from engine.runtime.tokenizer import Tokenizer

__all__ = ["BundleInfo", "ClipEmbedding", "Model", "TextEmbedding", "Tokenizer", "load_model", "open_bundle",
           "verify"]
