"""Typed errors whose messages say what happened and what to do.

Views and the command line show a ``ClipSeekError``'s message as it is; any other
exception is a bug and goes to the log.
"""
from __future__ import annotations


class ClipSeekError(Exception):
    """An error a person can act on; the message names the thing and the fix."""


class BundleError(ClipSeekError):
    """A model bundle is missing, partial, corrupt or of an unknown version."""


class ModelInstallError(ClipSeekError):
    """A model could not be installed (no network, unknown name, bad archive)."""


class CatalogError(ClipSeekError):
    """The library's catalog cannot be opened, read or written."""


class DamagedCatalogError(CatalogError):
    """catalog.sqlite is damaged (``problem``: SQLite's words). ``copy`` names the kept copy that restoring would
    put back (None: none was kept)."""

    def __init__(self, message: str, problem: str, copy: str | None = None):
        super().__init__(message)
        self.problem = problem
        self.copy = copy

    def __reduce__(self):       # whole across processes (an exception pickles only its args by default)
        return type(self), (str(self), self.problem, self.copy)


class DimensionMismatch(ClipSeekError):
    """Vectors of one width were offered to an index of another."""


class MediaError(ClipSeekError):
    """A video cannot be probed or decoded; the file is marked failed with this text."""


class QueryError(ClipSeekError):
    """A search request is malformed (empty text, unreadable image, bad filter)."""


class LibraryError(ClipSeekError):
    """A library-level request cannot be done (unknown folder, library in use...)."""


class VectorStoreError(ClipSeekError):
    """A shared vector store (Milvus) cannot be reached, opened or used."""
