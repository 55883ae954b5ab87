from __future__ import annotations

import threading
import time

import pytest

from engine.indexer.prefetch import prefetch


def test_yields_everything_in_order():
    assert list(prefetch(range(50), depth=3)) == list(range(50))


def test_produces_ahead_in_another_thread():
    producers = []

    def items():
        for i in range(3):
            producers.append(threading.current_thread())
            yield i

    assert list(prefetch(items())) == [0, 1, 2]
    assert all(t is not threading.current_thread() for t in producers)


def test_an_error_in_the_producer_reaches_the_consumer_in_place():
    def items():
        yield 1
        yield 2
        raise ValueError("broken packet")

    got = []
    with pytest.raises(ValueError, match="broken packet"):
        for item in prefetch(items()):
            got.append(item)
    assert got == [1, 2]


def test_stopping_early_stops_the_producer():
    made = []

    def items():
        for i in range(1000):
            made.append(i)
            yield i

    stream = prefetch(items(), depth=2)
    assert next(stream) == 0
    stream.close()
    time.sleep(0.3)
    assert len(made) <= 5


def test_depth_must_be_positive():
    with pytest.raises(ValueError):
        list(prefetch([1], depth=0))
