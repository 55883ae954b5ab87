"""PostgreSQL engines for a shared catalog: URLs, one writer at a time, and failures a person can act on.

Three engines share one pool. Reads are REPEATABLE READ snapshots (as SQLite's WAL readers
are) and take no lock. Writes are READ COMMITTED and begin by taking a transaction-level
advisory lock, the counterpart of SQLite's BEGIN IMMEDIATE. Claims (Catalog.claim_pending)
are READ COMMITTED without that lock: they lock only the rows they take.

psycopg is imported by SQLAlchemy when an engine is made, so the runtime without the
``shared`` extra still imports engine.catalog.
"""
from __future__ import annotations

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError

from engine.errors import CatalogError

WRITE_OPTION = "clipseek_write"
DRIVER = "postgresql+psycopg"
ACCEPTED_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
CONNECT_TIMEOUT_SECONDS = 10
POOL_TIMEOUT_SECONDS = 30.0
# Writers' advisory lock key ("ClipSeek" in ASCII): outside the int4 range of hashtext(), so no
# named_lock can collide with it.
WRITER_LOCK_KEY = 0x436C69705365656B


def parse_url(url: str) -> URL:
    """A postgresql:// (or postgresql+psycopg://) catalog URL, checked; CatalogError says how to write it."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise CatalogError(f"{url!r} is not a database URL; write it as "
                           "postgresql://user:password@host:port/database") from exc
    if parsed.drivername not in ACCEPTED_SCHEMES:
        raise CatalogError(f"the catalog URL {masked(parsed)} names {parsed.drivername!r}; a shared catalog "
                           f"lives on PostgreSQL: write postgresql://user:password@host:port/database")
    if not parsed.database:
        raise CatalogError(f"the catalog URL {masked(parsed)} names no database; add it after the port: "
                           "postgresql://user:password@host:port/database")
    return parsed


def masked(url: URL) -> str:
    """The URL for messages and logs: any password shown as ***."""
    return url.render_as_string(hide_password=True)


def create_engines(url: URL) -> tuple[Engine, Engine, Engine]:
    """(read engine, write engine, claim engine) over one connection pool, through psycopg 3."""
    url = url.set(drivername=DRIVER)
    connect_args = {"application_name": "clipseek"}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    try:
        engine = create_engine(url, connect_args=connect_args, isolation_level="READ COMMITTED",
                               pool_size=8, max_overflow=24, pool_timeout=POOL_TIMEOUT_SECONDS,
                               pool_pre_ping=True)
    except ImportError as exc:
        raise CatalogError(f"a catalog on PostgreSQL needs the psycopg driver, which is not installed ({exc}); "
                           "install clipseek[shared] (pip install 'clipseek[shared]')") from exc

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
            # The vector index replays `changes` by seq and keeps a watermark. With two writers at
            # once, seq 8 could commit after seq 9 was read and passed, and be skipped for ever;
            # one writer at a time makes commit order seq order.
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})")

    read = engine.execution_options(isolation_level="REPEATABLE READ")
    write = engine.execution_options(**{WRITE_OPTION: True})
    return read, write, engine


def translate_error(location: str, exc: DatabaseError) -> CatalogError | None:
    """The CatalogError for a PostgreSQL failure a person can act on; None for anything else (a bug)."""
    message = " ".join(str(exc.orig).split())
    state = getattr(exc.orig, "sqlstate", None) or ""
    where = f"the catalog database {location}"
    if "password authentication failed" in message or "no password supplied" in message or state == "28P01":
        return CatalogError(f"{where} refused the login ({message}); check the user name and password "
                            "in the catalog URL")
    if ("does not exist" in message and "database" in message) or state == "3D000":
        return CatalogError(f"{where} does not exist ({message}); create it (createdb) or correct the "
                            "database name in the catalog URL")
    if state.startswith("28") or "pg_hba.conf" in message or ("role" in message and "does not exist" in message):
        return CatalogError(f"{where} does not let this user in ({message}); check the user name in the "
                            "catalog URL and ask the database administrator for access (pg_hba.conf)")
    if state == "42501":
        return CatalogError(f"{where} refused an operation ({message}); the user in the catalog URL needs "
                            "the rights to create and change tables in that database")
    if state in ("53100", "53200") or "No space left" in message:
        return CatalogError(f"{where} cannot be written ({message}); the database server needs more disk "
                            "space or memory: tell its administrator")
    if state == "40P01":
        return CatalogError(f"{where} broke a deadlock between two programs ({message}); try again")
    if state.startswith("08") or state.startswith("57P") or _is_connection_failure(message):
        return CatalogError(f"cannot reach {where} ({message}); check that the PostgreSQL server is "
                            "running and that the host and port in the catalog URL are right")
    return None


def _is_connection_failure(message: str) -> bool:
    return any(s in message for s in (
        "connection failed", "could not connect", "Connection refused", "connection refused",
        "timeout expired", "could not translate host name", "server closed the connection",
        "connection is closed", "the connection is lost", "No route to host", "Name or service not known"))


def next_ids(conn: Connection, table: str, n: int) -> list[int]:
    """``n`` fresh ids from ``table``'s sequence: never issued before, never issued again."""
    if n == 0:
        return []
    return sorted(conn.execute(text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                                    "FROM generate_series(1, :n)"), {"table": table, "n": n}).scalars())


def last_change_seq(conn: Connection, trimmed_key: str) -> int:
    """The highest committed change seq, surviving trims.

    Not the sequence's own last value: that counts a seq taken by a writer that has not
    committed yet, and a reader that took it as its watermark would never see that change.
    """
    return int(conn.execute(text(
        "SELECT greatest(coalesce((SELECT max(seq) FROM changes), 0), "
        "coalesce((SELECT CAST(value AS BIGINT) FROM meta WHERE key = :key), 0))"), {"key": trimmed_key}).scalar())


def integrity_problems(conn: Connection) -> list[str]:
    """Rows whose parent row is missing (empty when all is well).

    PostgreSQL checks its own pages and enforces the foreign keys; orphans can only come from
    outside ClipSeek (a partial restore, triggers or constraints switched off), so this is a
    cheap consistency check, not a page-level one like SQLite's integrity_check.
    """
    rows = conn.execute(text(
        "(SELECT 'files', f.id, 'folders' FROM files f "
        " WHERE NOT EXISTS (SELECT 1 FROM folders d WHERE d.id = f.folder_id) LIMIT 20) "
        "UNION ALL (SELECT 'segments', s.id, 'files' FROM segments s "
        " WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.id = s.file_id) LIMIT 20) "
        "UNION ALL (SELECT 'embeddings', e.segment_id, 'segments' FROM embeddings e "
        " WHERE NOT EXISTS (SELECT 1 FROM segments s WHERE s.id = e.segment_id) LIMIT 20)"))
    return [f"{table} row {row_id} points to a missing {parent} row" for table, row_id, parent in rows]
