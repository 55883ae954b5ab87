"""Playable copies (engine.media.playable, engine.api.playable_copies), and stills from MPEG-TS files whose seeks
land nowhere: real videos made by the tests, decoded back with PyAV."""
from __future__ import annotations

import os
import time

import av
import numpy as np
import pytest

import videogen
from engine.api.playable_copies import PlayableCopies
from engine.api.types import Moment
from engine.errors import MediaError
from engine.media.playable import make_playable
from engine.media.preview import preview_jpegs
from engine.media.probe import probe
from engine.media.seek import frames_at
from videogen import ShotSpec

RED, BLUE = (220, 30, 30), (30, 60, 220)
TWO_COLOURS = [ShotSpec(2.0, background=RED, shape="none"), ShotSpec(2.0, background=BLUE, shape="none")]


def read_back(path) -> tuple[list[float], list[np.ndarray], av.container.InputContainer]:
    """Every frame's time and mean colour, and the streams' codecs, of a copy."""
    with av.open(str(path)) as container:
        codecs = [s.codec_context.name for s in container.streams]
        size = (container.streams.video[0].width, container.streams.video[0].height)
        times, colours = [], []
        for frame in container.decode(video=0):
            times.append(float(frame.time))
            colours.append(frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0))
    return times, colours, (codecs, size)


def is_colour(rgb: np.ndarray, expected) -> bool:
    return bool(np.abs(rgb - np.array(expected)).max() < 40)


@pytest.fixture(scope="module")
def av1_video(tmp_path_factory):
    return videogen.make_video(tmp_path_factory.mktemp("av1") / "two.mp4", codec="av1", shots=TWO_COLOURS)


@pytest.fixture(scope="module")
def long_gop_ts(tmp_path_factory):
    """MPEG-TS with one keyframe: FFmpeg's seeks in it land nowhere, even at the stream's own start."""
    return videogen.make_video(tmp_path_factory.mktemp("ts") / "two.ts", shots=TWO_COLOURS, keyint=250)


def test_an_av1_moment_becomes_h264_that_starts_and_ends_where_asked(av1_video, tmp_path):
    made = make_playable(av1_video.path, 1.0, 3.0, tmp_path / "copy.mp4")
    assert made.path == tmp_path / "copy.mp4" and not list(tmp_path.glob(".*partial*"))
    assert made.start == pytest.approx(1.0, abs=0.05) and made.end == pytest.approx(3.0, abs=0.05)
    times, colours, (codecs, _size) = read_back(made.path)
    assert codecs == ["h264"]                      # no sound in, none out
    assert times[0] == pytest.approx(0.0, abs=0.05) and times[-1] == pytest.approx(2.0, abs=0.1)
    assert is_colour(colours[0], RED) and is_colour(colours[-1], BLUE)
    cut = next(i for i, c in enumerate(colours) if is_colour(c, BLUE))
    assert times[cut] == pytest.approx(1.0, abs=0.1)     # the original's cut at 2 s, 1 s into the copy


def test_a_moment_of_an_mpeg_ts_whose_seeks_land_nowhere_is_copied_from_its_time(long_gop_ts, tmp_path):
    made = make_playable(long_gop_ts.path, 2.5, 3.5, tmp_path / "copy.mp4")
    times, colours, _ = read_back(made.path)
    assert made.start == pytest.approx(2.5, abs=0.05)
    assert len(times) == pytest.approx(25, abs=2)
    assert all(is_colour(c, BLUE) for c in colours)


def test_stills_of_an_mpeg_ts_whose_seeks_land_nowhere(long_gop_ts):
    info = probe(long_gop_ts.path)
    stills = frames_at(long_gop_ts.path, info, [0.5, 2.5, 3.5], (64, 48))
    assert len(stills) == 3
    assert is_colour(stills[0].reshape(-1, 3).mean(axis=0), RED)
    assert all(is_colour(s.reshape(-1, 3).mean(axis=0), BLUE) for s in stills[1:])
    assert len(preview_jpegs(long_gop_ts.path, 2.0, 4.0, count=4)) == 4


def test_the_copy_is_turned_as_the_file_is_shown_and_keeps_its_sound(tmp_path):
    rotated = videogen.make_video(tmp_path / "rotated.mp4", size=(160, 96), rotate=90, shots=[ShotSpec(1.0)])
    made = make_playable(rotated.path, 0.0, 1.0, tmp_path / "rotated_copy.mp4")
    _times, _colours, (_codecs, (width, height)) = read_back(made.path)
    assert (width, height) == (96, 160)            # portrait, as a player shows the original
    with_sound = videogen.add_sine_audio(
        videogen.make_video(tmp_path / "silent.mp4", shots=[ShotSpec(2.0)]).path, tmp_path / "sound.mp4")
    made = make_playable(with_sound, 0.5, 1.5, tmp_path / "sound_copy.mp4")
    with av.open(str(made.path)) as container:
        assert [s.codec_context.name for s in container.streams] == ["h264", "aac"]
        sound = container.streams.audio[0]
        seconds = sum(frame.samples for frame in container.decode(sound)) / sound.rate
    assert seconds == pytest.approx(1.0, abs=0.1)


def test_bad_asks_are_clear_errors(tmp_path):
    with pytest.raises(MediaError):
        make_playable(tmp_path / "missing.mp4", 0.0, 1.0, tmp_path / "out.mp4")
    broken = videogen.write_random_bytes(tmp_path / "broken.mp4")
    with pytest.raises(MediaError):
        make_playable(broken, 0.0, 1.0, tmp_path / "out.mp4")
    good = videogen.make_video(tmp_path / "good.mp4", shots=[ShotSpec(1.0)]).path
    with pytest.raises(ValueError):
        make_playable(good, 1.0, 1.0, tmp_path / "out.mp4")
    with pytest.raises(MediaError, match="no frame"):
        make_playable(good, 5.0, 6.0, tmp_path / "out.mp4")        # past the end
    assert not (tmp_path / "out.mp4").exists() and not list(tmp_path.glob(".*partial*"))


def test_copies_are_made_once_kept_newest_first_and_made_again_for_a_changed_file(tmp_path):
    video = videogen.make_video(tmp_path / "v.mp4", shots=TWO_COLOURS).path
    copies = PlayableCopies(tmp_path / "cache", kept=2)

    def moment(start: float) -> Moment:
        return Moment(str(video), start, start + 0.5, 1.0, None)

    first = copies.copy_of(moment(0.0))
    made_at = os.stat(first.path).st_mtime_ns
    again = copies.copy_of(moment(0.0))
    assert again == first and os.stat(first.path).st_ino == os.stat(again.path).st_ino
    assert first.start == pytest.approx(0.0, abs=0.05) and first.end == pytest.approx(0.5, abs=0.05)
    time.sleep(0.01)
    copies.copy_of(moment(1.0))
    time.sleep(0.05)
    copies.copy_of(moment(0.0))                    # used again: now the newest
    time.sleep(0.05)
    copies.copy_of(moment(2.0))                    # a third: the oldest (1.0) goes
    kept = sorted(p.name for p in (tmp_path / "cache").glob("*.mp4"))
    assert len(kept) == 2 and os.path.basename(first.path) in kept
    assert os.stat(first.path).st_mtime_ns >= made_at
    os.utime(video, ns=(time.time_ns(), time.time_ns() + 10**9))          # the file changed
    changed = copies.copy_of(moment(0.0))
    assert changed.path != first.path
    with pytest.raises(MediaError):
        copies.copy_of(Moment(str(tmp_path / "gone.mp4"), 0.0, 1.0, 1.0, None))
