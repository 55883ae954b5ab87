from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.errors import MediaError
from engine.media import analyse, detect_shots, iter_segments, segment, thumbnail
from engine.settings import Settings
from videogen import ShotSpec

SETTINGS = Settings(sample_fps=2.0, max_segment_seconds=3.0, min_segment_seconds=1.0)


def test_analyse_segments_follow_the_shots(three_shots):
    info, frames, segments = analyse(three_shots.path, SETTINGS, short_side=96)
    assert info.duration == pytest.approx(6.0)
    assert len(frames) == 12 and min(frames[0].rgb.shape[:2]) == 96
    assert [i for s in segments for i in s.frame_indices] == list(range(12))
    assert segments[0].start == 0 and segments[-1].end == pytest.approx(6.0)
    starts = [s.start for s in segments[1:]]
    assert len(starts) == 2
    for found, true in zip(starts, three_shots.cut_times):
        assert abs(found - true) <= 0.5


def test_analyse_equals_the_batch_functions(three_shots):
    _info, frames, segments = analyse(three_shots.path, SETTINGS, short_side=96)
    cuts = detect_shots(frames, SETTINGS.shot_threshold)
    batch = segment([f.time for f in frames], cuts, SETTINGS.max_segment_seconds,
                    SETTINGS.min_segment_seconds, 6.0)
    assert batch == segments


def test_iter_segments_holds_only_the_current_shot(video_factory):
    truth = video_factory("long_single_shot.mp4", size=(160, 120), fps=10,
                          shots=[ShotSpec(60.0, shape="square", speed=20)])
    settings = Settings(sample_fps=2.0, max_segment_seconds=4.0, min_segment_seconds=1.0)
    stream = iter_segments(truth.path, settings, short_side=32)
    assert stream.info.duration == pytest.approx(60.0)
    items = list(stream)
    assert sum(len(item.frames) for item in items) == 120
    assert stream.peak_frames_held <= 3 * 4 * 2 + 4
    assert all(item.segment.duration <= 4.0 + 1e-9 for item in items)
    for item in items:
        assert [round(f.time * 2) for f in item.frames] == list(item.segment.frame_indices)
    assert not stream.warnings


def test_segment_frames_and_thumbnail(three_shots):
    item = next(iter(iter_segments(three_shots.path, SETTINGS, short_side=96)))
    middle = item.middle_frame
    assert middle is item.frames[item.segment.frame_indices.index(item.segment.middle_index)]
    data = thumbnail(middle.rgb, 160)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert data[:2] == b"\xff\xd8" and image.shape == (120, 160, 3)
    # colours survive (RGB in, BGR decoded): the first shot is red
    assert np.median(image[..., 2]) > 150 > np.median(image[..., 0]) + 60


def test_thumbnail_rejects_non_images():
    with pytest.raises(ValueError):
        thumbnail(np.zeros((10, 10), np.uint8), 64)
    with pytest.raises(ValueError):
        thumbnail(np.zeros((10, 10, 3), np.uint8), 0)


def test_nothing_decodable_is_a_media_error(plain_video, tmp_path):
    data = bytearray(plain_video.path.read_bytes())
    mdat = data.find(b"mdat")
    data[mdat + 4:] = bytes(len(data) - mdat - 4)   # keep the index, zero every frame
    path = tmp_path / "zeroed.mp4"
    path.write_bytes(bytes(data))
    with pytest.raises(MediaError, match="truncated or corrupt"):
        analyse(path, SETTINGS)


def test_a_frame_far_taller_than_wide_gets_a_thumbnail_of_bounded_height():
    data = thumbnail(np.full((1000, 2, 3), 200, np.uint8), 320)     # a valid 2x1000 video's frame
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[:2] == (640, 1)
    portrait = cv2.imdecode(np.frombuffer(thumbnail(np.zeros((1920, 1080, 3), np.uint8), 320), np.uint8),
                            cv2.IMREAD_COLOR)
    assert portrait.shape[:2] == (569, 320)                           # phone video keeps its shape
