"""Which database holds a catalog: catalog.sqlite in the library folder, or a shared PostgreSQL one.

``open_database`` gives the Catalog everything that differs between the two: engines,
the name used in messages, and how failures become CatalogErrors.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError

from engine.catalog import postgres, sqlite
from engine.errors import DamagedCatalogError

CATALOG_FILE = "catalog.sqlite"


@dataclass(frozen=True)
class Database:
    dialect: str              # "sqlite" or "postgresql"
    location: str             # for messages: the file path, or the URL with its password as ***
    path: Path | None         # the SQLite file; None on PostgreSQL
    read_engine: Engine       # snapshot reads that never wait for a writer
    write_engine: Engine      # one writer at a time: BEGIN IMMEDIATE, or the writers' advisory lock
    claim_engine: Engine      # claims: the write engine on SQLite; row locks only on PostgreSQL
    damage_seen: list[DamagedCatalogError] = field(default_factory=list, compare=False, repr=False)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def translate_errors(self) -> Iterator[None]:
        """Failures a person can act on become CatalogErrors that say what to do."""
        try:
            yield
        except DatabaseError as exc:
            error = (postgres.translate_error(self.location, exc) if self.is_postgres
                     else sqlite.translate_error(self.path, exc))
            if error is None:
                raise
            if isinstance(error, DamagedCatalogError) and not self.damage_seen:
                self.damage_seen.append(error)     # kept, so that whoever shows the error can offer the cure
            raise error from exc

    def dispose(self) -> None:
        self.read_engine.dispose()


def open_database(library_dir: Path, url: str | None) -> Database:
    """Engines for ``library_dir/catalog.sqlite`` (``url`` None) or for the PostgreSQL database at ``url``."""
    if url is None:
        db_path = library_dir / CATALOG_FILE
        sqlite.check_database_file(db_path)
        read_engine, write_engine = sqlite.create_engines(db_path)
        return Database("sqlite", str(db_path), db_path, read_engine, write_engine, write_engine)
    parsed = postgres.parse_url(url)
    read_engine, write_engine, claim_engine = postgres.create_engines(parsed)
    return Database("postgresql", postgres.masked(parsed), None, read_engine, write_engine, claim_engine)
