from __future__ import annotations

import time

import numpy as np
import pytest

from engine.errors import ClipSeekError
from engine.shapes.checks import check_shot, infer_event, measure_shot
from engine.shapes.language import SHAPES, Event, all_events, random_event
from engine.shapes.render import (BACKGROUND_MAX, DURATION, RenderParams, render_background, render_shot,
                                  sample_background, sample_render_params, shape_at, shape_polygon)

SIZES = ((160, 120), (224, 224), (256, 144), (200, 150), (120, 160), (320, 180))


def _random_shot(rng: np.random.Generator, index: int, fps: float = 10.0):
    event = random_event(rng)
    width, height = SIZES[index % len(SIZES)]
    return event, sample_render_params(event, rng, width, height, fps)


@pytest.mark.parametrize("seed", [20240501, 1, 2, 3])
def test_every_random_shot_obeys_its_caption(seed):
    """Property test: 4 x 60 independently drawn shots; the frames alone show exactly the caption."""
    rng = np.random.default_rng(seed)
    failures = []
    for index in range(60):
        event, params = _random_shot(rng, index, fps=float(rng.integers(10, 16)))
        measurement = measure_shot(render_shot(event, params))
        problems = check_shot(measurement, event)
        seen = infer_event(measurement)
        if problems or seen != event:
            failures.append((event.caption, seen.caption, problems))
    assert failures == []


@pytest.mark.parametrize("event", [Event("small", "white", "star", "shrinking"),
                                   Event("small", "blue", "triangle", "growing"),
                                   Event("big", "purple", "square", "moving up"),
                                   Event("small", "green", "circle", "moving down")])
def test_hard_cases_at_the_smallest_video_size(event):
    rng = np.random.default_rng(7)
    for _ in range(5):
        params = sample_render_params(event, rng, 160, 120, 10.0)
        frames = render_shot(event, params)
        assert check_shot(frames, event) == []
        assert infer_event(frames) == event


def test_checks_catch_a_wrong_caption():
    rng = np.random.default_rng(3)
    event = Event("small", "red", "circle", "moving left")
    frames = render_shot(event, sample_render_params(event, rng, 224, 224, 10.0))
    assert any("colour" in p for p in check_shot(frames, Event("small", "blue", "circle", "moving left")))
    assert any("radius" in p for p in check_shot(frames, Event("big", "red", "circle", "moving left")))
    assert any("shape" in p for p in check_shot(frames, Event("small", "red", "star", "moving left")))
    assert any("crosses" in p for p in check_shot(frames, Event("small", "red", "circle", "moving right")))
    assert any("staying still" in p for p in check_shot(frames, Event("small", "red", "circle", "staying still")))
    assert any("grows" in p for p in check_shot(frames, Event("small", "red", "circle", "growing")))


def test_same_seed_same_shot():
    event = Event("big", "yellow", "star", "moving right")
    a = sample_render_params(event, np.random.default_rng(5), 224, 224, 12.0)
    b = sample_render_params(event, np.random.default_rng(5), 224, 224, 12.0)
    c = sample_render_params(event, np.random.default_rng(6), 224, 224, 12.0)
    assert a == b and a != c
    assert np.array_equal(render_shot(event, a), render_shot(event, b))


def test_params_round_trip_through_json_types():
    event = Event("big", "green", "triangle", "growing")
    params = sample_render_params(event, np.random.default_rng(9), 320, 180, 25.0)
    import json
    assert RenderParams.from_dict(json.loads(json.dumps(params.to_dict()))) == params


def test_drawn_parameters_follow_the_spec():
    """Pure parameter checks over many draws: sizes, growth, travel, duration, frame bounds."""
    rng = np.random.default_rng(11)
    for index in range(3000):
        event, p = _random_shot(rng, index)
        short = min(p.width, p.height)
        low, high = (0.05, 0.09) if event.size == "small" else (0.14, 0.20)
        assert low * short <= p.start_radius <= high * short
        assert DURATION[0] <= p.duration <= DURATION[1]
        assert all(abs(c - w) <= 20 for c, w in zip(p.color, _hue(event.color)))
        ratio = p.end_radius / p.start_radius
        if event.motion == "growing":
            assert ratio >= 2.3
        elif event.motion == "shrinking":
            assert ratio <= 0.43
        else:
            assert ratio == 1.0
        (x0, y0), (x1, y1) = p.start_xy, p.end_xy
        extent = {"moving left": (x0 - x1) / p.width, "moving right": (x1 - x0) / p.width,
                  "moving up": (y0 - y1) / p.height, "moving down": (y1 - y0) / p.height}.get(event.motion)
        if extent is None:
            assert (x0, y0) == (x1, y1)
        else:
            assert extent >= 0.56
        for t in (0.0, p.duration / 2, p.duration):
            cx, cy, r = shape_at(p, t)
            assert r <= cx <= p.width - r + 1e-6 and r <= cy <= p.height - r + 1e-6


def _hue(color: str) -> tuple[int, int, int]:
    from engine.shapes.language import COLOR_RGB
    return COLOR_RGB[color]


def test_backgrounds_are_dark_and_of_every_kind():
    rng = np.random.default_rng(2)
    kinds = set()
    for _ in range(60):
        background = sample_background(rng)
        kinds.add(background.kind)
        image = render_background(background, 96, 64)
        assert image.shape == (64, 96, 3) and image.dtype == np.uint8
        assert image.max() <= BACKGROUND_MAX
    assert kinds == {"uniform", "gradient", "noisy"}


def test_shape_geometry():
    for shape in ("square", "triangle", "star"):
        pts = shape_polygon(shape, 50.0, 40.0, 10.0)
        assert pts[:, 0].min() == pytest.approx(40.0) and pts[:, 0].max() == pytest.approx(60.0)
        assert (pts[:, 1].min() + pts[:, 1].max()) / 2 == pytest.approx(40.0)
    assert len(shape_polygon("star", 0, 0, 1)) == 10
    triangle = shape_polygon("triangle", 0, 0, 1)
    apex = triangle[np.argmin(triangle[:, 1])]
    assert apex[0] == pytest.approx(0.0) and np.sum(triangle[:, 1] == triangle[:, 1].max()) == 2  # flat base below


def test_still_object_does_not_move_and_moving_one_crosses_half_the_frame():
    rng = np.random.default_rng(4)
    still = Event("big", "white", "square", "staying still")
    frames = render_shot(still, sample_render_params(still, rng, 160, 120, 10.0))
    assert np.ptp(measure_shot(frames).centroid, axis=0).max() == 0.0
    up = Event("big", "white", "circle", "moving up")
    m = measure_shot(render_shot(up, sample_render_params(up, rng, 160, 120, 10.0)))
    assert (m.centroid[0, 1] - m.centroid[-1, 1]) / 120 >= 0.5


def test_every_shape_is_recognised_at_every_size():
    rng = np.random.default_rng(8)
    for event in all_events():
        if event.motion != "staying still" or event.color != "red":
            continue
        frames = render_shot(event, sample_render_params(event, rng, 160, 120, 10.0, duration=2.5))
        assert infer_event(frames) == event
    assert SHAPES == ("circle", "square", "triangle", "star")


def test_frame_too_small_is_refused():
    with pytest.raises(ClipSeekError, match="at least"):
        sample_render_params(Event("big", "red", "circle", "growing"), np.random.default_rng(0), 64, 48, 10.0)


def test_rendering_is_fast():
    event = Event("big", "red", "star", "moving left")
    params = sample_render_params(event, np.random.default_rng(1), 224, 224, 10.0, duration=5.0)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        frames = render_shot(event, params)
        best = min(best, time.perf_counter() - start)
    assert frames.shape == (50, 224, 224, 3)
    assert best < 0.25     # about 0.01-0.04 s on a quiet machine; generous for a shared CI box
