"""Fixtures for exporter tests: a tiny exported model kept next to its torch original."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

# open_clip must never reach for the network in tests (huggingface_hub reads this at import).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

torch = pytest.importorskip("torch")
pytest.importorskip("open_clip")
ort = pytest.importorskip("onnxruntime")

from engine.model.backbone import load_backbone  # noqa: E402
from engine.model.export import export_model  # noqa: E402
from engine.model.plain import PlainClipModel  # noqa: E402
from engine.runtime.bundle import GRAPH_IO, open_bundle  # noqa: E402


@dataclass
class Exported:
    model: PlainClipModel
    bundle: Path


def export_plain(model_name: str, out_dir: Path, seed: int = 0, frames_per_clip: int = 4,
                 int8: bool = False) -> Exported:
    torch.manual_seed(seed)
    model = PlainClipModel(load_backbone(model_name, random_weights=True), frames_per_clip=frames_per_clip)
    return Exported(model, export_model(model, out_dir, int8=int8))


def graph_inputs(exported: Exported, batch: int, seed: int = 1) -> dict[str, dict[str, torch.Tensor]]:
    """Inputs of every graph with `batch` rows on the dynamic axis; masks with padding."""
    info = open_bundle(exported.bundle)
    g = torch.Generator().manual_seed(seed)
    s, t, d = info.image_size, info.frames_per_clip, info.embed_dim
    frames = torch.randn(batch, t, d, generator=g)
    frames = frames / frames.norm(dim=-1, keepdim=True)
    mask = torch.ones(batch, t)
    mask[0, t // 2:] = 0
    texts = ["a red ball bounces", "two cats", "the quick brown fox jumps over the lazy dog", "x", "sunset"]
    ids = torch.as_tensor(np.asarray(exported.model.tokenizer_model()((texts * batch)[:batch],
                                                                      context_length=info.context_length)))
    with torch.no_grad():
        query = exported.model.text_encoder()(ids[:1])
        _, clip_tokens, frame_tokens = exported.model.clip_encoder()(frames, mask)
    return {
        "frame_encoder": {"pixels": torch.randn(batch, 3, s, s, generator=g)},
        "clip_encoder": {"frame_features": frames, "frame_mask": mask},
        "text_encoder": {"token_ids": ids},
        "reranker": dict(zip(GRAPH_IO["reranker"][0], (*query, clip_tokens, frame_tokens, mask))),
    }


def torch_and_onnx(exported: Exported, graph: str, feeds: dict[str, torch.Tensor]):
    module = getattr(exported.model, graph)()
    with torch.no_grad():
        want = module(*feeds.values())
    want = want if isinstance(want, tuple) else (want,)
    session = ort.InferenceSession(str(exported.bundle / f"{graph}.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(list(GRAPH_IO[graph][1]), {k: v.numpy() for k, v in feeds.items()})
    return [w.float().numpy() for w in want], [np.asarray(x, dtype=np.float32) for x in got]


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a.reshape(len(a), -1)
    b = b.reshape(len(b), -1)
    return (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory) -> Exported:
    return export_plain("clipseek-tiny", tmp_path_factory.mktemp("tiny") / "bundle")


@pytest.fixture(scope="session")
def make_inputs():
    return graph_inputs


@pytest.fixture(scope="session")
def run_both():
    return torch_and_onnx


@pytest.fixture(scope="session")
def exporter():
    return export_plain
