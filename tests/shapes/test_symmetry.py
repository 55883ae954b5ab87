"""Mirrored and backwards captions against the pixels: the world's own checks read the flipped or reversed
frames as exactly the rewritten caption, so training may use both as extra clips (engine/model/augment.py)."""
from __future__ import annotations

import numpy as np
import pytest

from engine.shapes.checks import infer_event
from engine.shapes.language import (CaptionError, Event, all_events, mirror_caption, parse_event,
                                    reverse_caption)
from engine.shapes.render import render_shot, sample_render_params


def test_mirror_swaps_left_and_right_only():
    assert mirror_caption("a big red circle moving left") == "a big red circle moving right"
    assert mirror_caption("a small blue star moving right") == "a small blue star moving left"
    for motion in ("moving up", "moving down", "staying still", "growing", "shrinking"):
        assert mirror_caption(f"a big red circle {motion}") == f"a big red circle {motion}"
    assert mirror_caption("a big red circle moving left, then a small blue star growing") == \
        "a big red circle moving right, then a small blue star growing"


def test_mirror_and_reverse_are_their_own_inverses():
    for event in all_events():
        assert mirror_caption(mirror_caption(event.caption)) == event.caption
        backwards = reverse_caption(event.caption)
        if backwards is not None:
            assert reverse_caption(backwards) == event.caption
    pair = "a big red circle moving left, then a small blue star moving up"
    assert reverse_caption(pair) == "a small blue star moving down, then a big red circle moving right"
    assert reverse_caption(reverse_caption(pair)) == pair


def test_size_changes_have_no_backwards_caption():
    assert reverse_caption("a small red circle growing") is None
    assert reverse_caption("a big red circle shrinking") is None
    assert reverse_caption("a big red circle moving left, then a small blue star growing") is None
    assert reverse_caption("a big red circle staying still") == "a big red circle staying still"


def test_rewrites_are_bijections_on_the_language():
    captions = [e.caption for e in all_events()]
    assert len({mirror_caption(c) for c in captions}) == len(captions)
    backwards = [b for b in map(reverse_caption, captions) if b is not None]
    assert len(set(backwards)) == len(backwards) == 2 * 6 * 4 * 5


def test_a_caption_outside_the_language_is_refused():
    with pytest.raises(CaptionError):
        mirror_caption("a dog jumping into a lake")
    with pytest.raises(CaptionError):
        reverse_caption("a big red circle moving sideways")


@pytest.mark.parametrize("seed", [0, 1])
def test_flipped_and_reversed_frames_show_the_rewritten_caption(seed):
    """Property test: 2 x 28 random shots; the frames flipped (or played backwards) read as the new caption."""
    rng = np.random.default_rng(seed)
    events = all_events()
    failures = []
    for index in range(28):
        event = events[rng.integers(len(events))]
        width, height = ((224, 160), (160, 224), (256, 144))[index % 3]
        frames = render_shot(event, sample_render_params(event, rng, width, height, 10.0))
        flipped = infer_event(np.ascontiguousarray(frames[:, :, ::-1]))
        if flipped != parse_event(mirror_caption(event.caption)):
            failures.append(("mirror", event.caption, flipped.caption))
        backwards = reverse_caption(event.caption)
        if backwards is not None:
            seen = infer_event(np.ascontiguousarray(frames[::-1]))
            if seen != parse_event(backwards):
                failures.append(("reverse", event.caption, seen.caption))
    assert failures == []


def test_a_growing_shot_played_backwards_is_no_small_shrinking_one():
    event = Event("small", "red", "circle", "growing")
    frames = render_shot(event, sample_render_params(event, np.random.default_rng(3), 224, 224, 10.0))
    seen = infer_event(np.ascontiguousarray(frames[::-1]))
    assert seen.motion == "shrinking" and seen.size == "big"
