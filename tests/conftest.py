"""Shared test set-up: hermetic data folder, offline hub, offscreen Qt, a tiny model bundle."""
from __future__ import annotations

import os

# Before anything imports open_clip, huggingface_hub or Qt.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

# Real database, vector and cluster servers for the shared-library tests (tests/engine_servers/).
pytest_plugins = ["engine_servers.postgres", "engine_servers.milvus", "engine_servers.ray_cluster"]


@pytest.fixture(autouse=True)
def _hermetic_data_dir(tmp_path_factory, monkeypatch):
    """Keep every test off the user's real ClipSeek folder."""
    monkeypatch.setenv("CLIPSEEK_DATA_DIR", str(tmp_path_factory.getbasetemp() / "clipseek-data"))


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory):
    """A small exported model bundle (tiny open_clip config, random weights, seed 0)."""
    pytest.importorskip("torch")
    from engine.model.export import export_tiny_bundle

    return export_tiny_bundle(tmp_path_factory.mktemp("bundles") / "tiny")
