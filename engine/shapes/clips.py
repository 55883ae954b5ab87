"""Training examples straight from the renderer: (frames, caption) pairs without encoding any video.

``generate_training_clips`` yields one shot per example with its event caption;
``generate_temporal_clips`` yields two consecutive shots (a hard cut between them, the background
changes) with the temporal caption ``{event}, then {event}``. Frames are sampled at ``fps`` (or as
exactly ``frames`` evenly spread frames) and optionally passed through JPEG at a random quality so
that the model sees compression artefacts like those of decoded videos.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import cv2
import numpy as np

from engine.errors import ClipSeekError
from engine.shapes.checks import background_difference
from engine.shapes.generate import MIN_CUT_CHANGE
from engine.shapes.language import Event, format_temporal, random_event
from engine.shapes.render import (DURATION, RenderParams, ShotRenderer, render_background, sample_background,
                                  sample_render_params)


@dataclass(frozen=True)
class ClipOptions:
    width: int = 224                      # output frame width
    height: int = 224                     # output frame height
    fps: float = 2.0                      # frames sampled per second of the shot(s)
    frames: int | None = None             # if set: exactly this many frames, evenly spread (overrides fps)
    source_aspect: tuple[float, float] | None = None  # render at a width/height drawn in this range (None:
    fit: str = "crop"                     # the output's), then "crop" the centre or "stretch" to the output
    shot_seconds: tuple[float, float] = DURATION
    jpeg_quality: tuple[int, int] | None = (35, 95)  # JPEG round trip at a quality drawn here; None = off

    def validate(self) -> ClipOptions:
        if self.fit not in ("crop", "stretch"):
            raise ClipSeekError(f"unknown fit {self.fit!r}; choose crop or stretch")
        if self.frames is not None and self.frames < 1 or self.fps <= 0:
            raise ClipSeekError(f"need frames >= 1 or fps > 0, not frames={self.frames}, fps={self.fps}")
        if self.source_aspect is not None and not 0 < self.source_aspect[0] <= self.source_aspect[1]:
            raise ClipSeekError(f"source_aspect must be a range low <= high of positive ratios, not {self.source_aspect}")
        return self


@dataclass(frozen=True)
class TrainingClip:
    frames: np.ndarray            # [T, height, width, 3] uint8 RGB
    times: np.ndarray             # [T] seconds from the start of the first shot
    caption: str
    events: tuple[Event, ...]     # one event, or two for a temporal clip
    boundaries: tuple[float, ...]  # start of each shot and end of the last, seconds
    params: tuple[RenderParams, ...]


def _sample_times(duration: float, options: ClipOptions) -> np.ndarray:
    if options.frames is not None:
        return (np.arange(options.frames) + 0.5) * (duration / options.frames)
    count = max(1, int(duration * options.fps))
    return (np.arange(count) + 0.5) / options.fps


def _source_size(rng: np.random.Generator, options: ClipOptions) -> tuple[int, int]:
    if options.source_aspect is None:
        return options.width, options.height
    aspect = float(rng.uniform(*options.source_aspect))
    if options.fit == "stretch":
        return max(1, round(options.height * aspect)), options.height
    # Crop: the smallest source of this aspect that covers the output.
    height = max(options.height, math.ceil(options.width / aspect))
    return max(options.width, round(height * aspect)), height


def _fit(frame: np.ndarray, options: ClipOptions) -> np.ndarray:
    height, width = frame.shape[:2]
    if (width, height) == (options.width, options.height):
        return frame
    if options.fit == "stretch":
        return cv2.resize(frame, (options.width, options.height), interpolation=cv2.INTER_AREA)
    scale = max(options.width / width, options.height / height)
    resized = cv2.resize(frame, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    top = (resized.shape[0] - options.height) // 2
    left = (resized.shape[1] - options.width) // 2
    return resized[top:top + options.height, left:left + options.width]


def _jpeg(frames: np.ndarray, quality: int) -> np.ndarray:
    out = np.empty_like(frames)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    for i, frame in enumerate(frames):
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), params)
        out[i] = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return out


def _pick_event(rng: np.random.Generator, events: Sequence[Event] | None) -> Event:
    if events is None:
        return random_event(rng)
    return events[rng.integers(len(events))]


def _render_clip(rng: np.random.Generator, chosen: Sequence[Event], options: ClipOptions) -> TrainingClip:
    width, height = _source_size(rng, options)
    native_fps = float(rng.integers(10, 31))
    params, previous = [], None
    for event in chosen:
        while True:
            background = sample_background(rng)
            image = render_background(background, width, height)
            if previous is None or background_difference(previous, image) >= MIN_CUT_CHANGE:
                break
        previous = image
        params.append(sample_render_params(event, rng, width, height, native_fps,
                                           duration=float(rng.uniform(*options.shot_seconds)), background=background))
    boundaries = np.concatenate([[0.0], np.cumsum([p.duration for p in params])])
    times = _sample_times(float(boundaries[-1]), options)
    frames = np.empty((len(times), height, width, 3), np.uint8)
    for shot, (event, shot_params) in enumerate(zip(chosen, params)):
        inside = (times >= boundaries[shot]) & (times < boundaries[shot + 1])
        if inside.any():
            frames[inside] = ShotRenderer(event, shot_params).frames_at(times[inside] - boundaries[shot])
    frames = np.stack([_fit(frame, options) for frame in frames])
    if options.jpeg_quality is not None:
        frames = _jpeg(frames, int(rng.integers(options.jpeg_quality[0], options.jpeg_quality[1] + 1)))
    caption = chosen[0].caption if len(chosen) == 1 else format_temporal(chosen[0], chosen[1])
    return TrainingClip(frames=frames, times=times, caption=caption, events=tuple(chosen),
                        boundaries=tuple(float(b) for b in boundaries), params=tuple(params))


def generate_training_clips(rng: np.random.Generator, n: int | None = None, options: ClipOptions = ClipOptions(),
                            events: Sequence[Event] | None = None) -> Iterator[TrainingClip]:
    """``n`` single-shot examples (forever when None); events drawn uniformly from ``events`` (default: all)."""
    options.validate()
    made = 0
    while n is None or made < n:
        yield _render_clip(rng, [_pick_event(rng, events)], options)
        made += 1


def generate_temporal_clips(rng: np.random.Generator, n: int | None = None, options: ClipOptions = ClipOptions(),
                            events: Sequence[Event] | None = None) -> Iterator[TrainingClip]:
    """``n`` two-shot examples captioned ``{first}, then {second}`` (two different events)."""
    options.validate()
    made = 0
    while n is None or made < n:
        first = _pick_event(rng, events)
        second = _pick_event(rng, events)
        while second == first:
            second = _pick_event(rng, events)
        yield _render_clip(rng, [first, second], options)
        made += 1
