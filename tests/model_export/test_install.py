"""`model install`: fast, clear failure offline; cached weights still install."""
from __future__ import annotations

import time

import huggingface_hub.constants
import open_clip
import pytest
import torch

from engine.errors import ModelInstallError
from engine.model import install as install_module
from engine.model.backbone import build_clip
from engine.model.install import install, parse_spec
from engine.runtime.bundle import open_bundle, verify


@pytest.fixture
def empty_caches(monkeypatch, tmp_path):
    """No weights cached anywhere, whatever this machine downloaded before."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_parse_spec():
    spec = parse_spec("openclip:ViT-B-32/laion2b_s34b_b79k")
    assert (spec.model_name, spec.tag, spec.bundle_name) == ("ViT-B-32", "laion2b_s34b_b79k",
                                                             "ViT-B-32-laion2b_s34b_b79k")
    with pytest.raises(ModelInstallError, match="openclip:MODEL/TAG"):
        parse_spec("ViT-B-32")


def test_unknown_tag_lists_known_ones(tmp_path):
    with pytest.raises(ModelInstallError, match="laion2b_s34b_b79k"):
        install("openclip:ViT-B-32/no-such-tag", tmp_path, online=False)


@pytest.mark.parametrize("host", ["10.255.255.1", "clipseek-no-network.invalid"])
def test_offline_install_fails_within_seconds(monkeypatch, empty_caches, tmp_path, host):
    # A black-holed address (connect would hang) and a name that does not resolve.
    monkeypatch.setattr(install_module, "HUB_HOST", host)
    start = time.monotonic()
    with pytest.raises(ModelInstallError, match="clipseek model import PATH"):
        install("openclip:ViT-B-32/laion2b_s34b_b79k", tmp_path / "models")
    assert time.monotonic() - start < 10
    assert not (tmp_path / "models" / "ViT-B-32-laion2b_s34b_b79k").exists()


def test_cached_weights_install_offline(monkeypatch, empty_caches, tmp_path):
    torch.manual_seed(5)
    trained = build_clip("clipseek-tiny")
    cache = tmp_path / "home" / ".cache" / "clip"
    cache.mkdir(parents=True)
    torch.save(trained.state_dict(), cache / "tiny-weights.pt")
    tags = {"unit": {"url": "https://example.invalid/tiny-weights.pt", "hf_hub": "",
                     "mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25)}}
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, "clipseek-tiny", tags)
    steps = []
    bundle = install("openclip:clipseek-tiny/unit", tmp_path / "models", frames_per_clip=4, online=False,
                     progress=steps.append)
    assert steps[0].startswith("looking for cached weights") and steps[-1].startswith("exporting")
    assert bundle == tmp_path / "models" / "clipseek-tiny-unit"
    info = open_bundle(bundle)
    assert verify(bundle) == []
    assert info.config["weights"] == "pretrained:unit"
    assert info.mean == (0.5, 0.5, 0.5) and info.std == (0.25, 0.25, 0.25)


def test_no_cached_copy_offline(empty_caches, tmp_path):
    with pytest.raises(ModelInstallError, match="no cached copy"):
        install("openclip:ViT-B-32/openai", tmp_path, online=False)
