"""Data sources of a training config -> ClipSet: an annotation file, or clips rendered from the shapes world.

Shapes clips are rendered straight at the times the indexer would sample (no video encoding), at a random
frame size and aspect, then squared exactly like the runtime's preprocessing. A clip is one shot with an
event caption, or (``temporal_fraction`` of them) two shots with a hard cut and a temporal caption
"A, then B", each shot giving half of the T frames. Every random choice of a clip is drawn first, in order;
the pixels are then rendered by one process per core when there are many clips.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from engine.model.data import ClipSet, DataError, Sampling, compose_order_pairs, load_annotations, load_clips
from engine.model.data import square_frame
from engine.model.train_config import DataSource
from engine.shapes.language import (COLORS, SHAPES, SIZE_KEEPING_MOTIONS, SIZES, STILL, Event, format_event,
                                    format_object, format_temporal, random_event)
from engine.shapes.render import MIN_SHORT_SIDE, RenderParams, ShotRenderer, sample_render_params, shape_at

log = logging.getLogger(__name__)

RENDER_SHORT_SIDE_RANGE = 2.0          # shorter side drawn from [MIN_SHORT_SIDE, 2 x MIN_SHORT_SIDE) pixels
RENDER_ASPECTS = (1.0, 4 / 3, 16 / 9)  # width / height
ROWS, COLUMNS = ("top", "middle", "bottom"), ("left", "centre", "right")   # thirds named by still_places
MIN_CLIPS_PER_WORKER = 500             # below this a process's start-up (about a second) outweighs its share
CHUNKS_PER_WORKER = 4                  # smaller pieces even out the processes' finishing times


def clips_for_source(source: DataSource, frames_per_clip: int, image_size: int, sample_fps: float,
                     cache_dir: Path | None, resize: str = "center_crop", workers: int | None = None) -> ClipSet:
    """The source's clips; ``workers`` processes render shapes clips (None: one per core for large sets)."""
    if source.kind == "annotations":
        records = load_annotations(Path(source.annotations), source.split)
        clips = load_clips(records, Sampling(sample_fps, frames_per_clip, image_size, resize), cache_dir)
    elif source.kind == "shapes" and source.still:
        clips = shapes_still_clips(source.clips, source.seed, frames_per_clip, image_size, resize,
                                   places=source.still_places, workers=workers)
    elif source.kind == "shapes":
        clips = shapes_clips(source.clips, source.seed, frames_per_clip, image_size, source.temporal_fraction,
                             resize, workers=workers)
    else:
        raise DataError(f"unknown data kind {source.kind!r}")
    if source.order_pairs:
        single = clips.subset(i for i, caps in enumerate(clips.captions) if ", then " not in caps[0])
        pairs = compose_order_pairs(single, source.order_pairs, np.random.default_rng([source.seed, 7]))
        clips = ClipSet.concat([clips, pairs])
    return clips


def shapes_clips(n_clips: int, seed: int, frames_per_clip: int, image_size: int,
                 temporal_fraction: float = 0.3, resize: str = "center_crop", workers: int | None = None) -> ClipSet:
    """``n_clips`` freshly rendered shapes-world clips; a pure function of its arguments."""
    rng = np.random.default_rng(seed)
    T = frames_per_clip
    plans: list[tuple[ShotPlan, ...]] = []
    captions: list[list[str]] = []
    order_matters = np.zeros(n_clips, bool)
    for i in range(n_clips):
        width, height = _frame_size(rng)
        first = random_event(rng)
        if T >= 2 and rng.random() < temporal_fraction:
            second = random_event(rng)
            while second == first:
                second = random_event(rng)
            half = T // 2
            plans.append((_plan_shot(first, rng, width, height, half),
                          _plan_shot(second, rng, width, height, T - half)))
            captions.append([format_temporal(first, second)])
            order_matters[i] = True
        else:
            plans.append((_plan_shot(first, rng, width, height, T),))
            captions.append([format_event(first)])
            order_matters[i] = T >= 2 and first.motion != STILL
    pixels = render_clips(plans, T, image_size, resize, workers)
    return ClipSet(pixels, np.ones((n_clips, T), bool), captions, [f"shapes{seed}_{i}" for i in range(n_clips)],
                   order_matters)


def shapes_still_clips(n_clips: int, seed: int, frames_per_clip: int, image_size: int,
                       resize: str = "center_crop", places: bool = False, workers: int | None = None) -> ClipSet:
    """Still frames for pre-training the frame encoder, as CLIP's image pre-training precedes video methods.

    Each clip is ``frames_per_clip`` frames (usually 1) at random times of one shot whose object keeps its
    size, captioned with the object alone ("a big red circle"): a still cannot show a motion. 2 x 6 x 4 = 48
    captions, so every batch contrasts shapes, colours and sizes directly, at 1/T of a video clip's cost.
    With ``places`` the caption also says in which third of the frame, across and down, the object is at the
    first frame ("a big red circle at the top left"), so the frame vector must keep where things are.
    """
    rng = np.random.default_rng([seed, 5])
    T = frames_per_clip
    plans: list[tuple[ShotPlan, ...]] = []
    captions: list[list[str]] = []
    for _ in range(n_clips):
        width, height = _frame_size(rng)
        event = Event(*(str(rng.choice(words)) for words in (SIZES, COLORS, SHAPES, SIZE_KEEPING_MOTIONS)))
        fps = float(rng.choice([10.0, 15.0, 24.0, 25.0, 30.0]))
        params = sample_render_params(event, rng, width, height, fps)
        times = np.sort(rng.uniform(0.0, params.duration, T))
        plans.append((ShotPlan(event, params, times),))
        caption = format_object(event)
        if places:
            x, y, _ = shape_at(params, float(times[0]))
            caption += f" at the {_third(y / height, ROWS)} {_third(x / width, COLUMNS)}"
        captions.append([caption])
    pixels = render_clips(plans, T, image_size, resize, workers)
    return ClipSet(pixels, np.ones((n_clips, T), bool), captions, [f"still{seed}_{i}" for i in range(n_clips)])


@dataclass(frozen=True)
class ShotPlan:
    """Everything random about one rendered shot, drawn up front: the pixels follow from it alone."""
    event: Event
    params: RenderParams
    times: np.ndarray                  # seconds into the shot of the frames to render


def render_clips(plans: Sequence[tuple[ShotPlan, ...]], frames_per_clip: int, image_size: int,
                 resize: str, workers: int | None = None) -> np.ndarray:
    """[N,T,S,S,3] uint8: each clip's shots rendered one after the other, squared like the runtime does.

    Large sets are rendered by one process per core (12,000 training clips take minutes on one); the plans
    already hold every random draw, so the pixels are the same whichever process renders them.
    """
    count = len(plans)
    if workers is None:
        workers = min(os.cpu_count() or 1, count // MIN_CLIPS_PER_WORKER)
    if workers <= 1:
        return _render_chunk(plans, frames_per_clip, image_size, resize)
    pixels = np.empty((count, frames_per_clip, image_size, image_size, 3), np.uint8)
    bounds = np.linspace(0, count, workers * CHUNKS_PER_WORKER + 1).round().astype(int)
    spans = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            jobs = {pool.submit(_render_chunk, plans[a:b], frames_per_clip, image_size, resize): (a, b)
                    for a, b in spans}
            for job in as_completed(jobs):
                a, b = jobs[job]
                pixels[a:b] = job.result()
    except BrokenProcessPool:
        # A new process imports the caller's main module again; a script without an
        # `if __name__ == "__main__":` guard makes that fail. The clips are the same from one process.
        log.warning("rendering %d clips in this process: the worker processes could not start", count)
        return _render_chunk(plans, frames_per_clip, image_size, resize)
    return pixels


def _render_chunk(plans: Sequence[tuple[ShotPlan, ...]], frames_per_clip: int, image_size: int,
                  resize: str) -> np.ndarray:
    pixels = np.zeros((len(plans), frames_per_clip, image_size, image_size, 3), np.uint8)
    for i, shots in enumerate(plans):
        frames = np.concatenate([ShotRenderer(s.event, s.params).frames_at(s.times) for s in shots])
        pixels[i] = np.stack([square_frame(f, image_size, resize) for f in frames])
    return pixels


def _third(fraction: float, words: tuple[str, str, str]) -> str:
    return words[min(2, max(0, int(fraction * 3)))]


def _frame_size(rng: np.random.Generator) -> tuple[int, int]:
    """A random frame size and aspect, landscape 85 % of the time; (width, height)."""
    short = int(rng.integers(MIN_SHORT_SIDE, round(MIN_SHORT_SIDE * RENDER_SHORT_SIDE_RANGE)))
    aspect = float(RENDER_ASPECTS[rng.integers(len(RENDER_ASPECTS))])
    return (round(short * aspect), short) if rng.random() < 0.85 else (short, round(short * aspect))


def _plan_shot(event: Event, rng: np.random.Generator, width: int, height: int, count: int) -> ShotPlan:
    """``count`` frames spread over one shot as the indexer's sampler would pick them."""
    fps = float(rng.choice([10.0, 15.0, 24.0, 25.0, 30.0]))
    params = sample_render_params(event, rng, width, height, fps)
    # sampled at 2 fps from ~0.25 s in, then `count` spread evenly: first and last samples near the ends
    times = np.linspace(0.25, max(0.25, params.duration - 0.25), count)
    return ShotPlan(event, params, times)
