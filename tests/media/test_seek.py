"""Frames at chosen times by seeking (engine.media.seek) and a long video as the query (engine.media.query_clip)."""
from __future__ import annotations

import numpy as np
import pytest

import engine.media.query_clip as query_clip
import engine.media.seek as seek
from engine.media import probe
from engine.media.seek import frames_at
from videogen import ShotSpec

RED, BLUE, GREEN = (200, 40, 40), (40, 70, 200), (40, 180, 60)


@pytest.fixture(scope="module")
def moving_square(video_factory):
    """8 s, a keyframe every second, a square moving fast enough that every frame differs."""
    return video_factory("moving_square_gop25.mp4", keyint=25, shots=[
        ShotSpec(4.0, background=RED, shape="square", speed=120),
        ShotSpec(4.0, background=BLUE, shape="square", speed=120)])


def _colour(rgb: np.ndarray) -> tuple[int, int, int]:
    return tuple(int(v) for v in np.median(rgb.reshape(-1, 3), axis=0))


def test_decoding_onward_gives_the_frames_that_seeking_to_each_time_gives(moving_square):
    info = probe(moving_square.path)
    times = [0.3, 0.5, 0.6, 1.7, 3.9, 4.1, 7.5]   # some within a keyframe interval of the last, some beyond
    size = (96, 72)
    together = frames_at(moving_square.path, info, times, size)
    one_by_one = frames_at(moving_square.path, info, times, size, onward_within=0.0)   # a seek for each
    assert len(together) == len(times)
    for a, b in zip(together, one_by_one):
        assert a.shape == (72, 96, 3)
        np.testing.assert_array_equal(a, b)
    assert len({a.tobytes() for a in together}) == len(times)   # each time its own frame


@pytest.mark.parametrize("fps", [25, 5])
def test_far_ahead_frames_no_other_needs_are_skipped_yet_the_frame_at_each_time_is_exact(video_factory, fps):
    """Few keyframes and B-frames: decoding onward from 0.3 to 2.5 and 3.7 s leaves out the B-frames until
    shortly before each, and still gives the frames a full decode gives, at a low frame rate too."""
    video = video_factory(f"moving_square_gop100_b2_{fps}fps.mp4", keyint=100, bframes=2, fps=fps, shots=[
        ShotSpec(8.0, background=GREEN, shape="square", speed=90)])
    info = probe(video.path)
    size = (64, 48)
    times = [0.3, 2.5, 2.55, 3.7, 6.1]
    every = _every_frame(video.path, size)
    expected = [next(rgb for time, rgb in every if time >= t - 1e-3) for t in times]
    got = frames_at(video.path, info, times, size)
    assert len(got) == len(times)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_frames_no_other_needs_shown_before_the_time_are_not_decoded_however_close_to_it(video_factory, monkeypatch):
    video = video_factory("moving_square_gop100_b3.mp4", keyint=100, bframes=3, shots=[
        ShotSpec(4.0, background=GREEN, shape="square", speed=90)])
    info = probe(video.path)
    size = (64, 48)
    every = _every_frame(video.path, size)
    decoded = []
    decode = seek._ForwardReader._decode

    def counted(self, packets):
        for frame in decode(self, packets):
            decoded.append(frame.pts)
            yield frame

    monkeypatch.setattr(seek._ForwardReader, "_decode", counted)
    t = 0.48                                       # the 13th frame; a seek lands on the keyframe at 0
    [got] = frames_at(video.path, info, [t], size)
    before = sum(1 for time, _ in every if time < t - 1e-3)
    # I B B B P B B B P...: of each 3 B-frames, 2 are not referred to, half of the frames before the time
    assert before == 12 and len(decoded) <= 1 + before // 2
    np.testing.assert_array_equal(got, next(rgb for time, rgb in every if time >= t - 1e-3))


def _every_frame(path, size) -> list[tuple[float, np.ndarray]]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        origin = stream.start_time or 0
        return [(float((f.pts - origin) * stream.time_base),
                 f.to_ndarray(width=size[0], height=size[1], format="rgb24", interpolation="AREA"))
                for f in container.decode(stream)]


def test_a_time_just_before_an_open_gops_keyframe_gives_the_frame_shown_then(video_factory):
    """HEVC in MP4: a seek lands on a keyframe (CRA) decoded before, yet shown after, the frames just before it,
    which refer to the GOP before and are dropped after such a seek."""
    video = video_factory("moving_square_hevc_gop25.mp4", codec="hevc", keyint=25, encoder_args=["-preset", "fast"],
                          shots=[ShotSpec(6.0, background=GREEN, shape="square", speed=90)])   # fast: B-frames, open GOPs
    info = probe(video.path)
    size = (64, 48)
    every = _every_frame(video.path, size)
    times = [0.93, 1.95, 2.97, 4.95]                                                  # keyframes every second
    expected = [next(rgb for time, rgb in every if time >= t - 1e-3) for t in times]
    for onward_within in (None, 0.0):
        got = frames_at(video.path, info, times, size, onward_within=onward_within)
        assert len(got) == len(times)
        for a, b in zip(got, expected):
            np.testing.assert_array_equal(a, b)


def test_with_keyframes_a_seek_takes_the_keyframe_it_lands_on_unless_taken_already(moving_square):
    info = probe(moving_square.path)          # a keyframe every second
    size = (48, 36)

    def exact(times):
        return frames_at(moving_square.path, info, times, size)

    landed = frames_at(moving_square.path, info, [0.5, 0.6, 2.5], size, keyframes=True)
    for a, b in zip(landed, exact([0.0, 0.6, 2.0]), strict=True):   # 0.6 is reached onward, not by a seek
        np.testing.assert_array_equal(a, b)
    again = frames_at(moving_square.path, info, [2.2, 2.4], size, onward_within=0.0, keyframes=True)
    for a, b in zip(again, exact([2.0, 2.4]), strict=True):          # the keyframe at 2 s is not taken twice
        np.testing.assert_array_equal(a, b)


def test_times_past_the_end_give_the_last_frame(moving_square):
    info = probe(moving_square.path)
    frames = frames_at(moving_square.path, info, [7.9, 20.0], (48, 36))
    assert len(frames) == 2 and _colour(frames[1])[2] > _colour(frames[1])[0]   # blue, the last shot


def test_a_long_video_as_the_query_is_sought_not_read_through(video_factory, monkeypatch):
    video = video_factory("three_colours.mp4", keyint=25, shots=[
        ShotSpec(3.0, background=RED, shape="none"), ShotSpec(3.0, background=GREEN, shape="none"),
        ShotSpec(3.0, background=BLUE, shape="none")])
    monkeypatch.setattr(query_clip, "SEEK_LONGER_THAN", 5.0)

    def read_through(*args, **kwargs):
        raise AssertionError("a long query video was read through")

    monkeypatch.setattr(query_clip, "sample_frames", read_through)
    frames = query_clip.query_frames(video.path, 6, 32, fps=2.0)
    assert frames.shape[:2] == (6, 32)
    dominant = ["rgb"[int(np.argmax(_colour(f)))] for f in frames]
    assert dominant == ["r", "r", "g", "g", "b", "b"]   # centres at 0.75, 2.25, ..., 8.25 s


def test_a_short_video_as_the_query_is_sampled_as_a_moment_is(moving_square):
    frames = query_clip.query_frames(moving_square.path, 12, 32, fps=1.0)
    assert len(frames) == 8   # 1 a second over 8 s, as the indexer samples it


def test_the_decoding_is_let_go_of_when_the_frames_are_read_not_at_a_later_garbage_collection(moving_square,
                                                                                               monkeypatch):
    """The window reads stills on a pool thread and collects garbage on its own thread: what decoded them must be
    freed where and when they were read, before their container closes."""
    import gc
    import weakref

    readers = []
    init = seek._ForwardReader.__init__

    def kept(self, *args):
        init(self, *args)
        readers.append(weakref.ref(self))

    monkeypatch.setattr(seek._ForwardReader, "__init__", kept)
    info = probe(moving_square.path)
    gc.disable()
    try:
        frames_at(moving_square.path, info, [0.3, 0.6, 4.1], (48, 36))          # stops mid-stream
        frames_at(moving_square.path, info, [0.5, 2.5], (48, 36), keyframes=True)
        assert len(readers) == 2 and all(r() is None for r in readers)
    finally:
        gc.enable()
