"""Symmetry augmentation: which batches are flipped or reversed, their captions, their pixels."""
from __future__ import annotations

import numpy as np
import pytest

from engine.model.augment import MIRRORED, REVERSED, SymmetryAugmenter
from engine.model.train_config import TrainConfig, TrainConfigError
from engine.shapes.language import all_events, format_temporal

LEFT = "a big red circle moving left"
GROW = "a small blue star growing"
PAIR = "a small red circle moving left, then a small red square moving up"


def test_a_batch_is_mirrored_whole_and_reversed_where_the_world_allows():
    captions = [LEFT, GROW, PAIR]
    both = SymmetryAugmenter(captions, 1.0, 1.0, seed=0)
    variant, texts = both.draw(0, captions)
    assert variant.mirrored
    assert texts == ["a big red circle moving left", GROW,
                     "a small red square moving down, then a small red circle moving left"]
    assert variant.codes.tolist() == [MIRRORED | REVERSED, MIRRORED, MIRRORED | REVERSED]
    plain = SymmetryAugmenter(captions, 0.0, 0.0, seed=0)
    variant, texts = plain.draw(0, captions)
    assert texts == captions and variant.codes.tolist() == [0, 0, 0] and not variant.mirrored


def test_draws_depend_on_seed_and_step_only():
    captions = [LEFT, GROW]
    a = SymmetryAugmenter(captions, 0.5, 0.5, seed=4)
    b = SymmetryAugmenter(captions, 0.5, 0.5, seed=4)
    drawn = [a.draw(step, captions)[0].codes.tolist() for step in range(40)]
    assert drawn == [b.draw(step, captions)[0].codes.tolist() for step in range(40)]
    assert {tuple(d) for d in drawn} == {(0, 0), (MIRRORED, MIRRORED), (REVERSED, 0), (MIRRORED | REVERSED, MIRRORED)}
    other = SymmetryAugmenter(captions, 0.5, 0.5, seed=5)
    assert drawn != [other.draw(step, captions)[0].codes.tolist() for step in range(40)]


def test_rewritten_batches_keep_their_captions_distinct_and_in_the_token_table():
    rng = np.random.default_rng(0)
    events = all_events()
    training = sorted({events[i].caption for i in rng.integers(len(events), size=150)} |
                      {format_temporal(events[i], events[j]) for i, j in rng.integers(len(events), size=(80, 2))})
    augmenter = SymmetryAugmenter(training, 0.5, 0.5, seed=1)
    known = set(training) | set(augmenter.variants())
    assert not set(augmenter.variants()) & set(training)
    for step in range(200):
        batch = list(rng.choice(training, size=24, replace=False))
        _, texts = augmenter.draw(step, batch)
        assert len(set(texts)) == len(texts)
        assert set(texts) <= known


def test_pixels_flip_left_to_right_and_valid_frames_play_backwards():
    pixels = np.arange(2 * 3 * 2 * 2 * 3, dtype=np.uint8).reshape(2, 3, 2, 2, 3)
    mask = np.array([[True, True, False], [True, True, True]])
    captions = [LEFT, GROW]
    variant, _ = SymmetryAugmenter(captions, 1.0, 1.0, seed=0).draw(0, captions)
    out = SymmetryAugmenter.apply(pixels, mask, variant)
    mirrored = pixels[:, :, :, ::-1]
    np.testing.assert_array_equal(out[0, :2], mirrored[0, [1, 0]])     # reversed among its 2 valid frames
    np.testing.assert_array_equal(out[0, 2], mirrored[0, 2])           # padding stays where it was
    np.testing.assert_array_equal(out[1], mirrored[1])                  # growing: flipped, not reversed
    assert pixels[0, 0, 0, 0, 0] == 0                                   # the clip set itself is untouched


def test_config_refuses_augmenting_captions_outside_the_shapes_world():
    with pytest.raises(TrainConfigError, match="shapes"):
        TrainConfig.from_dict({"data": {"kind": "annotations", "annotations": "a.json"}, "mirror_probability": 0.5})
    with pytest.raises(TrainConfigError, match="0..1"):
        TrainConfig.from_dict({"reverse_probability": 1.5})
