from __future__ import annotations

import numpy as np
import pytest

from engine.errors import ClipSeekError
from engine.shapes.checks import detect_cuts, infer_event, measure_shot, nearest_color
from engine.shapes.clips import ClipOptions, generate_temporal_clips, generate_training_clips
from engine.shapes.language import Event, parse_event, parse_temporal

RAW = ClipOptions(jpeg_quality=None)


def test_training_clips_show_their_captions():
    clips = list(generate_training_clips(np.random.default_rng(0), 30, ClipOptions(fps=3.0, jpeg_quality=None)))
    assert len(clips) == 30
    for clip in clips:
        (event,) = clip.events
        assert parse_event(clip.caption) == event
        assert clip.frames.dtype == np.uint8 and clip.frames.shape[1:] == (224, 224, 3)
        duration = clip.boundaries[-1]
        assert len(clip.frames) == len(clip.times) == int(duration * 3.0)
        assert np.all((clip.times > 0) & (clip.times < duration))
        assert infer_event(clip.frames) == event


def test_fixed_frame_count_and_jpeg_keep_the_content():
    options = ClipOptions(width=160, height=128, frames=8, jpeg_quality=(35, 40))
    for clip in generate_training_clips(np.random.default_rng(1), 10, options):
        assert clip.frames.shape == (8, 128, 160, 3)
        # JPEG blurs a shrunken object away at the end; the first frame shows it at full size.
        assert nearest_color(measure_shot(clip.frames[:1]).color) == clip.events[0].color


def test_same_generator_same_clips():
    a = next(generate_training_clips(np.random.default_rng(2), 1, ClipOptions(frames=4)))
    b = next(generate_training_clips(np.random.default_rng(2), 1, ClipOptions(frames=4)))
    c = next(generate_training_clips(np.random.default_rng(3), 1, ClipOptions(frames=4)))
    assert a.caption == b.caption and a.params == b.params and np.array_equal(a.frames, b.frames)
    assert a.params != c.params


def test_events_restrict_what_is_drawn():
    allowed = [Event("big", "red", "circle", "growing"), Event("small", "white", "square", "moving left")]
    clips = generate_training_clips(np.random.default_rng(4), 20, ClipOptions(frames=2), events=allowed)
    assert {clip.events[0] for clip in clips} == set(allowed)


def test_temporal_clips_cut_between_two_different_events():
    clips = list(generate_temporal_clips(np.random.default_rng(5), 8, ClipOptions(fps=4.0, jpeg_quality=None)))
    for clip in clips:
        first, second = clip.events
        assert first != second and parse_temporal(clip.caption) == (first, second)
        start, cut, end = clip.boundaries
        assert start == 0.0 and 2.5 <= cut <= 8.0 and 5.0 <= end <= 16.0
        before = clip.times < cut
        assert detect_cuts(clip.frames) == [int(before.sum())]
        assert infer_event(clip.frames[before]) == first
        assert infer_event(clip.frames[~before]) == second


def test_wide_sources_are_cropped_or_stretched_to_the_output_size():
    for fit in ("crop", "stretch"):
        options = ClipOptions(width=128, height=128, frames=3, source_aspect=(1.5, 1.8), fit=fit)
        clip = next(generate_training_clips(np.random.default_rng(6), 1, options))
        assert clip.frames.shape == (3, 128, 128, 3)
        assert 1.5 <= clip.params[0].width / clip.params[0].height <= 1.8
    wide = next(generate_training_clips(np.random.default_rng(6), 1, ClipOptions(width=256, height=144, frames=2)))
    assert wide.frames.shape == (2, 144, 256, 3) and (wide.params[0].width, wide.params[0].height) == (256, 144)


@pytest.mark.parametrize("options", [ClipOptions(fit="pad"), ClipOptions(frames=0), ClipOptions(fps=0),
                                     ClipOptions(source_aspect=(1.5, 1.0))])
def test_bad_options_are_refused(options):
    with pytest.raises(ClipSeekError):
        next(generate_training_clips(np.random.default_rng(0), 1, options))


def test_unbounded_stream():
    stream = generate_training_clips(np.random.default_rng(7), None, ClipOptions(frames=1))
    assert len([next(stream) for _ in range(5)]) == 5
