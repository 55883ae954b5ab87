"""WaitingCopies: which file of a run's copies of one video is decoded, and which wait for it."""
from __future__ import annotations

from types import SimpleNamespace

from engine.indexer.waiting_copies import WaitingCopies


def _file(file_id: int, content_hash: str | None, size: int = 100):
    return SimpleNamespace(id=file_id, content_hash=content_hash, size=size)


def test_the_first_copy_is_decoded_and_the_others_wait_for_it():
    copies = WaitingCopies()
    first, second, third = _file(1, "h"), _file(2, "h"), _file(3, "h")
    assert not copies.holds(first)
    assert copies.holds(second) and copies.holds(third)
    assert copies.settle(first.id, indexed=True) == [second, third]
    assert copies.indexed_before(_file(4, "h"))


def test_a_copy_that_was_not_indexed_lets_the_next_be_decoded():
    copies = WaitingCopies()
    first, second = _file(1, "h"), _file(2, "h")
    copies.holds(first)
    copies.holds(second)
    assert copies.settle(first.id, indexed=False) == [second]
    assert not copies.indexed_before(second)
    assert not copies.holds(second)       # given back and claimed again, it is decoded


def test_another_size_or_no_hash_is_another_video():
    copies = WaitingCopies()
    assert not copies.holds(_file(1, "h", size=100))
    assert not copies.holds(_file(2, "h", size=101))
    assert not copies.holds(_file(3, None)) and not copies.holds(_file(4, None))
    assert copies.settle(3, indexed=True) == [] and not copies.indexed_before(_file(5, None))
