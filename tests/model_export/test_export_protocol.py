"""The exporter takes any ExportableModel: here a toy with K=2, P=2, learned layers and a caption bank."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from engine.model.backbone import load_backbone
from engine.model.export import export_model
from engine.model.exportable import ExportSpec, unit
from engine.model.plain import PlainClipModel
from engine.runtime import load_model
from engine.runtime.bundle import GRAPH_IO, verify

K, P = 2, 2


class ToyClipEncoder(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.tokens = nn.Linear(dim, K * dim)

    def forward(self, frame_features, frame_mask):
        mask = frame_mask.unsqueeze(-1)
        mean = (frame_features * mask).sum(1) / mask.sum(1).clamp_min(1.0)
        clip_tokens = self.tokens(mean).reshape(mean.shape[0], K, -1)
        return unit(mean), clip_tokens, frame_features


class ToyTextEncoder(nn.Module):
    def __init__(self, plain_text: nn.Module):
        super().__init__()
        self.plain = plain_text

    def forward(self, token_ids):
        vector, words, _, mask = self.plain(token_ids)
        phrases = torch.stack([vector, unit(words[:, 1])], dim=1)  # [N, P, D]
        return vector, words, phrases, mask > 0  # a bool mask: the runtime casts what it feeds back


class ToyReranker(nn.Module):
    def forward(self, text_vector, word_tokens, phrase_tokens, word_mask, clip_tokens, frame_tokens, frame_mask):
        phrase = torch.einsum("pd,nkd->npk", phrase_tokens[0], clip_tokens).amax(dim=(1, 2))
        frames = (torch.einsum("d,ntd->nt", text_vector[0], frame_tokens) * frame_mask).amax(dim=1)
        words = word_tokens[0][word_mask[0]].mean(0)
        return phrase + frames + 0.0 * words.sum()


class ToyModel:
    def __init__(self):
        torch.manual_seed(0)
        self.plain = PlainClipModel(load_backbone("clipseek-tiny", random_weights=True), frames_per_clip=3)
        self._clip = ToyClipEncoder(64).eval()
        self._text = ToyTextEncoder(self.plain.text_encoder()).eval()

    def export_spec(self) -> ExportSpec:
        spec = self.plain.export_spec()
        spec.name, spec.clip_tokens, spec.phrase_tokens = "toy", K, P
        spec.config = {"method": "toy", "heads": {"k": K}}
        return spec

    def frame_encoder(self):
        return self.plain.frame_encoder()

    def clip_encoder(self):
        return self._clip

    def text_encoder(self):
        return self._text

    def reranker(self):
        return ToyReranker().eval()

    def caption_bank(self):
        captions = ["a dog", "a cat", "ein Hund läuft", "日本の猫", "a bird"]
        return np.random.default_rng(0).normal(size=(5, 64)).astype(np.float32), captions

    def tokenizer_model(self):
        return self.plain.tokenizer_model()


@pytest.fixture(scope="module")
def toy_bundle(tmp_path_factory):
    model = ToyModel()
    return model, export_model(model, tmp_path_factory.mktemp("toy") / "toy")


def test_bundle_records_the_model(toy_bundle):
    _, bundle = toy_bundle
    data = json.loads((bundle / "bundle.json").read_text())
    assert data["clip_tokens"] == K and data["phrase_tokens"] == P
    assert data["config"] == {"method": "toy", "heads": {"k": K}}
    assert data["files"]["caption_bank"] == "caption_bank.npy" and data["files"]["captions"] == "captions.json"
    outputs = {t["name"]: t for t in data["graphs"]["text_encoder"]["outputs"]}
    assert outputs["word_mask"]["dtype"] == "bool"
    assert outputs["phrase_tokens"]["shape"] == ["N", P, 64]
    assert data["graphs"]["clip_encoder"]["outputs"][1]["shape"] == ["B", K, 64]
    assert verify(bundle) == []


def test_caption_bank_is_fingerprinted(toy_bundle, tmp_path):
    import shutil

    _, bundle = toy_bundle
    copy = shutil.copytree(bundle, tmp_path / "copy")
    (copy / "captions.json").write_text(json.dumps(["changed"] * 5))
    assert "fingerprint" in verify(copy)[0]


def test_runtime_runs_the_toy_like_torch(toy_bundle):
    model, bundle = toy_bundle
    runtime = load_model(bundle, device="cpu")
    embeddings, captions = runtime.caption_bank()
    assert embeddings.shape == (5, 64) and captions[3] == "日本の猫"
    features = runtime.encode_frames(np.full((6, 64, 64, 3), 128, np.uint8)).reshape(2, 3, 64)
    mask = np.array([[1, 1, 1], [1, 0, 0]], np.float32)
    clips = runtime.encode_clips(features, mask)
    query = runtime.encode_text(["a dog runs"])
    assert query.word_mask.dtype == bool and clips.clip_tokens.shape == (2, K, 64)
    scores = runtime.rerank(query, clips.clip_tokens, clips.frame_tokens, mask)
    with torch.no_grad():
        t_clips = model.clip_encoder()(torch.from_numpy(features), torch.from_numpy(mask))
        ids = torch.from_numpy(runtime.tokenizer.encode(["a dog runs"]))
        t_query = model.text_encoder()(ids)
        want = model.reranker()(*t_query, t_clips[1], t_clips[2], torch.from_numpy(mask)).numpy()
    assert np.abs(scores - want).max() <= 1e-4
    assert set(GRAPH_IO) == set(runtime.info.graphs)


class PaddingReadingTextEncoder(ToyTextEncoder):
    """Its sentence vector averages every position, padding included: cutting the padding changes it."""

    def forward(self, token_ids):
        vector, words, phrases, mask = super().forward(token_ids)
        return unit(words.mean(dim=1)), words, phrases, mask


def test_a_text_encoder_that_reads_padding_keeps_the_full_context(tmp_path):
    from engine.errors import BundleError

    model = ToyModel()
    model._text = PaddingReadingTextEncoder(model.plain.text_encoder()).eval()
    assert model.export_spec().variable_text_length
    with pytest.raises(BundleError, match="cut to their own length differs"):
        export_model(model, tmp_path / "claims-variable")
    assert not (tmp_path / "claims-variable").exists()

    fixed_spec = model.export_spec()
    fixed_spec.variable_text_length = False
    model.export_spec = lambda: fixed_spec
    bundle = export_model(model, tmp_path / "fixed")
    data = json.loads((bundle / "bundle.json").read_text())
    assert data["graphs"]["text_encoder"]["inputs"][0]["shape"] == ["N", 32]
    runtime = load_model(bundle, device="cpu")
    assert not runtime.info.variable_text_length
    assert runtime.encode_text(["a dog"]).word_tokens.shape == (1, 32, 64)


def test_variable_length_is_declared_on_text_axes(toy_bundle):
    _, bundle = toy_bundle
    graphs = json.loads((bundle / "bundle.json").read_text())["graphs"]
    shapes = {f"{g}.{t['name']}": t["shape"] for g in ("text_encoder", "reranker")
              for t in graphs[g]["inputs"] + graphs[g]["outputs"]}
    assert shapes["text_encoder.token_ids"] == ["N", "L"]
    assert shapes["text_encoder.word_tokens"] == ["N", "L", 64] and shapes["text_encoder.word_mask"] == ["N", "L"]
    assert shapes["reranker.word_tokens"] == [1, "L", 64] and shapes["reranker.word_mask"] == [1, "L"]
    assert shapes["text_encoder.phrase_tokens"] == ["N", P, 64]
