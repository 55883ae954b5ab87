from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine.errors import ClipSeekError
from engine.shapes.language import (COLOR_RGB, COLORS, MOTIONS, SHAPES, SIZES, CaptionError, Event, all_events,
                                    format_event, format_temporal, parse_caption, parse_event, parse_temporal,
                                    random_event)


def test_vocabulary_is_the_spec():
    assert SIZES == ("small", "big")
    assert COLORS == ("red", "green", "blue", "yellow", "purple", "white")
    assert SHAPES == ("circle", "square", "triangle", "star")
    assert MOTIONS == ("moving left", "moving right", "moving up", "moving down", "staying still",
                       "growing", "shrinking")
    assert COLOR_RGB["blue"] == (40, 80, 220) and set(COLOR_RGB) == set(COLORS)


def test_event_caption_format():
    event = Event("big", "red", "circle", "moving left")
    assert format_event(event) == event.caption == "a big red circle moving left"
    assert format_temporal(event, Event("small", "blue", "star", "growing")) == \
        "a big red circle moving left, then a small blue star growing"


def test_every_event_round_trips():
    events = all_events()
    assert len(events) == len(set(events)) == 2 * 6 * 4 * 7
    assert len({e.caption for e in events}) == len(events)
    for event in events:
        assert parse_event(event.caption) == event
        assert parse_caption(event.caption) == (event,)


def test_temporal_captions_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(200):
        first, second = random_event(rng), random_event(rng)
        caption = format_temporal(first, second)
        assert parse_temporal(caption) == (first, second)
        assert parse_caption(caption) == (first, second)


def test_parse_tolerates_case_and_spaces():
    assert parse_event("  A Big  RED circle moving   left ") == Event("big", "red", "circle", "moving left")


@pytest.mark.parametrize("caption, named", [
    ("a huge red circle moving left", "small, big"),
    ("a big orange circle moving left", "red, green"),
    ("a big red hexagon moving left", "circle, square"),
    ("a big red circle spinning", "moving left"),
    ("big red circle moving left", "expected"),
    ("a big red", "expected"),
])
def test_bad_captions_name_the_valid_choices(caption, named):
    with pytest.raises(CaptionError, match=named):
        parse_event(caption)


def test_caption_error_is_a_clipseek_error_and_a_value_error():
    with pytest.raises(ClipSeekError):
        parse_temporal("a big red circle moving left")
    with pytest.raises(ValueError):
        parse_temporal("a big red circle moving left, then a big red circle moving left, then a big red star growing")


def test_random_event_covers_the_vocabulary():
    rng = np.random.default_rng(1)
    seen = {random_event(rng) for _ in range(5000)}
    for words, position in ((SIZES, 0), (COLORS, 1), (SHAPES, 2), (MOTIONS, 3)):
        assert {astuple_word(e, position) for e in seen} == set(words)


def astuple_word(event: Event, position: int) -> str:
    return (event.size, event.color, event.shape, event.motion)[position]


def test_moving_property():
    assert [m for m in MOTIONS if Event("big", "red", "star", m).is_moving] == list(MOTIONS[:4])
    assert list(itertools.islice(all_events(), 1))[0] == Event("small", "red", "circle", "moving left")
