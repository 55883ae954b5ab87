"""File names as the catalog can hold them.

A POSIX file name is bytes; Python decodes the bytes that are not UTF-8 to lone surrogates
(surrogateescape). Such a string cannot be written to the catalog (SQLite, PostgreSQL) or to
UTF-8 output, so the library refuses it and shows it with ``\\xNN`` escapes instead.
"""
from __future__ import annotations

import os


def storable(path: str | os.PathLike) -> bool:
    """True when the name is valid UTF-8 text."""
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(path: str | os.PathLike) -> str:
    """The name as text anyone can print: bytes that are not UTF-8 become ``\\xNN``."""
    text = os.fspath(path)
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:      # a lone surrogate that no file name's bytes decode to
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")
