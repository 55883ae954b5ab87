"""Hover-scrub frames and moment export, on real encoded videos."""
from __future__ import annotations

import subprocess

import av
import numpy as np
import pytest

from engine.errors import MediaError
from engine.media import probe
from engine.media.export import export_range
from engine.media.preview import moment_frames, preview_jpegs
from videogen import ShotSpec, make_video


@pytest.fixture(scope="module")
def two_shot(tmp_path_factory):
    path = tmp_path_factory.mktemp("pe") / "two shots.mp4"
    return make_video(path, codec="h264", size=(320, 240), fps=25,
                      shots=[ShotSpec(3.0, background=(200, 30, 30)), ShotSpec(3.0, background=(30, 30, 200))])


def test_preview_frames_come_from_inside_the_moment(two_shot):
    early = moment_frames(two_shot.path, 0.0, 2.5, 4, 160)
    late = moment_frames(two_shot.path, 3.5, 6.0, 4, 160)
    assert len(early) == len(late) == 4
    assert early[0].shape[1] == 160
    # The first shot is red, the second blue.
    assert all(f[..., 0].mean() > f[..., 2].mean() for f in early)
    assert all(f[..., 2].mean() > f[..., 0].mean() for f in late)
    jpegs = preview_jpegs(two_shot.path, 0.0, 6.0, 8, 120)
    assert len(jpegs) == 8 and all(j[:2] == b"\xff\xd8" for j in jpegs)


def test_export_writes_just_the_range(two_shot, tmp_path):
    out = export_range(two_shot.path, 3.2, 5.2, tmp_path / "moment.mp4")
    info = probe(out)
    assert abs(info.duration - 2.0) < 0.2
    with av.open(str(out)) as c:
        first = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert first[..., 2].mean() > first[..., 0].mean()   # starts inside the blue shot
    assert not list(tmp_path.glob(".*partial*"))


def test_export_keeps_sound(tmp_path):
    src = tmp_path / "with sound.mp4"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=15",
                    "-f", "lavfi", "-i", "sine=frequency=440", "-t", "4", "-c:v", "libx264", "-c:a", "aac",
                    "-pix_fmt", "yuv420p", str(src)], check=True)
    out = export_range(src, 1.0, 3.0, tmp_path / "cut.mp4")
    with av.open(str(out)) as c:
        assert c.streams.audio and c.streams.video
        samples = sum(f.samples for f in c.decode(audio=0))
    assert samples > 1.5 * 44100 * 0.9 or samples > 1.5 * 48000 * 0.9


def test_export_refuses_an_empty_range(two_shot, tmp_path):
    with pytest.raises(MediaError):
        export_range(two_shot.path, 4.0, 4.0, tmp_path / "x.mp4")


def test_moment_frames_of_a_broken_file_is_a_media_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 255, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(MediaError):
        moment_frames(bad, 0, 1, 2, 100)
