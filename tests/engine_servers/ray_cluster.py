"""A real local Ray cluster on loopback for the tests: one head node started with `ray start`.

Session-scoped: starting a head takes ten seconds. Skipped when Ray is not installed, unless
CLIPSEEK_REQUIRE_ENGINES=1 (CI), which turns the skip into a failure.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
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
    # In a process group of its own, which the head's processes and its workers keep: stopping the group stops this
    # cluster alone (`ray stop` would stop every Ray on the computer, another test run's too).
    start = subprocess.Popen(
        [str(cli), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", f"--num-cpus={cpus}",
         "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = start.communicate(timeout=180)
        if start.returncode != 0:
            raise RuntimeError(f"`ray start --head` failed:\n{out[-2000:]}\n{err[-2000:]}")
        yield f"127.0.0.1:{port}"
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        _stop_process_group(start.pid)
        shutil.rmtree(temp, ignore_errors=True)


def _stop_process_group(group: int) -> None:
    """SIGTERM, then SIGKILL for what is left after 5 s (the head's servers do not stop on SIGTERM alone)."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _group_alive(group):
                return
            time.sleep(0.1)


def _group_alive(group: int) -> bool:
    """Whether a process of ``group`` still runs (zombies, waiting to be reaped by init, do not count)."""
    listed = subprocess.run(["ps", "-eo", "pgid=,stat="], capture_output=True, text=True).stdout
    return any(line.split()[0] == str(group) and not line.split()[1].startswith("Z")
               for line in listed.splitlines() if len(line.split()) == 2)


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


@pytest.fixture(autouse=True)
def _crash_traces_outlive_ray(request):
    """After a test joined a Ray cluster from this process (the CLI's --ray run in-process, a Library indexing on
    Ray), the crash signals had no handler left: a later crash of the test run said only "Segmentation fault",
    without faulthandler's traceback of every thread. Put faulthandler back after each test once Ray is loaded."""
    yield
    if "ray" in sys.modules:
        _rearm_faulthandler(request.config)


def _rearm_faulthandler(config) -> None:
    import faulthandler

    try:
        from _pytest.faulthandler import fault_handler_stderr_fd_key
    except ImportError:             # another pytest: its traces are its own business
        return
    fd = config.stash.get(fault_handler_stderr_fd_key, None)
    if fd is None or not faulthandler.is_enabled():
        return
    # enable() does nothing while faulthandler believes itself enabled: disable() first, and enable() installs its
    # handlers again.
    faulthandler.disable()
    faulthandler.enable(file=fd, all_threads=True)
