"""Shared set-up of the reliability tests: generated libraries, the CLI as a subprocess, a network trap."""
from __future__ import annotations

from pathlib import Path

import pytest

from reliability_corpus import make_plain_library
from reliability_helpers import SITECUSTOMIZE, cli_env


@pytest.fixture
def network_trap(tmp_path) -> tuple[dict[str, str], Path]:
    """(environment for subprocesses whose sockets are blocked, the file each attempt is logged to)."""
    folder = tmp_path / "net-trap"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    log = tmp_path / "net-attempts.log"
    return cli_env(folder, CLIPSEEK_NET_LOG=log), log


@pytest.fixture(scope="session")
def plain_videos(tmp_path_factory) -> Path:
    """Twelve 3-second videos (made once per session; copy before changing them)."""
    folder = tmp_path_factory.mktemp("reliability-videos") / "videos"
    make_plain_library(folder, 12)
    return folder
