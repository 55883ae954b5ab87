"""Copies of one video met in the same run (a folder and its backup added together): one is decoded, the others
wait for it and then take its moments (Catalog.copy_from_twin) instead of being decoded too."""
from __future__ import annotations


class WaitingCopies:
    def __init__(self) -> None:
        self._decoding: dict[tuple, int] = {}          # content (hash, size) -> the file being decoded
        self._waiting: dict[tuple, list] = {}          # content -> files that wait for it
        self._content_of: dict[int, tuple] = {}        # file being decoded -> its content
        self._indexed: set[tuple] = set()              # contents indexed in this run

    def indexed_before(self, f) -> bool:
        """True when a copy of ``f`` was indexed earlier in this run: ``f`` can take its moments now."""
        return bool(f.content_hash) and (f.content_hash, f.size) in self._indexed

    def holds(self, f) -> bool:
        """True when a copy of ``f`` is being decoded: ``f`` waits for it (and stays claimed). Otherwise ``f`` is
        the one to decode."""
        if not f.content_hash:
            return False
        content = (f.content_hash, f.size)
        if content in self._decoding:
            self._waiting[content].append(f)
            return True
        self._decoding[content] = f.id
        self._content_of[f.id] = content
        self._waiting[content] = []
        return False

    def settle(self, file_id: int, indexed: bool) -> list:
        """The decoded file ``file_id`` has ended, ``indexed`` or not (skipped, failed, its worker lost): the files
        that waited for it."""
        content = self._content_of.pop(file_id, None)
        if content is None:
            return []
        del self._decoding[content]
        if indexed:
            self._indexed.add(content)
        return self._waiting.pop(content)
