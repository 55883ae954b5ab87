"""The tiny exported bundle for the runtime tests, and private copies to damage."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def runtime_bundle(tiny_bundle) -> Path:
    """Read-only tiny bundle (tests/conftest.py: custom tiny config, random weights, seed 0, T=4)."""
    return tiny_bundle


@pytest.fixture
def bundle_copy(runtime_bundle, tmp_path) -> Path:
    """A private copy a test may damage."""
    return Path(shutil.copytree(runtime_bundle, tmp_path / "bundle"))
