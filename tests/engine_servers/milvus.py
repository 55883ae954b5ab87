"""A real Milvus Lite server for tests: one per session, a collection prefix of its own per test.

Registered from tests/conftest.py (``pytest_plugins``). Without milvus_lite the tests using
it are skipped with a sentence, unless CLIPSEEK_REQUIRE_ENGINES=1 asks for them to fail.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from engine.vectors.milvus_store import GRPC_OPTIONS


REQUIRE_ENGINES = "CLIPSEEK_REQUIRE_ENGINES"
START_SECONDS = 60.0


@dataclass(frozen=True)
class MilvusTarget:
    uri: str        # http://127.0.0.1:PORT of the session's server
    prefix: str     # collection prefix of this test alone


def engine_missing(reason: str) -> None:
    if os.environ.get(REQUIRE_ENGINES) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENGINES}=1 says the engine tests must run")
    pytest.skip(reason)


def require_milvus_lite() -> None:
    try:
        import milvus_lite  # noqa: F401
        import pymilvus  # noqa: F401
    except ImportError:
        engine_missing("Milvus Lite is not installed (pip install 'clipseek[shared]'), so the Milvus tests "
                       "cannot run")


@contextmanager
def running_milvus(root: Path | None = None) -> Iterator[str]:
    """Start ``python -m milvus_lite server`` on 127.0.0.1 (data under ``root``); yields its URI."""
    root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="clipseek-milvus-"))
    port = _free_port()
    log_path = root / "server.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(root / "data"),
             "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait_until_it_answers(uri, server, log_path)
        yield uri
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory) -> Iterator[str]:
    """URI of a Milvus Lite server on 127.0.0.1, stopped when the session ends."""
    require_milvus_lite()
    with running_milvus(tmp_path_factory.mktemp("milvus")) as uri:
        yield uri


@pytest.fixture
def milvus_uri(milvus_server) -> Iterator[MilvusTarget]:
    """The session's server and a collection prefix no other test uses; its collections are dropped after."""
    from pymilvus import MilvusClient

    target = MilvusTarget(milvus_server, f"t{uuid.uuid4().hex[:12]}")
    yield target
    client = MilvusClient(uri=milvus_server, grpc_options=GRPC_OPTIONS)
    try:
        for name in client.list_collections():
            if name.startswith(target.prefix + "_"):
                client.drop_collection(name)
    finally:
        client.close()


@pytest.fixture
def milvus_store_url(milvus_server) -> Iterator[str]:
    """A library's vector_store setting on the session's server; collections made meanwhile are dropped."""
    from pymilvus import MilvusClient

    client = MilvusClient(uri=milvus_server, grpc_options=GRPC_OPTIONS)
    before = set(client.list_collections())
    try:
        yield milvus_server
        for name in set(client.list_collections()) - before:
            client.drop_collection(name)
    finally:
        client.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_it_answers(uri: str, server: subprocess.Popen, log_path: Path) -> None:
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    deadline = time.monotonic() + START_SECONDS
    while True:
        if server.poll() is not None:
            pytest.fail(f"the Milvus Lite server exited with {server.returncode}: "
                        f"{log_path.read_text(errors='replace')[-2000:]}")
        try:
            client = MilvusClient(uri=uri, timeout=2, grpc_options=GRPC_OPTIONS)
            client.list_collections()
            client.close()
            return
        except MilvusException:
            if time.monotonic() > deadline:
                pytest.fail(f"the Milvus Lite server at {uri} did not answer within {START_SECONDS:.0f} s")
            time.sleep(0.2)
