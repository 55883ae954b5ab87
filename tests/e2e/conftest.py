"""A small library of real videos (H.264 and MPEG-4 Part 2, several sizes), made once per session."""
from __future__ import annotations

import shutil

import pytest

from videogen import ShotSpec, make_video

# Each file's shots look different from every other file's: distinct backgrounds, shapes, textures.
LIBRARY = {
    "beach.mp4": dict(codec="h264", size=(320, 240), fps=25, seed=1,
                      shots=[ShotSpec(3.0, background=(200, 170, 90), shape="circle", pattern="texture"),
                             ShotSpec(3.0, background=(30, 90, 200), shape="square", pattern="flat")]),
    "forest.avi": dict(codec="mpeg4", size=(480, 270), fps=15, seed=2,
                       shots=[ShotSpec(4.0, background=(20, 120, 30), shape="square", pattern="pan"),
                              ShotSpec(3.0, background=(90, 40, 20), shape="circle", pattern="texture")]),
    "city.mkv": dict(codec="h264", size=(640, 360), fps=30, seed=3,
                     shots=[ShotSpec(3.0, background=(120, 120, 130), shape="none", pattern="texture"),
                            ShotSpec(3.0, background=(230, 60, 160), shape="circle", pattern="flat")]),
    "snow.mp4": dict(codec="mpeg4", size=(160, 120), fps=10, seed=4,
                     shots=[ShotSpec(5.0, background=(240, 240, 245), shape="square", pattern="flat")]),
}


@pytest.fixture(scope="session")
def video_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos-master")
    truths = {name: make_video(root / name, **spec) for name, spec in LIBRARY.items()}
    return root, truths


@pytest.fixture
def video_folder(video_set, tmp_path):
    """A fresh copy of the video set that a test may move, rename or delete files in."""
    root, truths = video_set
    folder = tmp_path / "My Videos"
    shutil.copytree(root, folder)
    return folder, truths
