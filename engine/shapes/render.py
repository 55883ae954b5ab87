"""Render one shot of the shapes world: one flat object on a dark background, as RGB uint8 frames.

``sample_render_params`` draws every free choice (position, speed, duration, background, noise,
colour jitter, exact radius) from the caller's numpy Generator; ``render_shot`` / ``ShotRenderer``
turn an Event plus RenderParams into frames without any further randomness, so a shot is fully
reproducible from its parameters.

Sizes: an object's "radius" is half its width (bounding-box width / 2) for every shape.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from engine.errors import ClipSeekError
from engine.shapes.language import COLOR_RGB, Event

SMALL_RADIUS = (0.05, 0.09)        # radius / shorter frame side at the start of a shot
BIG_RADIUS = (0.14, 0.20)
GROWTH = (2.3, 3.2)                # end radius / start radius of a growing object (spec: >= 2)
SHRINK = (0.30, 0.43)              # end radius / start radius of a shrinking object (spec: <= 0.5)
MAX_GROWN_RADIUS = 0.47            # a grown object still fits the shorter side
TRAVEL = 0.56                      # least share of the frame a moving object crosses (spec: >= 0.5)
DRIFT = 0.08                       # most sideways drift of a moving object, share of the frame
DURATION = (2.5, 8.0)              # seconds per shot
COLOR_JITTER = 20                  # per channel, inside the language's tolerance of 30
BACKGROUND_MAX = 95                # every background channel stays at or below this
BACKGROUND_KINDS = ("uniform", "gradient", "noisy")
MIN_SHORT_SIDE = 112               # below this a small object is too few pixels to show its shape
GRAIN_FRAMES = 6                   # distinct grain patterns cycled over a shot's frames
SUBPIXEL_SHIFT = 4                 # cv2 drawing with 1/16 pixel precision
STAR_INNER = math.sin(math.radians(18)) / math.sin(math.radians(54))  # inner/outer radius of a pentagram


@dataclass(frozen=True)
class Background:
    kind: str                          # "uniform", "gradient" or "noisy"
    color_a: tuple[int, int, int]      # RGB; the uniform colour, a gradient's start or the noise's mean
    color_b: tuple[int, int, int]      # RGB; a gradient's end (unused otherwise)
    angle: float                       # gradient direction, degrees
    texture_sigma: float               # std of the static noise texture ("noisy" only)
    texture_scale: int                 # noise blob size in pixels (1 = per-pixel noise)
    seed: int                          # seeds the static noise texture


@dataclass(frozen=True)
class RenderParams:
    width: int
    height: int
    fps: float                         # native frame rate of the shot
    duration: float                    # seconds
    color: tuple[int, int, int]        # RGB of the object (jittered plain hue)
    start_xy: tuple[float, float]      # centre of the object's bounding box, pixels, at t = 0
    end_xy: tuple[float, float]        # ... at t = duration
    start_radius: float                # half width in pixels at t = 0
    end_radius: float                  # ... at t = duration
    path_curve: str                    # "linear" or "ease" (smoothstep)
    size_curve: str                    # "linear" or "exponential"
    background: Background
    grain_sigma: float                 # std of per-frame noise added to the background
    grain_seed: int

    @property
    def n_frames(self) -> int:
        return max(1, round(self.duration * self.fps))

    def to_dict(self) -> dict:
        """Plain JSON types (tuples become lists)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, data: dict) -> RenderParams:
        fields = dict(data)
        fields["background"] = Background(**{k: tuple(v) if isinstance(v, list) else v
                                             for k, v in data["background"].items()})
        for key in ("color", "start_xy", "end_xy"):
            fields[key] = tuple(data[key])
        return cls(**fields)


def sample_background(rng: np.random.Generator) -> Background:
    kind = BACKGROUND_KINDS[rng.integers(len(BACKGROUND_KINDS))]
    top = int(rng.integers(20, 86))    # brightest channel of this background, before noise

    def dark_color() -> tuple[int, int, int]:
        return tuple(int(c) for c in rng.integers(0, top + 1, size=3))

    texture_scale = int(rng.choice([1, 1, 2, 4, 8, 16, 32]))
    return Background(kind=kind, color_a=dark_color(), color_b=dark_color(), angle=float(rng.uniform(0, 360)),
                      texture_sigma=float(rng.uniform(4, 20)), texture_scale=texture_scale,
                      seed=int(rng.integers(2**31)))


def sample_render_params(event: Event, rng: np.random.Generator, width: int, height: int, fps: float,
                         duration: float | None = None, background: Background | None = None) -> RenderParams:
    """Draw every free choice of one shot that shows ``event``."""
    short = min(width, height)
    if short < MIN_SHORT_SIDE:
        raise ClipSeekError(f"a {width}x{height} frame is too small for the shapes world; "
                            f"the shorter side must be at least {MIN_SHORT_SIDE} pixels")
    if duration is None:
        duration = float(rng.uniform(*DURATION))
    low, high = SMALL_RADIUS if event.size == "small" else BIG_RADIUS
    r0 = float(rng.uniform(low, high)) * short
    r1 = _end_radius(event.motion, r0, short, rng)
    start, end = _path(event.motion, max(r0, r1), width, height, rng)
    color = tuple(int(np.clip(c + rng.integers(-COLOR_JITTER, COLOR_JITTER + 1), 0, 255))
                  for c in COLOR_RGB[event.color])
    grain = float(rng.uniform(0.5, 5.0)) if rng.random() < 0.7 else 0.0
    return RenderParams(
        width=int(width), height=int(height), fps=float(fps), duration=float(duration), color=color,
        start_xy=start, end_xy=end, start_radius=r0, end_radius=r1,
        path_curve=str(rng.choice(["linear", "ease"])), size_curve=str(rng.choice(["linear", "exponential"])),
        background=background if background is not None else sample_background(rng),
        grain_sigma=grain, grain_seed=int(rng.integers(2**31)))


def _end_radius(motion: str, r0: float, short: int, rng: np.random.Generator) -> float:
    if motion == "growing":
        most = max(GROWTH[0], min(GROWTH[1], MAX_GROWN_RADIUS * short / r0))
        return r0 * float(rng.uniform(GROWTH[0], most))
    if motion == "shrinking":
        return r0 * float(rng.uniform(*SHRINK))
    return r0


def _path(motion: str, radius: float, width: int, height: int,
          rng: np.random.Generator) -> tuple[tuple[float, float], tuple[float, float]]:
    """Start and end centre so that the whole object (up to ``radius``) stays inside the frame."""
    # A triangle or star is as tall as it is wide or less, so half-width bounds every shape.
    if not motion.startswith("moving "):
        x = float(rng.uniform(radius, width - radius))
        y = float(rng.uniform(radius, height - radius))
        return (x, y), (x, y)
    direction = motion.split()[1]
    horizontal = direction in ("left", "right")
    along, across = (width, height) if horizontal else (height, width)
    most = along - 2 * radius
    travel = float(rng.uniform(TRAVEL * along, max(TRAVEL * along, most)))
    first = float(rng.uniform(radius, max(radius, along - radius - travel)))
    last = first + travel
    if direction in ("left", "up"):
        first, last = last, first
    drift = float(rng.uniform(-DRIFT, DRIFT)) * across
    side = float(rng.uniform(radius + max(0.0, -drift), across - radius - max(0.0, drift)))
    start, end = (first, side), (last, side + drift)
    if not horizontal:
        start, end = start[::-1], end[::-1]
    return start, end


def render_background(background: Background, width: int, height: int) -> np.ndarray:
    """The static background of a shot: [height, width, 3] uint8, every channel <= BACKGROUND_MAX."""
    a = np.asarray(background.color_a, np.float32)
    if background.kind == "uniform":
        image = np.broadcast_to(a, (height, width, 3)).astype(np.float32)
    elif background.kind == "gradient":
        b = np.asarray(background.color_b, np.float32)
        theta = math.radians(background.angle)
        xs = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, :]
        ys = np.linspace(-0.5, 0.5, height, dtype=np.float32)[:, None]
        ramp = (xs * math.cos(theta) + ys * math.sin(theta))
        ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
        image = a + ramp[..., None] * (b - a)
    elif background.kind == "noisy":
        noise_rng = np.random.default_rng(background.seed)
        scale = max(1, background.texture_scale)
        coarse = noise_rng.normal(0, background.texture_sigma,
                                  size=(math.ceil(height / scale) + 1, math.ceil(width / scale) + 1, 3))
        texture = cv2.resize(coarse.astype(np.float32), (width, height),
                             interpolation=cv2.INTER_NEAREST if scale == 1 else cv2.INTER_LINEAR)
        image = a + texture
    else:
        raise ClipSeekError(f"unknown background kind {background.kind!r}; choose one of {BACKGROUND_KINDS}")
    return np.clip(image, 0, BACKGROUND_MAX).astype(np.uint8)


def shape_at(params: RenderParams, t: float) -> tuple[float, float, float]:
    """Centre x, centre y and radius of the object at time ``t`` seconds."""
    u = min(max(t / params.duration, 0.0), 1.0)
    p = u * u * (3 - 2 * u) if params.path_curve == "ease" else u
    (x0, y0), (x1, y1) = params.start_xy, params.end_xy
    r0, r1 = params.start_radius, params.end_radius
    if params.size_curve == "exponential":
        r = r0 * (r1 / r0) ** u
    else:
        r = r0 + (r1 - r0) * u
    return x0 + (x1 - x0) * p, y0 + (y1 - y0) * p, r


def shape_polygon(shape: str, cx: float, cy: float, r: float) -> np.ndarray:
    """Vertices [N, 2] (x, y) of a square, upward triangle or upright five-pointed star whose
    bounding box is centred on (cx, cy) and is 2r wide."""
    if shape == "square":
        pts = [(-r, -r), (r, -r), (r, r), (-r, r)]
    elif shape == "triangle":
        half_height = r * math.sqrt(3) / 2
        pts = [(0.0, -half_height), (r, half_height), (-r, half_height)]
    elif shape == "star":
        outer = r / math.cos(math.radians(18))
        inner = outer * STAR_INNER
        angles = np.radians(-90 + 36 * np.arange(10))
        radii = np.where(np.arange(10) % 2 == 0, outer, inner)
        xs, ys = radii * np.cos(angles), radii * np.sin(angles)
        ys = ys - (ys.max() + ys.min()) / 2          # centre the bounding box vertically
        pts = list(zip(xs, ys))
    else:
        raise ClipSeekError(f"no polygon for shape {shape!r}")
    return np.asarray(pts, np.float64) + (cx, cy)


def _supersampling(r: float) -> int:
    # Enough sub-pixels per pixel for exact-looking edges, few enough to stay fast for huge objects.
    return 4 if r < 32 else 2 if r < 128 else 1


def _inset(pts: np.ndarray, d: float) -> np.ndarray:
    """The polygon with every edge moved ``d`` inwards (convex and reflex corners alike)."""
    edges = np.roll(pts, -1, axis=0) - pts
    edges /= np.linalg.norm(edges, axis=1, keepdims=True)
    following = np.roll(pts, -1, axis=0)
    signed_area = np.sum(pts[:, 0] * following[:, 1] - following[:, 0] * pts[:, 1]) / 2
    normals = np.stack([-edges[:, 1], edges[:, 0]], axis=1) * (1 if signed_area > 0 else -1)
    before, after = np.roll(normals, 1, axis=0), normals
    return pts + d * (before + after) / (1 + np.sum(before * after, axis=1, keepdims=True))


def draw_shape(image: np.ndarray, shape: str, cx: float, cy: float, r: float, color: tuple[int, int, int]) -> None:
    """Draw one filled shape into ``image`` (RGB uint8, in place), each edge pixel blended by how much
    of it the shape covers (cv2's own LINE_AA fill grows shapes by ~0.65 px, too much for small ones)."""
    height, width = image.shape[:2]
    reach = r / math.cos(math.radians(18)) + 2      # the star's points reach furthest from the centre
    x0, y0 = max(0, math.floor(cx - reach)), max(0, math.floor(cy - reach))
    x1, y1 = min(width, math.ceil(cx + reach) + 1), min(height, math.ceil(cy + reach) + 1)
    if x0 >= x1 or y0 >= y1:
        return
    factor = _supersampling(r)
    # cv2 fills every sub-pixel an edge touches, half a sub-pixel too far; its LINE_AA, ~0.65 pixel.
    line, grow = (cv2.LINE_8, 0.5) if factor > 1 else (cv2.LINE_AA, 0.65)
    mask = np.zeros(((y1 - y0) * factor, (x1 - x0) * factor), np.uint8)
    # A pixel's centre is at integer coordinates; sub-pixel k of pixel p sits at p - 1/2 + (k + 1/2) / factor.
    sx, sy = (cx - x0 + 0.5) * factor - 0.5, (cy - y0 + 0.5) * factor - 0.5
    one = 1 << SUBPIXEL_SHIFT
    if shape == "circle":
        cv2.circle(mask, (round(sx * one), round(sy * one)), round((r * factor - grow) * one), 255, -1, line,
                   SUBPIXEL_SHIFT)
    else:
        pts = _inset(shape_polygon(shape, sx, sy, r * factor), grow)
        cv2.fillPoly(mask, [np.round(pts * one).astype(np.int32)], 255, line, SUBPIXEL_SHIFT)
    if factor > 1:
        mask = cv2.resize(mask, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    coverage = mask.astype(np.float32) / 255
    window = image[y0:y1, x0:x1]
    blended = window + coverage[..., None] * (np.asarray(color, np.float32) - window)
    window[...] = np.rint(blended).astype(np.uint8)


class ShotRenderer:
    """Frames of one shot at any times; holds the precomputed backgrounds (one per grain pattern)."""

    def __init__(self, event: Event, params: RenderParams):
        self.event = event
        self.params = params
        static = render_background(params.background, params.width, params.height)
        grain_rng = np.random.default_rng(params.grain_seed)
        if params.grain_sigma > 0:
            noise = grain_rng.standard_normal((GRAIN_FRAMES, params.height, params.width, 1), np.float32)
            grained = noise * np.float32(params.grain_sigma) + static[None]
            self._backgrounds = np.clip(grained, 0, BACKGROUND_MAX).astype(np.uint8)
        else:
            self._backgrounds = static[None]
        ticks = params.n_frames + 1
        self._grain_order = grain_rng.integers(0, len(self._backgrounds), size=ticks)

    def frame_at(self, t: float, out: np.ndarray | None = None) -> np.ndarray:
        params = self.params
        tick = min(max(int(t * params.fps + 1e-6), 0), len(self._grain_order) - 1)
        background = self._backgrounds[self._grain_order[tick]]
        if out is None:
            out = background.copy()
        else:
            out[...] = background
        cx, cy, r = shape_at(params, t)
        draw_shape(out, self.event.shape, cx, cy, r, params.color)
        return out

    def frames_at(self, times: np.ndarray | list[float]) -> np.ndarray:
        """[len(times), height, width, 3] uint8 RGB."""
        times = np.asarray(times, np.float64)
        frames = np.empty((len(times), self.params.height, self.params.width, 3), np.uint8)
        for i, t in enumerate(times):
            self.frame_at(float(t), out=frames[i])
        return frames

    def frame_times(self) -> np.ndarray:
        """Times of the shot's native frames: i / fps."""
        return np.arange(self.params.n_frames) / self.params.fps


def render_shot(event: Event, params: RenderParams) -> np.ndarray:
    """All native frames of a shot: [n_frames, height, width, 3] uint8 RGB."""
    renderer = ShotRenderer(event, params)
    return renderer.frames_at(renderer.frame_times())
