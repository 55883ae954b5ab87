"""Helpers of the reliability tests: the CLI as a subprocess, a network trap for subprocesses,
and SQLite's integrity check."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Loaded by every Python process started with this folder on PYTHONPATH (workers included):
# any attempt to open a network connection is written to CLIPSEEK_NET_LOG and refused.
SITECUSTOMIZE = '''
import os, socket

_LOG = os.environ.get("CLIPSEEK_NET_LOG")


def _refuse(what, target):
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {what} {target!r}\\n")
    raise OSError(f"network blocked by the test: {what} {target!r}")


def _connect(self, address):
    if self.family == getattr(socket, "AF_UNIX", None):
        return _real_connect(self, address)    # local IPC is not the network
    _refuse("connect", address)


def _connect_ex(self, address):
    if self.family == getattr(socket, "AF_UNIX", None):
        return _real_connect_ex(self, address)
    _refuse("connect_ex", address)


def _create_connection(address, *args, **kwargs):
    _refuse("create_connection", address)


def _getaddrinfo(host, *args, **kwargs):
    _refuse("getaddrinfo", host)


_real_connect, _real_connect_ex = socket.socket.connect, socket.socket.connect_ex
socket.socket.connect, socket.socket.connect_ex = _connect, _connect_ex
socket.create_connection = _create_connection
socket.getaddrinfo = _getaddrinfo
'''


def cli_env(extra_pythonpath: Path | None = None, **env) -> dict[str, str]:
    """The environment of a `clipseek` subprocess: offline hub, this checkout first on the path."""
    out = dict(os.environ)
    parts = [str(extra_pythonpath)] if extra_pythonpath else []
    parts.append(str(REPO))
    if out.get("PYTHONPATH"):
        parts.append(out["PYTHONPATH"])
    out["PYTHONPATH"] = os.pathsep.join(parts)
    out["HF_HUB_OFFLINE"] = "1"
    out.update({k: str(v) for k, v in env.items()})
    return out


def clipseek(library: Path, bundle: Path, *args, env: dict | None = None, timeout: float = 120,
             prefix: list[str] = (), **popen) -> subprocess.CompletedProcess:
    """Run `python -m engine.cli.main --library L --model B ARGS...` to the end (after ``prefix``, if any)."""
    return subprocess.run([*prefix, sys.executable, "-m", "engine.cli.main", "--library", str(library), "--model",
                           str(bundle), *map(str, args)], capture_output=True, text=True,
                          env=env or cli_env(), timeout=timeout, cwd=REPO, **popen)


def integrity(db: Path) -> str:
    """SQLite's own verdict on a catalog file: "ok" or the first problem."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def without_permission_override() -> list[str]:
    """A command prefix under which file permissions hold for this user too (root drops its override)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without util-linux setpriv: no way to make permissions hold")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
