"""Shared generated videos for the media tests: each is encoded once per session."""
from __future__ import annotations

from typing import Callable

import pytest

import videogen
from videogen import ShotSpec, VideoTruth


@pytest.fixture(scope="session")
def video_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., VideoTruth]:
    """``video_factory("name.mp4", **make_video kwargs)``: the same name returns the cached video."""
    folder = tmp_path_factory.mktemp("videos")
    cache: dict[str, VideoTruth] = {}

    def make(name: str, **kwargs) -> VideoTruth:
        if name not in cache:
            cache[name] = videogen.make_video(folder / name, **kwargs)
        return cache[name]

    return make


@pytest.fixture(scope="session")
def three_shots(video_factory) -> VideoTruth:
    """6 s: a flat red shot, a slowly panning texture, a flat blue shot with a moving square."""
    return video_factory("three_shots.mp4", shots=[
        ShotSpec(2.0), ShotSpec(2.0, pattern="pan", speed=20), ShotSpec(2.0, background=(30, 60, 200), shape="square"),
    ])


@pytest.fixture(scope="session")
def plain_video(video_factory) -> VideoTruth:
    return video_factory("plain.mp4", shots=[ShotSpec(3.0)])


