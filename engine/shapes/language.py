"""The fixed caption language of the shapes world (docs: /work/shared/shapes_world.md).

An event caption is exactly ``a {size} {color} {shape} {motion}``; a temporal caption joins two
events that happen one after the other: ``{event}, then {event}``.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from engine.errors import ClipSeekError

SIZES = ("small", "big")
COLORS = ("red", "green", "blue", "yellow", "purple", "white")
SHAPES = ("circle", "square", "triangle", "star")
MOTIONS = ("moving left", "moving right", "moving up", "moving down", "staying still", "growing", "shrinking")
SIZE_KEEPING_MOTIONS = MOTIONS[:5]     # a still frame of these shows the size the caption names
STILL = MOTIONS[4]                     # the one motion that looks the same played backwards

# The plain hue each colour word names, RGB; renders stay within COLOR_TOLERANCE per channel.
COLOR_RGB: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (60, 200, 60),
    "blue": (40, 80, 220),
    "yellow": (230, 220, 40),
    "purple": (160, 60, 200),
    "white": (245, 245, 245),
}
COLOR_TOLERANCE = 30

THEN = ", then "


class CaptionError(ClipSeekError, ValueError):
    """A caption is not a sentence of the shapes-world language."""


@dataclass(frozen=True, order=True)
class Event:
    """One shot's content: a single object of one size, colour and shape doing one motion."""
    size: str
    color: str
    shape: str
    motion: str

    def __post_init__(self) -> None:
        for word, vocabulary, kind in ((self.size, SIZES, "size"), (self.color, COLORS, "color"),
                                       (self.shape, SHAPES, "shape"), (self.motion, MOTIONS, "motion")):
            if word not in vocabulary:
                raise CaptionError(f"unknown {kind} {word!r}; choose one of: {', '.join(vocabulary)}")

    @property
    def caption(self) -> str:
        return format_event(self)

    @property
    def is_moving(self) -> bool:
        return self.motion.startswith("moving ")


def format_event(event: Event) -> str:
    return f"a {event.size} {event.color} {event.shape} {event.motion}"


def format_object(event: Event) -> str:
    """The object alone, ``a {size} {color} {shape}``: what one still frame shows (training captions only)."""
    return f"a {event.size} {event.color} {event.shape}"


def format_temporal(first: Event, second: Event) -> str:
    return f"{format_event(first)}{THEN}{format_event(second)}"


def parse_event(caption: str) -> Event:
    """Read an event caption back into an Event; CaptionError names what does not fit."""
    words = caption.strip().lower().split()
    if len(words) < 5 or words[0] != "a":
        raise CaptionError(f"{caption!r} is not an event caption; expected 'a {{size}} {{color}} {{shape}} {{motion}}', "
                           "e.g. 'a big red circle moving left'")
    size, color, shape = words[1:4]
    motion = " ".join(words[4:])
    return Event(size, color, shape, motion)


def parse_temporal(caption: str) -> tuple[Event, Event]:
    parts = caption.strip().lower().split(THEN)
    if len(parts) != 2:
        raise CaptionError(f"{caption!r} is not a temporal caption; expected '{{event}}, then {{event}}', "
                           "e.g. 'a big red circle moving left, then a small blue star growing'")
    return parse_event(parts[0]), parse_event(parts[1])


def parse_caption(caption: str) -> tuple[Event, ...]:
    """Either kind of caption: one Event for an event caption, two for a temporal caption."""
    if THEN in caption:
        return parse_temporal(caption)
    return (parse_event(caption),)


# What the world looks like seen in a mirror (left and right swap) or played backwards (every move turns
# round and the two events of "A, then B" change places). Growing and shrinking have no backwards sentence:
# the size word names the size at the start of a shot, so a small object growing, played backwards, starts
# big and is no clip the world would caption "small".
MIRRORED_MOTIONS = {"moving left": "moving right", "moving right": "moving left"}
REVERSED_MOTIONS = {"moving left": "moving right", "moving right": "moving left", "moving up": "moving down",
                    "moving down": "moving up", STILL: STILL}


def mirror_caption(caption: str) -> str:
    """The caption of the same clip flipped left to right."""
    return _join(*(_with_motion(e, MIRRORED_MOTIONS.get(e.motion, e.motion)) for e in parse_caption(caption)))


def reverse_caption(caption: str) -> str | None:
    """The caption of the same clip played backwards; None when an event grows or shrinks (see above)."""
    events = parse_caption(caption)
    if any(e.motion not in REVERSED_MOTIONS for e in events):
        return None
    return _join(*(_with_motion(e, REVERSED_MOTIONS[e.motion]) for e in reversed(events)))


def _with_motion(event: Event, motion: str) -> Event:
    return Event(event.size, event.color, event.shape, motion)


def _join(*events: Event) -> str:
    return THEN.join(format_event(e) for e in events)


def all_events() -> list[Event]:
    """Every event of the language (2 x 6 x 4 x 7 = 336), in vocabulary order."""
    return [Event(*words) for words in itertools.product(SIZES, COLORS, SHAPES, MOTIONS)]


def random_event(rng: np.random.Generator) -> Event:
    return Event(SIZES[rng.integers(len(SIZES))], COLORS[rng.integers(len(COLORS))],
                 SHAPES[rng.integers(len(SHAPES))], MOTIONS[rng.integers(len(MOTIONS))])
