"""The shapes world: a synthetic video domain with a fixed caption language (docs: shapes_world.md).

It is the training data of the built-in demo model, the demo library, and the end-to-end quality
benchmark. Public API:

- language: ``Event``, ``parse_event``, ``parse_temporal``, ``parse_caption``, ``format_event``,
  ``format_temporal``, ``all_events``, vocabularies ``SIZES``, ``COLORS``, ``SHAPES``, ``MOTIONS``;
- rendering: ``sample_render_params``, ``render_shot``, ``ShotRenderer``;
- videos: ``generate_video``, ``generate_dataset``, ``plan_video``, ``write_video``, ``VideoOptions``;
- training examples without encoding: ``generate_training_clips``, ``generate_temporal_clips``;
- spec checks: ``check_shot``, ``infer_event``, ``detect_cuts`` (in ``engine.shapes.checks``).
"""
from __future__ import annotations

from engine.shapes.clips import ClipOptions, TrainingClip, generate_temporal_clips, generate_training_clips
from engine.shapes.generate import (FAST_OPTIONS, GeneratedVideo, VideoOptions, VideoPlan, generate_dataset,
                                    generate_video, load_annotations, plan_video, write_video)
from engine.shapes.language import (COLORS, MOTIONS, SHAPES, SIZES, CaptionError, Event, all_events,
                                    format_event, format_temporal, parse_caption, parse_event, parse_temporal)
from engine.shapes.render import RenderParams, ShotRenderer, render_shot, sample_render_params

__all__ = [
    "COLORS", "MOTIONS", "SHAPES", "SIZES", "CaptionError", "ClipOptions", "Event", "FAST_OPTIONS",
    "GeneratedVideo", "RenderParams", "ShotRenderer", "TrainingClip", "VideoOptions", "VideoPlan", "all_events",
    "format_event", "format_temporal", "generate_dataset", "generate_temporal_clips", "generate_training_clips",
    "generate_video", "load_annotations", "parse_caption", "parse_event", "parse_temporal", "plan_video",
    "render_shot", "sample_render_params", "write_video",
]
