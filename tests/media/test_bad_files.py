"""Broken, odd and hostile files: a MediaError with the right reason, never a crash."""
from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest

import videogen
from engine.errors import MediaError
from engine.media import analyse, probe, sample_frames
from engine.settings import Settings


def _reason(path, **kwargs) -> str:
    with pytest.raises(MediaError) as caught:
        probe(path, **kwargs)
    return str(caught.value)


def test_missing_empty_and_folder(tmp_path):
    assert "file not found" in _reason(tmp_path / "nope.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert "empty file" in _reason(tmp_path / "empty.mp4")
    assert "not a file" in _reason(tmp_path)


def test_random_bytes_are_not_a_video(tmp_path):
    path = videogen.write_random_bytes(tmp_path / "noise.mp4")
    message = _reason(path)
    assert "not a video file" in message and str(path) in message
    with pytest.raises(MediaError, match="not a video file"):
        list(sample_frames(path, 2, 64))


def test_mp4_without_moov_is_truncated_or_corrupt(plain_video, tmp_path):
    path = videogen.remove_moov(plain_video.path, tmp_path / "cut.mp4")
    assert "truncated or corrupt" in _reason(path)
    half = videogen.truncate(plain_video.path, tmp_path / "half.mp4", 0.5)
    assert "truncated or corrupt" in _reason(half)
    assert "truncated or corrupt" in _reason(half, backend="opencv")


def test_audio_only(tmp_path):
    path = videogen.make_audio_only(tmp_path / "song.mp4")
    assert "no video stream (audio only)" in _reason(path)


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_still_image_named_mp4(tmp_path, ext):
    path = videogen.write_still_image(tmp_path / "photo.mp4", ext=ext)
    assert "still image" in _reason(path)


def test_huge_declared_size_is_refused_before_allocating(tmp_path):
    path = videogen.write_huge_declared_y4m(tmp_path / "huge.y4m", 8000, 8000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert "frame size 8000x8000 exceeds the limit" in _reason(path)
    assert "frame size 8000x8000 exceeds the limit" in _reason(path, backend="opencv")
    with pytest.raises(MediaError, match="exceeds the limit"):
        list(sample_frames(path, 2, 64))
    with pytest.raises(MediaError, match="exceeds the limit"):
        analyse(path, Settings())
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 100_000   # one 8000x8000 RGB frame alone would be 192 MB


def test_damaged_middle_keeps_what_decodes(video_factory, tmp_path):
    truth = video_factory("long_gop25.mp4", shots=[videogen.ShotSpec(4.0), videogen.ShotSpec(4.0)], keyint=25)
    path = videogen.corrupt_middle(truth.path, tmp_path / "damaged.mp4", at_fraction=0.4, length=20_000)
    sampler = sample_frames(path, 2, 64)
    frames = list(sampler)
    assert 4 <= len(frames) <= 16
    assert sampler.warnings, "the damage must be reported"
    assert all(f.rgb.shape[0] == 64 for f in frames)


def test_truncated_avi_reports_where_decoding_ended(video_factory, tmp_path):
    truth = video_factory("long.avi", codec="mjpeg", shots=[videogen.ShotSpec(4.0), videogen.ShotSpec(4.0)])
    path = videogen.truncate(truth.path, tmp_path / "cut.avi", 0.5)
    info, frames, segments = analyse(path, Settings())
    assert 0 < frames[-1].time < 5.5
    assert any("decoding ended" in w for w in info.warnings)
    assert segments[-1].end == pytest.approx(frames[-1].time + 0.5)   # not the 8 s the header claims


def test_bad_arguments_are_programming_errors(plain_video):
    with pytest.raises(ValueError):
        list(sample_frames(plain_video.path, 0, 64))
    with pytest.raises(ValueError):
        list(sample_frames(plain_video.path, 2, 0))
    with pytest.raises(ValueError):
        probe(plain_video.path, backend="gstreamer")


def test_the_native_libraries_print_nothing_about_a_bad_file(plain_video, tmp_path):
    """The reason goes into the MediaError; OpenCV and FFmpeg write nothing to the terminal themselves."""
    cut = videogen.remove_moov(plain_video.path, tmp_path / "cut.mp4")
    noise = videogen.write_random_bytes(tmp_path / "noise.mp4")
    script = ("import sys\nfrom engine.errors import MediaError\nfrom engine.media import probe\n"
              "for path in sys.argv[1:]:\n"
              "    for backend in ('auto', 'opencv'):\n"
              "        try:\n            probe(path, backend=backend)\n"
              "        except MediaError as exc:\n            print(exc)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_")}
    done = subprocess.run([sys.executable, "-c", script, str(cut), str(noise)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("truncated or corrupt") == 2 and done.stdout.count("not a video file") == 2, done.stdout
    assert done.stderr == ""
