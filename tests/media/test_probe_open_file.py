"""A sampler that probes its own file decodes the probe's open file: one open, the same frames."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from engine.media import probe, sample_frames
from engine.media.probe import KEYFRAME_SCAN_PACKETS, probe_keeping_file
from videogen import ShotSpec

SHOTS = [ShotSpec(2.0, pattern="pan", speed=30), ShotSpec(2.0, shape="square"), ShotSpec(2.0, pattern="pan", speed=60)]
VERYFAST = ["-preset", "veryfast"]


@pytest.fixture
def opens(monkeypatch) -> list[str]:
    """The paths av.open is asked for while the test runs."""
    seen: list[str] = []
    real_open = av.open

    def counting_open(file, *args, **kwargs):
        seen.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(av, "open", counting_open)
    return seen


def _frames(sampler) -> list[tuple[float, np.ndarray]]:
    return [(f.time, f.rgb) for f in sampler]


def _same(a, b) -> bool:
    return len(a) == len(b) and all(ta == tb and np.array_equal(fa, fb) for (ta, fa), (tb, fb) in zip(a, b))


def _open_descriptors_of(path: Path) -> int:
    target = os.path.realpath(path)
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.path.realpath(f"/proc/self/fd/{fd}") == target
        except OSError:
            pass
    return count


@pytest.mark.parametrize("name, codec, encoder_args, rotate", [
    ("open_once_veryfast.mp4", "h264", VERYFAST, 0),          # B-pictures left out; GOPs in lanes
    ("open_once_medium.mkv", "h264", ["-preset", "medium"], 0),   # B-pyramid kept
    ("open_once_rotated.mp4", "h264", VERYFAST, 90),          # the display matrix: the probe's decoder saw it
    ("open_once.ts", "h264", VERYFAST, 0),                    # Annex B, no stream headers outside the packets
    ("open_once_hevc.mp4", "hevc", [], 270),
])
@pytest.mark.parametrize("rate", [1.0, 2.0, 12.5])
def test_the_probes_open_file_gives_the_frames_of_a_file_opened_again(video_factory, opens, name, codec,
                                                                       encoder_args, rotate, rate):
    truth = video_factory(name, codec=codec, fps=25, keyint=25, bframes=3, shots=SHOTS, encoder_args=encoder_args,
                          rotate=rotate)
    opens.clear()
    once = sample_frames(truth.path, rate, 64)
    in_one_open = _frames(once)
    assert opens == [str(truth.path)]

    again = sample_frames(truth.path, rate, 64, info=probe(truth.path))   # given the facts: it opens the file
    assert _same(in_one_open, _frames(again))
    assert once.info == again.info
    assert once.info.rotation == rotate
    assert once.stats.frames_decoded == again.stats.frames_decoded
    assert once.stats.packets_skipped == again.stats.packets_skipped
    assert once.warnings == again.warnings == []


def test_packets_the_probe_read_past_its_scan_are_decoded_too(video_factory, opens):
    # One keyframe in 8 s: the probe reads KEYFRAME_SCAN_PACKETS packets looking for more, and stops inside the GOP.
    truth = video_factory("open_once_long_gop.mp4", fps=50, keyint=400, bframes=3, encoder_args=VERYFAST,
                          shots=[ShotSpec(4.0, pattern="pan", speed=40), ShotSpec(4.0, shape="square")])
    info, opened = probe_keeping_file(truth.path)
    try:
        assert opened is not None
        stream = opened.container.streams.video[0]
        packets = [p for p in opened.packets(stream) if p.size]
    finally:
        opened.close()
    assert len(packets) == info.frame_count > KEYFRAME_SCAN_PACKETS
    with av.open(str(truth.path)) as container:
        assert [p.pts for p in packets] == [p.pts for p in container.demux(video=0) if p.size]

    opens.clear()
    all_frames = _frames(sample_frames(truth.path, 25.0, 64, skip_nonref=False))
    assert opens == [str(truth.path)]
    assert _same(all_frames, _frames(sample_frames(truth.path, 25.0, 64, skip_nonref=False, info=info)))
    assert len(all_frames) == 200


def test_other_codecs_open_the_file_again(video_factory, opens):
    truth = video_factory("open_once.avi", codec="mpeg4", fps=25, keyint=25, shots=SHOTS)
    opens.clear()
    frames = _frames(sample_frames(truth.path, 2.0, 64))
    assert opens == [str(truth.path)] * 2
    assert len(frames) == 12


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts descriptors in /proc/self/fd")
def test_the_file_is_closed_when_the_sampler_is_done_or_never_used(video_factory):
    truth = video_factory("open_once_veryfast.mp4", fps=25, keyint=25, bframes=3, shots=SHOTS, encoder_args=VERYFAST)
    assert _open_descriptors_of(truth.path) == 0

    unused = sample_frames(truth.path, 1.0, 64)
    assert _open_descriptors_of(truth.path) == 1     # the probe's file, held for the decoding
    unused.close()
    assert _open_descriptors_of(truth.path) == 0

    stopped = sample_frames(truth.path, 1.0, 64, max_frames=2)
    assert len(list(stopped)) == 2
    assert _open_descriptors_of(truth.path) == 0

    left = sample_frames(truth.path, 1.0, 64)
    frames = iter(left)
    next(frames)
    frames.close()                                   # the caller stopped after one frame
    assert _open_descriptors_of(truth.path) == 0

    whole = sample_frames(truth.path, 1.0, 64)
    assert len(list(whole)) == 6
    assert _open_descriptors_of(truth.path) == 0


def test_a_probe_that_read_more_than_it_may_keep_lets_the_file_be_opened_again(video_factory, opens, monkeypatch):
    truth = video_factory("open_once_veryfast.mp4", fps=25, keyint=25, bframes=3, shots=SHOTS, encoder_args=VERYFAST)
    expected = _frames(sample_frames(truth.path, 2.0, 64))
    # The module by its name: engine.media's ``probe`` is the function.
    monkeypatch.setattr(sys.modules["engine.media.probe"], "KEPT_PACKET_BYTES", 4096)
    info, opened = probe_keeping_file(truth.path)
    assert opened is None and info == probe(truth.path)

    opens.clear()
    assert _same(_frames(sample_frames(truth.path, 2.0, 64)), expected)
    assert opens == [str(truth.path)] * 2
