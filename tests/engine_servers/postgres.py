"""A real PostgreSQL server for tests: one per session, a fresh database per test.

Fixtures:
    postgres_server  (session) the running server: host, port, user, url(dbname)
    postgres_url     (function) postgresql:// URL of a new empty database, dropped after the test

The server is a throw-away cluster in a temporary folder: initdb, pg_ctl on 127.0.0.1 and a
free port, trust authentication (except for PASSWORD_USER, who must give PASSWORD, so that
a refused login can be tested), durability switched off (tests never survive a crash anyway).
Without the PostgreSQL binaries the tests that need them are skipped, unless
CLIPSEEK_REQUIRE_ENGINES=1 asks for every engine to be there (CI), which makes them fail.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

REQUIRE_ENGINES = "CLIPSEEK_REQUIRE_ENGINES"
SERVICE_USER = "postgres"      # initdb refuses to run as root; the Debian package creates this user
START_TIMEOUT_SECONDS = 60
PASSWORD_USER, PASSWORD = "clipseek_password", "right-password"
PG_HBA = f"""\
local all all trust
host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
"""

# A test server: nothing here needs to survive a crash, and the machine may be busy.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "max_connections": "200",
    "max_wal_size": "256MB",
    "log_min_messages": "warning",
}


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    data_dir: Path

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"


def find_postgres_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else Debian's newest /usr/lib/postgresql/N/bin."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    return Path(candidates[-1]).parent if candidates else None


def _missing(reason: str):
    if os.environ.get(REQUIRE_ENGINES) == "1":
        pytest.fail(f"{reason}; {REQUIRE_ENGINES}=1 requires it (scripts/bootstrap.sh installs Debian's "
                    "postgresql package)", pytrace=False)
    pytest.skip(f"{reason}; install PostgreSQL (Debian: apt-get install postgresql) to run these tests")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_service_user() -> list[str]:
    """initdb and postgres refuse root: run them as the postgres user then."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return ["runuser", "-u", SERVICE_USER, "--"]
    return []


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a throw-away PostgreSQL cluster on 127.0.0.1 (plus the password user of the tests);
    stop and delete it afterwards. Raises RuntimeError when it cannot be started here."""
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL's initdb and pg_ctl were not found")
    prefix = _as_service_user()
    if prefix and shutil.which("runuser") is None:
        raise RuntimeError("running as root, but runuser (needed to start PostgreSQL as its own user) is missing")
    if prefix and not _user_exists(SERVICE_USER):
        raise RuntimeError(f"running as root, but there is no {SERVICE_USER!r} user to run PostgreSQL as")
    # Not under pytest's tmp dir: the postgres user must be able to reach the folder.
    root = Path(tempfile.mkdtemp(prefix="clipseek-pg-"))
    data_dir, socket_dir = root / "data", root / "sock"
    socket_dir.mkdir()
    if prefix:
        shutil.chown(root, user=SERVICE_USER)
        shutil.chown(socket_dir, user=SERVICE_USER)
    started = False
    try:
        _run([*prefix, str(bin_dir / "initdb"), "-D", str(data_dir), "-U", SERVICE_USER, "--auth=trust",
              "--encoding=UTF8", "--locale=C", "--no-sync"], "initdb")
        (data_dir / "pg_hba.conf").write_text(PG_HBA)
        options = " ".join(f"-c {k}={v}" for k, v in {
            **SERVER_SETTINGS, "unix_socket_directories": str(socket_dir)}.items())
        for _ in range(3):            # another program may take the free port before the server does
            port = _free_port()
            done = subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "start", "-w", "-t", str(START_TIMEOUT_SECONDS),
                                   "-D", str(data_dir), "-l", str(root / "server.log"),
                                   "-o", f"-c port={port} {options}"], capture_output=True, text=True)
            if done.returncode == 0:
                started = True
                break
        if not started:
            log = (root / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL did not start in {root}: {done.stderr.strip()}\n{log}")
        server = PostgresServer("127.0.0.1", port, SERVICE_USER, data_dir)
        _create_password_user(server)
        yield server
    finally:
        if started:
            subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "stop", "-D", str(data_dir), "-m", "immediate"],
                           capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def create_database(server: PostgresServer) -> str:
    """A new, empty database on ``server``; returns its URL."""
    name = f"clipseek_test_{uuid.uuid4().hex[:12]}"
    with _psycopg().connect(server.url(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return server.url(name)


def drop_database(server: PostgresServer, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with _psycopg().connect(server.url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server():
    _psycopg()
    if find_postgres_bin() is None:
        _missing("PostgreSQL's initdb and pg_ctl were not found")
    prefix = _as_service_user()
    if prefix and shutil.which("runuser") is None:
        _missing("running as root, but runuser (needed to start PostgreSQL as its own user) is missing")
    if prefix and not _user_exists(SERVICE_USER):
        _missing(f"running as root, but there is no {SERVICE_USER!r} user to run PostgreSQL as")
    with running_postgres() as server:
        yield server


def _psycopg():
    try:
        import psycopg
    except ImportError:
        _missing("the psycopg driver is not installed (pip install 'clipseek[shared]')")
    return psycopg


def _create_password_user(server: PostgresServer) -> None:
    psycopg = _psycopg()
    with psycopg.connect(server.url(), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD '{PASSWORD}'")


@pytest.fixture
def postgres_url(postgres_server):
    """A new, empty database on the session's server, dropped after the test."""
    url = create_database(postgres_server)
    try:
        yield url
    finally:
        drop_database(postgres_server, url)
