from __future__ import annotations

import pytest

from engine.media import MediaLimits, probe
from videogen import ShotSpec

CASES = [  # codec, suffix, size, fps
    ("h264", ".mp4", (160, 120), 10),
    ("h264", ".mp4", (1280, 720), 30),
    ("h264", ".mkv", (640, 360), 24),
    ("mpeg4", ".avi", (320, 240), 15),
    ("mpeg4", ".mkv", (480, 270), 25),
    ("mjpeg", ".avi", (320, 180), 12),
    ("vp9", ".webm", (320, 240), 30),
]


IDS = [f"{codec}{suffix}-{w}x{h}@{fps}" for codec, suffix, (w, h), fps in CASES]


@pytest.mark.parametrize("codec,suffix,size,fps", CASES, ids=IDS)
def test_probe_reports_what_was_encoded(video_factory, codec, suffix, size, fps):
    truth = video_factory(f"p_{codec}_{size[0]}_{fps}{suffix}", codec=codec, size=size, fps=fps,
                          shots=[ShotSpec(1.0)])
    info = probe(truth.path)
    assert info.has_video and info.backend == "pyav"
    assert (info.width, info.height) == size
    assert info.codec == {"h264": "h264", "mpeg4": "mpeg4", "mjpeg": "mjpeg", "vp9": "vp9"}[codec]
    assert info.fps == pytest.approx(fps, rel=0.01)
    assert info.duration == pytest.approx(truth.duration, abs=1.5 / fps + 0.01)
    assert abs(info.frame_count - truth.frame_count) <= 1
    assert info.rotation == 0
    assert info.display_size == size


def test_probe_opencv_fallback_agrees_with_pyav(three_shots):
    by_av, by_cv = probe(three_shots.path), probe(three_shots.path, backend="opencv")
    assert by_cv.backend == "opencv"
    assert (by_cv.width, by_cv.height, by_cv.rotation) == (by_av.width, by_av.height, by_av.rotation)
    assert by_cv.fps == pytest.approx(by_av.fps)
    assert by_cv.duration == pytest.approx(by_av.duration, abs=0.05)
    assert by_cv.frame_count == by_av.frame_count


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_probe_reads_rotation(video_factory, rotate):
    info = probe(video_factory(f"rot{rotate}.mp4", size=(320, 240), rotate=rotate).path)
    assert (info.width, info.height) == (320, 240)
    assert info.rotation == rotate
    assert info.display_size == ((240, 320) if rotate in (90, 270) else (320, 240))
    assert probe(info.path, backend="opencv").rotation == rotate


def test_probe_estimates_keyframe_interval(video_factory):
    info = probe(video_factory("gop10.mp4", fps=20, keyint=10, shots=[ShotSpec(3.0)]).path)
    assert info.keyframe_interval == pytest.approx(0.5, abs=0.01)
    assert probe(video_factory("mjpeg_gop.avi", codec="mjpeg", fps=20).path).keyframe_interval == pytest.approx(0.05)


def test_one_frame_video(video_factory):
    info = probe(video_factory("one.mp4", fps=25, shots=[ShotSpec(0.04)]).path)
    assert info.frame_count == 1
    assert 0 < info.duration <= 0.05


def test_limits_are_configurable(plain_video):
    from engine.errors import MediaError
    with pytest.raises(MediaError, match="frame size 320x240 exceeds the limit"):
        probe(plain_video.path, limits=MediaLimits(max_pixels=320 * 200))


def test_implausible_frame_rates_are_rejected():
    limits = MediaLimits()
    assert limits.plausible_fps(25) == 25
    assert limits.plausible_fps(30000 / 1001) == pytest.approx(29.97, abs=0.01)
    for nonsense in (0, -5, 90000, float("nan"), float("inf"), None, "x"):
        assert limits.plausible_fps(nonsense) is None


def test_nonsense_frame_rate_falls_back_to_timestamps(video_factory):
    from engine.media import sample_frames
    truth = video_factory("fps2000.mp4", size=(64, 48), fps=2000, shots=[ShotSpec(1.0)])
    info = probe(truth.path)
    assert info.fps == 0.0 and info.frame_count == 2000
    assert any("not plausible" in w for w in info.warnings)
    sampler = sample_frames(truth.path, 2, 32)
    assert [f.time for f in sampler] == pytest.approx([0.0, 0.5])
    assert not sampler.warnings    # the probe's warning is not repeated


def _first_packets(path, count):
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = []
        for packet in container.demux(stream):
            if packet.size:
                packets.append(packet)
            if len(packets) == count:
                break
        return stream.codec_context.name, stream.codec_context.extradata, packets


def _decoder(name, extradata):
    import av

    ctx = av.CodecContext.create(name, "r")
    ctx.extradata = extradata
    ctx.thread_count = 1
    return ctx


def test_the_probe_takes_the_keyframe_from_its_own_packet(video_factory):
    """A decoder holds frames back for reordering: with B-frames, the first one would come out only after the
    packets behind it were decoded too. The probe drains the decoder after the keyframe instead."""
    from engine.media.probe import _first_frame

    truth = video_factory("probe_bframes.mp4", fps=25, keyint=25, bframes=3, shots=[ShotSpec(2.0)])
    name, extradata, packets = _first_packets(truth.path, 4)
    assert packets[0].is_keyframe
    held_back = _decoder(name, extradata)
    assert held_back.decode(packets[0]) == []           # what decoding packet by packet gives
    frame = _first_frame(_decoder(name, extradata), packets[0])
    assert frame is not None and frame.pts == packets[0].pts
    assert probe(truth.path).keyframe_interval == pytest.approx(1.0, abs=0.01)


def test_a_keyframe_that_gives_no_frame_leaves_the_decoder_taking_packets(video_factory):
    """A packet flagged as a keyframe may give no frame even drained (here a P-picture with nothing to refer to,
    which FFmpeg does not show): the decoder must take the packets after it."""
    from engine.media.probe import _first_frame

    truth = video_factory("probe_bframes.mp4", fps=25, keyint=25, bframes=3, shots=[ShotSpec(2.0)])
    name, extradata, packets = _first_packets(truth.path, 2)
    ctx = _decoder(name, extradata)
    orphan = packets[1]
    assert not orphan.is_keyframe
    orphan.is_keyframe = True
    assert _first_frame(ctx, orphan) is None
    frame = _first_frame(ctx, packets[0])   # after draining, only a flushed decoder takes packets again
    assert frame is not None and frame.pts == packets[0].pts
