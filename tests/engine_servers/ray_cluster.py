"""A real local Ray cluster on loopback for the tests: one head node started with `ray start`.

Session-scoped: starting a head takes ten seconds. Skipped when Ray is not installed, unless
CLIPSEEK_REQUIRE_ENGINES=1 (CI), which turns the skip into a failure.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

RAY_CPUS = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_cli() -> Path | None:
    candidate = Path(sys.executable).with_name("ray")
    return candidate if candidate.exists() else None


def _unavailable(reason: str):
    if os.environ.get("CLIPSEEK_REQUIRE_ENGINES") == "1":
        pytest.fail(f"{reason} (CLIPSEEK_REQUIRE_ENGINES=1 asks for every engine)")
    pytest.skip(reason)


@contextmanager
def running_ray_head(cpus: int = RAY_CPUS) -> Iterator[str]:
    """Start a Ray head node on loopback; yields its host:port; stops every Ray process after."""
    cli = _ray_cli()
    if cli is None:
        raise RuntimeError(f"no `ray` command beside {sys.executable}; install clipseek[shared]")
    # Unix socket paths must stay short: a temp dir directly under /tmp.
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp" if os.path.isdir("/tmp") else None))
    port = _free_port()
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    started = subprocess.run(
        [str(cli), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", f"--num-cpus={cpus}",
         "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
        env=env, capture_output=True, text=True, timeout=180)
    if started.returncode != 0:
        shutil.rmtree(temp, ignore_errors=True)
        raise RuntimeError(f"`ray start --head` failed:\n{started.stdout[-2000:]}\n{started.stderr[-2000:]}")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        subprocess.run([str(cli), "stop", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="session")
def ray_cluster():
    """host:port of a running Ray head node with RAY_CPUS CPUs."""
    try:
        import ray  # noqa: F401
    except ImportError:
        _unavailable("Ray is not installed (pip install 'clipseek[shared]')")
    if _ray_cli() is None:
        _unavailable(f"no `ray` command beside {sys.executable}")
    with running_ray_head() as address:
        yield address
