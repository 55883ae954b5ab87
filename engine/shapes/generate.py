"""Videos of the shapes world: 1-8 shots with hard cuts, and data sets of them with annotations.

A video is first *planned* (every random choice drawn from the caller's Generator into a VideoPlan),
then rendered and encoded without further randomness, so one seed gives the same captions, parameters
and bytes. ``generate_dataset`` writes ``videos/`` plus ``annotations.json`` in the training format.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from engine.errors import ClipSeekError
from engine.shapes.checks import background_difference
from engine.shapes.encode import (FORMATS, QUALITY_RANGE, X264_PRESETS, EncodeSettings, finish_file,
                                  open_writer, partial_path)
from engine.shapes.language import Event, all_events, format_temporal, random_event
from engine.shapes.render import (DURATION, MIN_SHORT_SIDE, Background, RenderParams, ShotRenderer,
                                  render_background, sample_background, sample_render_params)
from engine.util.atomic import atomic_write_text

COMMON_RESOLUTIONS = ((160, 120), (320, 240), (426, 240), (480, 360), (640, 360), (640, 480), (854, 480),
                      (960, 540), (1024, 576), (1280, 720))
BROADCAST_RATES = (Fraction(24000, 1001), Fraction(30000, 1001), Fraction(25, 2), Fraction(25), Fraction(15))
MIN_CUT_CHANGE = 24.0        # mean absolute difference (0..255) between the backgrounds of two shots
ANNOTATIONS = "annotations.json"
VIDEO_FOLDER = "videos"


@dataclass(frozen=True)
class VideoOptions:
    min_size: tuple[int, int] = (160, 120)       # smallest width, height
    max_size: tuple[int, int] = (1280, 720)      # largest width, height
    fps: tuple[float, float] = (10.0, 30.0)      # frame-rate range
    shots: tuple[int, int] = (1, 8)              # shots per video
    shot_seconds: tuple[float, float] = DURATION  # length of one shot
    formats: tuple[tuple[str, str], ...] = FORMATS  # (codec, container) pairs to draw from
    encoder: str = "auto"                        # "auto", "pyav" or "opencv"

    def validate(self) -> VideoOptions:
        (min_w, min_h), (max_w, max_h) = self.min_size, self.max_size
        if min(min_w, min_h) < MIN_SHORT_SIDE or min_w > max_w or min_h > max_h:
            raise ClipSeekError(f"bad video size range {min_w}x{min_h}..{max_w}x{max_h}: sides must be at least "
                                f"{MIN_SHORT_SIDE} pixels and the minimum no larger than the maximum")
        if not 1 <= self.shots[0] <= self.shots[1]:
            raise ClipSeekError(f"bad shots-per-video range {self.shots}; give 1 <= min <= max")
        if not 0 < self.fps[0] <= self.fps[1] or not 0 < self.shot_seconds[0] <= self.shot_seconds[1]:
            raise ClipSeekError(f"bad frame-rate {self.fps} or shot-length {self.shot_seconds} range")
        for codec, container in self.formats:
            EncodeSettings(codec=codec, container=container).validate()
        return self


FAST_OPTIONS = VideoOptions(max_size=(320, 240))   # small frames: quick to write and decode for training


@dataclass(frozen=True)
class ShotPlan:
    event: Event
    params: RenderParams
    first_frame: int             # index of the shot's first frame in the video
    n_frames: int


@dataclass(frozen=True)
class VideoPlan:
    width: int
    height: int
    fps: Fraction
    encode: EncodeSettings
    shots: tuple[ShotPlan, ...]

    @property
    def n_frames(self) -> int:
        return sum(shot.n_frames for shot in self.shots)

    @property
    def duration(self) -> float:
        return float(self.n_frames / self.fps)

    def shot_times(self, shot: ShotPlan) -> tuple[float, float]:
        return float(shot.first_frame / self.fps), float((shot.first_frame + shot.n_frames) / self.fps)

    def annotation(self, video: str) -> dict:
        """The training-format record of this video; ``video`` is its path relative to the data set."""
        shots = []
        for shot in self.shots:
            start, end = self.shot_times(shot)
            shots.append({"start": round(start, 6), "end": round(end, 6), "caption": shot.event.caption,
                          "first_frame": shot.first_frame, "frames": shot.n_frames,
                          "render": shot.params.to_dict()})
        temporal = [{"start": first["start"], "end": second["end"],
                     "caption": format_temporal(a.event, b.event)}
                    for first, second, a, b in zip(shots, shots[1:], self.shots, self.shots[1:])]
        return {
            "video": video,
            "captions": [s["caption"] for s in shots] + [t["caption"] for t in temporal],
            "shots": shots,
            "temporal": temporal,
            "width": self.width, "height": self.height, "fps": float(self.fps),
            "codec": self.encode.codec, "container": self.encode.container, "quality": self.encode.quality,
            "frames": self.n_frames, "duration": round(self.duration, 6),
        }


def sample_resolution(rng: np.random.Generator, options: VideoOptions) -> tuple[int, int]:
    (min_w, min_h), (max_w, max_h) = options.min_size, options.max_size
    common = [(w, h) for w, h in COMMON_RESOLUTIONS if min_w <= w <= max_w and min_h <= h <= max_h]
    if common and rng.random() < 0.4:
        return common[rng.integers(len(common))]
    # Even sides: H.264 and MPEG-4 in 4:2:0 need them.
    height = 2 * int(rng.integers(math.ceil(min_h / 2), max_h // 2 + 1))
    width = 2 * round(height * float(rng.uniform(1.25, 1.9)) / 2)
    width = min(max(width, 2 * math.ceil(min_w / 2)), 2 * (max_w // 2))
    return width, height


def sample_fps(rng: np.random.Generator, options: VideoOptions) -> Fraction:
    low, high = options.fps
    broadcast = [rate for rate in BROADCAST_RATES if low <= rate <= high]
    whole = range(math.ceil(low), math.floor(high) + 1)
    if broadcast and (rng.random() < 0.25 or len(whole) == 0):
        return broadcast[rng.integers(len(broadcast))]
    if len(whole) == 0:
        return Fraction(low).limit_denominator(1001)
    return Fraction(int(whole[rng.integers(len(whole))]))


def sample_encode_settings(rng: np.random.Generator, options: VideoOptions) -> EncodeSettings:
    # Codec first, then its container: H.264 is half of all videos, as in most libraries.
    codecs = sorted({codec for codec, _ in options.formats})
    codec = codecs[rng.integers(len(codecs))]
    containers = [container for c, container in options.formats if c == codec]
    container = containers[rng.integers(len(containers))]
    low, high = QUALITY_RANGE[codec]
    return EncodeSettings(codec=codec, container=container, quality=int(rng.integers(low, high + 1)),
                          preset=str(X264_PRESETS[rng.integers(len(X264_PRESETS))]),
                          gop=int(rng.integers(10, 301)))


def _shot_frames(rng: np.random.Generator, fps: Fraction, seconds: tuple[float, float]) -> int:
    least, most = math.ceil(seconds[0] * fps), max(math.ceil(seconds[0] * fps), math.floor(seconds[1] * fps))
    return min(max(round(float(rng.uniform(*seconds)) * fps), least), most)


def _next_background(rng: np.random.Generator, previous: np.ndarray | None, width: int,
                     height: int) -> tuple[Background, np.ndarray]:
    """A background that differs clearly from the previous shot's, so that every cut is visible.

    Compared on a thumbnail: the difference is mostly one of colour, and full-size noise is slow to draw."""
    thumb_width = min(width, 96)
    thumb_height = max(1, round(height * thumb_width / width))
    while True:
        background = sample_background(rng)
        image = render_background(background, thumb_width, thumb_height)
        if previous is None or background_difference(previous, image) >= MIN_CUT_CHANGE:
            return background, image


def plan_video(rng: np.random.Generator, options: VideoOptions = VideoOptions(),
               events: Sequence[Event] | None = None) -> VideoPlan:
    """Draw every choice of one video; ``events`` fixes the shots' content (else random, no repeats in a row)."""
    options.validate()
    width, height = sample_resolution(rng, options)
    fps = sample_fps(rng, options)
    encode = sample_encode_settings(rng, options)
    if events is None:
        events = []
        for _ in range(int(rng.integers(options.shots[0], options.shots[1] + 1))):
            event = random_event(rng)
            while events and event == events[-1]:
                event = random_event(rng)
            events.append(event)
    shots, first, previous = [], 0, None
    for event in events:
        n_frames = _shot_frames(rng, fps, options.shot_seconds)
        background, previous = _next_background(rng, previous, width, height)
        params = sample_render_params(event, rng, width, height, float(fps), duration=float(n_frames / fps),
                                      background=background)
        shots.append(ShotPlan(event=event, params=params, first_frame=first, n_frames=n_frames))
        first += n_frames
    return VideoPlan(width=width, height=height, fps=fps, encode=encode, shots=tuple(shots))


def write_video(path: Path, plan: VideoPlan, encoder: str = "auto") -> None:
    """Render and encode a planned video to ``path`` (written aside, then moved into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(path)
    writer = open_writer(partial, plan.width, plan.height, plan.fps, plan.encode, encoder)
    try:
        frame = np.empty((plan.height, plan.width, 3), np.uint8)
        for shot in plan.shots:
            renderer = ShotRenderer(shot.event, shot.params)
            for i in range(shot.n_frames):
                writer.write(renderer.frame_at(float(i / plan.fps), out=frame))
        writer.close()
        finish_file(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class GeneratedVideo:
    path: Path
    plan: VideoPlan

    def annotation(self, root: Path | None = None) -> dict:
        video = self.path.relative_to(root).as_posix() if root is not None else self.path.as_posix()
        return self.plan.annotation(video)


def generate_video(path: Path, rng: np.random.Generator, options: VideoOptions = VideoOptions(),
                   events: Sequence[Event] | None = None) -> GeneratedVideo:
    """Plan and write one video. A ``path`` ending in .mp4/.avi/.mkv limits the codecs to those that
    container holds; any other path gets the drawn container's extension appended."""
    path = Path(path)
    container = path.suffix.lower().lstrip(".")
    if container in {c for _, c in FORMATS}:
        formats = tuple(f for f in options.formats if f[1] == container)
        if not formats:
            raise ClipSeekError(f"{path}: none of the allowed formats {options.formats} writes .{container}")
        options = replace(options, formats=formats)
    plan = plan_video(rng, options, events)
    if container != plan.encode.container:
        path = path.with_name(f"{path.name}.{plan.encode.container}")
    write_video(path, plan, options.encoder)
    return GeneratedVideo(path=path, plan=plan)


def video_rng(seed: int, index: int) -> np.random.Generator:
    """The Generator of video ``index`` of a data set: independent of how many videos are made."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


@dataclass
class _EventDeck:
    """Deals every event of the language once (shuffled) before any repeats."""
    rng: np.random.Generator
    cards: list[Event] = field(default_factory=list)

    @classmethod
    def for_data_set(cls, seed: int) -> _EventDeck:
        """The deck of data set ``seed``: its own stream, apart from every video's (video_rng)."""
        return cls(np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**32 - 1,))))

    def deal(self, count: int) -> list[Event]:
        dealt: list[Event] = []
        while len(dealt) < count:
            if not self.cards:
                events = all_events()
                self.cards = [events[i] for i in self.rng.permutation(len(events))]
            card = self.cards.pop()
            if dealt and card == dealt[-1] and self.cards:
                self.cards.insert(0, card)
                card = self.cards.pop()
            dealt.append(card)
        return dealt


def generate_dataset(out_dir: Path, n_videos: int, seed: int, options: VideoOptions = VideoOptions(),
                     distinct_captions: bool = False,
                     progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Write ``n_videos`` videos under ``out_dir/videos`` and ``out_dir/annotations.json``; returns the records.

    ``distinct_captions`` deals every event caption once before any repeats (336 events), so that
    up to 336 shots of the set each have a caption no other shot has: a query names one moment.
    """
    if n_videos < 1:
        raise ClipSeekError(f"the number of videos must be at least 1, not {n_videos}")
    options.validate()
    out_dir = Path(out_dir)
    deck = _EventDeck.for_data_set(seed)
    records = []
    for index in range(n_videos):
        rng = video_rng(seed, index)
        events = None
        if distinct_captions:
            events = deck.deal(int(rng.integers(options.shots[0], options.shots[1] + 1)))
        video = generate_video(out_dir / VIDEO_FOLDER / f"shapes_{index:05d}", rng, options, events)
        records.append(video.annotation(out_dir))
        if progress is not None:
            progress(index + 1, n_videos)
    atomic_write_text(out_dir / ANNOTATIONS, json.dumps(records, indent=1))
    return records


def generate_order_pairs(out_dir: Path, n_pairs: int, seed: int, options: VideoOptions = VideoOptions(),
                         progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Write ``n_pairs`` pairs of two-shot videos, "A then B" and "B then A", and their annotations.

    The two videos of a pair show the same two events in the other order, each drawn on its own
    (size, frame rate, codec, positions, speeds, backgrounds), so in this set a temporal caption is
    found by order alone: a model blind to order can at best pick one of the pair by chance.
    """
    if n_pairs < 1:
        raise ClipSeekError(f"the number of order pairs must be at least 1, not {n_pairs}")
    options = replace(options, shots=(2, 2)).validate()
    out_dir = Path(out_dir)
    deck = _EventDeck.for_data_set(seed)
    records = []
    for pair in range(n_pairs):
        first, second = deck.deal(2)
        for side, events in enumerate(((first, second), (second, first))):
            rng = video_rng(seed, 2 * pair + side)
            video = generate_video(out_dir / VIDEO_FOLDER / f"order_{pair:05d}_{'ab'[side]}", rng, options, events)
            records.append(video.annotation(out_dir))
        if progress is not None:
            progress(pair + 1, n_pairs)
    atomic_write_text(out_dir / ANNOTATIONS, json.dumps(records, indent=1))
    return records


def load_annotations(out_dir: Path) -> list[dict]:
    path = Path(out_dir) / ANNOTATIONS
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ClipSeekError(f"{path} does not exist; generate the data set with "
                            "`clipseek shapes generate OUT --videos N --seed S`") from None
