"""Read a shot back from its frames and check it against the spec of the shapes world.

``measure_shot`` segments the single bright object from the dark background in every frame;
``check_shot`` lists every way a rendered shot breaks the meaning of its caption (empty = obeys);
``infer_event`` reads the event from the frames alone (an oracle for decoded videos);
``detect_cuts`` finds hard cuts between shots from the background.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.shapes.language import COLOR_RGB, COLOR_TOLERANCE, COLORS, Event

OBJECT_THRESHOLD = 138        # brightest channel above this = object (backgrounds <= ~100, objects >= ~180)
BACKGROUND_LIMIT = 100        # spec: every background channel below about 100
SIZE_SPLIT = 0.115            # radius / shorter side between "small" (<= 0.09) and "big" (>= 0.14)
CUT_THRESHOLD = 12.0          # mean absolute background change (0..255) that counts as a cut
STAR_SOLIDITY = 0.8           # area / convex-hull area: a star ~0.5, every convex shape ~1
# Fill ratio (area / (tallest column x widest row)) of the convex shapes: triangle 0.5,
# circle ~0.785, square 1; these are the midpoints between neighbours.
FILL_SPLITS = ((0.64, "triangle"), (0.90, "circle"))


@dataclass(frozen=True)
class ShotMeasurement:
    """Per-frame measurements of the object; arrays have one entry per frame."""
    width: int
    height: int
    area: np.ndarray              # object area in pixels, from anti-aliased coverage (exact for tiny objects)
    radius: np.ndarray            # half the bounding-box width, pixels (star tips cover under half a pixel)
    centroid: np.ndarray          # [n, 2] x, y of the object's pixels
    box_center: np.ndarray        # [n, 2] x, y of the bounding-box centre
    fill: np.ndarray              # area / (tallest column x widest row of the object)
    solidity: float               # area / convex-hull area, in the frame where the object is largest
    color: np.ndarray             # [3] median RGB of the object's interior
    background_max: int           # brightest background channel, away from the object's edge

    @property
    def short_side(self) -> int:
        return min(self.width, self.height)


def brightest_channel(frames: np.ndarray) -> np.ndarray:
    """[..., h, w] uint8: the largest of R, G, B (np.max over a last axis of 3 is slow)."""
    return np.maximum(np.maximum(frames[..., 0], frames[..., 1]), frames[..., 2])


def object_masks(frames: np.ndarray) -> np.ndarray:
    """[n, h, w] bool: where the object is."""
    return brightest_channel(frames) > OBJECT_THRESHOLD


def measure_shot(frames: np.ndarray) -> ShotMeasurement:
    frames = np.asarray(frames)
    n, height, width, _ = frames.shape
    brightest = brightest_channel(frames)
    masks = brightest > OBJECT_THRESHOLD
    pixels = masks.sum(axis=(1, 2)).astype(np.float64)
    if np.any(pixels == 0):
        empty = np.flatnonzero(pixels == 0)
        raise ValueError(f"no object in frames {empty[:10].tolist()} of {n}")
    cols, rows = masks.any(axis=1), masks.any(axis=2)     # [n, w], [n, h]
    x0, x1 = cols.argmax(axis=1), width - 1 - cols[:, ::-1].argmax(axis=1)
    y0, y1 = rows.argmax(axis=1), height - 1 - rows[:, ::-1].argmax(axis=1)
    xs, ys = np.arange(width), np.arange(height)
    centroid = np.stack([(masks.sum(axis=1) * xs).sum(axis=1) / pixels,
                         (masks.sum(axis=2) * ys).sum(axis=1) / pixels], axis=1)
    box_center = np.stack([(x0 + x1) / 2, (y0 + y1) / 2], axis=1)
    color = _object_color(frames, masks, pixels)
    boxes = np.stack([x0, x1, y0, y1], axis=1)
    area, fill = _coverage_measures(brightest, masks, boxes, float(color.max()))
    return ShotMeasurement(
        width=width, height=height, area=area,
        radius=(x1 - x0 + 1) / 2.0, centroid=centroid, box_center=box_center, fill=fill,
        solidity=_solidity(masks[int(np.argmax(pixels))]), color=color,
        background_max=_background_max(frames, masks))


def _coverage_measures(brightest: np.ndarray, masks: np.ndarray, boxes: np.ndarray,
                       level: float) -> tuple[np.ndarray, np.ndarray]:
    """Object area and fill ratio per frame, from how much of each pixel the object covers.

    Drawing blends object and background by coverage, so (value - background) / (object - background)
    recovers it; a threshold alone is off by a large share for 2-pixel objects and flickers on edges
    that cover exactly half a pixel. Fill = area / (tallest column x widest row), which is 1 for a square,
    pi/4 for a circle and 1/2 for an upward triangle whatever the edges' sub-pixel positions.
    """
    kernel = np.ones((3, 3), np.uint8)
    height, width = masks.shape[1:]
    areas, fills = np.empty(len(masks)), np.empty(len(masks))
    for i, (x0, x1, y0, y1) in enumerate(boxes):
        window = (slice(max(0, y0 - 4), min(height, y1 + 5)), slice(max(0, x0 - 4), min(width, x1 + 5)))
        mask = masks[i][window].astype(np.uint8)
        near = cv2.dilate(mask, kernel).astype(bool)
        ring = cv2.dilate(mask, kernel, iterations=3).astype(bool) & ~near
        values = brightest[i][window].astype(np.float64)
        background = float(np.median(values[ring])) if ring.any() else 0.0
        coverage = np.where(near, np.clip((values - background) / max(level - background, 1.0), 0.0, 1.0), 0.0)
        areas[i] = coverage.sum()
        fills[i] = areas[i] / max(coverage.sum(axis=0).max() * coverage.sum(axis=1).max(), 1e-9)
    return areas, fills


def _solidity(mask: np.ndarray) -> float:
    points = np.argwhere(mask)[:, ::-1].astype(np.int32)
    if len(points) < 3:
        return 1.0
    hull = cv2.convexHull(points)
    # The hull runs through pixel centres; a pixel count of a convex shape also covers half a pixel
    # beyond it all around (perimeter / 2) plus about one pixel at the corners.
    hull_pixels = cv2.contourArea(hull) + cv2.arcLength(hull, True) / 2 + 1
    return float(mask.sum() / hull_pixels)


def _sample_indices(n: int) -> list[int]:
    return sorted({0, n // 2, n - 1})


def _object_color(frames: np.ndarray, masks: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Median RGB of the fully covered pixels where the object is largest (edges blend with the background)."""
    largest = int(np.argmax(pixels))
    inner = cv2.erode(masks[largest].astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    if inner.sum() < 4:
        brightness = brightest_channel(frames[largest])
        inner = masks[largest] & (brightness >= np.percentile(brightness[masks[largest]], 75))
    return np.median(frames[largest][inner], axis=0)


def _background_max(frames: np.ndarray, masks: np.ndarray) -> int:
    kernel = np.ones((3, 3), np.uint8)
    brightest = 0
    for i in _sample_indices(len(frames)):
        near_object = cv2.dilate(masks[i].astype(np.uint8), kernel, iterations=2).astype(bool)
        brightest = max(brightest, int(frames[i][~near_object].max(initial=0)))
    return brightest


def nearest_color(rgb: np.ndarray) -> str:
    distances = [float(np.abs(np.asarray(COLOR_RGB[name]) - rgb).sum()) for name in COLORS]
    return COLORS[int(np.argmin(distances))]


def classify_shape(measurement: ShotMeasurement) -> str:
    """Shape from the solidity and fill ratio of the largest appearance of the object."""
    if measurement.solidity < STAR_SOLIDITY:
        return "star"
    fill = float(measurement.fill[int(np.argmax(measurement.area))])
    for split, shape in FILL_SPLITS:
        if fill < split:
            return shape
    return "square"


def classify_motion(measurement: ShotMeasurement) -> str:
    growth = float(np.sqrt(measurement.area[-1] / measurement.area[0]))
    if growth >= 1.6:
        return "growing"
    if growth <= 1 / 1.6:
        return "shrinking"
    dx, dy = (measurement.centroid[-1] - measurement.centroid[0]) / (measurement.width, measurement.height)
    if max(abs(dx), abs(dy)) < 0.25:
        return "staying still"
    if abs(dx) >= abs(dy):
        return "moving right" if dx > 0 else "moving left"
    return "moving down" if dy > 0 else "moving up"


def _measured(shot: np.ndarray | ShotMeasurement) -> ShotMeasurement:
    return shot if isinstance(shot, ShotMeasurement) else measure_shot(shot)


def infer_event(shot: np.ndarray | ShotMeasurement) -> Event:
    """The event that a shot's frames (or their measurement) show, read from the pixels alone."""
    m = _measured(shot)
    size = "small" if m.radius[0] / m.short_side < SIZE_SPLIT else "big"
    return Event(size, nearest_color(m.color), classify_shape(m), classify_motion(m))


def check_shot(shot: np.ndarray | ShotMeasurement, event: Event) -> list[str]:
    """Every way a shot's frames break the meaning of ``event``'s caption; an empty list means they obey it."""
    m = _measured(shot)
    problems: list[str] = []
    if m.background_max >= BACKGROUND_LIMIT:
        problems.append(f"background too bright: a channel reaches {m.background_max}")
    want = np.asarray(COLOR_RGB[event.color])
    if np.any(np.abs(m.color - want) > COLOR_TOLERANCE):
        problems.append(f"colour {m.color.tolist()} is not {event.color} {want.tolist()} +-{COLOR_TOLERANCE}")
    problems += _size_problems(m, event)
    shape = classify_shape(m)
    if shape != event.shape:
        problems.append(f"shape looks like a {shape}, not a {event.shape}")
    if event.shape == "triangle":
        i = int(np.argmax(m.area))
        if m.centroid[i, 1] <= m.box_center[i, 1]:
            problems.append("triangle does not point up (its mass is not in the lower half)")
    problems += _motion_problems(m, event.motion)
    return problems


def _size_problems(m: ShotMeasurement, event: Event) -> list[str]:
    low, high = (0.05, 0.09) if event.size == "small" else (0.14, 0.20)
    slack = 1.0 / m.short_side + 0.005      # one pixel of anti-aliasing and "about"
    share = m.radius[0] / m.short_side
    if not low - slack <= share <= high + slack:
        return [f"start radius is {share:.3f} of the shorter side; {event.size} is {low}-{high}"]
    return []


def _motion_problems(m: ShotMeasurement, motion: str) -> list[str]:
    growth = float(np.sqrt(m.area[-1] / m.area[0]))
    shift = m.centroid[-1] - m.centroid[0]
    if motion == "growing":
        return [] if growth >= 2.0 else [f"grows only {growth:.2f}x (needs >= 2x)"]
    if motion == "shrinking":
        return [] if growth <= 0.5 else [f"shrinks only to {growth:.2f}x (needs <= 0.5x)"]
    problems = []
    if not 0.8 <= growth <= 1.25:
        problems.append(f"size changes {growth:.2f}x while {motion}")
    if motion == "staying still":
        wander = float(np.abs(m.centroid - m.centroid[0]).max())
        if wander > 1.0:
            problems.append(f"moves {wander:.1f} px while staying still")
        return problems
    direction = motion.split()[1]
    axis, sign = {"left": (0, -1), "right": (0, 1), "up": (1, -1), "down": (1, 1)}[direction]
    extent = sign * shift[axis] / (m.width, m.height)[axis]
    if extent < 0.5:
        problems.append(f"crosses {extent:.2f} of the frame {direction} (needs >= 0.5)")
    return problems


def background_levels(frames: np.ndarray) -> np.ndarray:
    """[n, h, w, 3] int16 frames with object pixels (and their edges) set to -1."""
    levels = frames.astype(np.int16)
    near_object = object_masks(frames)
    kernel = np.ones((3, 3), np.uint8)
    for i in range(len(frames)):
        near_object[i] = cv2.dilate(near_object[i].astype(np.uint8), kernel, iterations=2).astype(bool)
    levels[near_object] = -1
    return levels


def detect_cuts(frames: np.ndarray) -> list[int]:
    """Indices of the first frame of every shot after the first: where the background jumps."""
    levels = background_levels(frames)
    cuts = []
    for i in range(1, len(frames)):
        both = (levels[i - 1, ..., 0] >= 0) & (levels[i, ..., 0] >= 0)
        if not both.any():
            continue
        change = float(np.abs(levels[i][both] - levels[i - 1][both]).mean())
        if change > CUT_THRESHOLD:
            cuts.append(i)
    return cuts


def background_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference (0..255) between two background images of one size."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())
