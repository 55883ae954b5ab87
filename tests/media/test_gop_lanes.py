"""H.264 GOPs that start with an IDR picture are decoded two at a time, to the same frames."""
from __future__ import annotations

import threading

import av
import numpy as np
import pytest

import videogen
from engine.media import sample_frames
from engine.media.gop import H264References
from videogen import ShotSpec

SHOTS = [ShotSpec(2.0, pattern="pan", speed=30), ShotSpec(2.0, shape="square"), ShotSpec(2.0, pattern="pan", speed=60)]
VERYFAST = ["-preset", "veryfast"]


def _frames(path, rate, **options):
    sampler = sample_frames(path, rate, 64, **options)
    return sampler, [(round(f.time, 4), f.rgb) for f in sampler]


def _same(a, b) -> bool:
    return len(a) == len(b) and all(ta == tb and np.array_equal(fa, fb) for (ta, fa), (tb, fb) in zip(a, b))


@pytest.mark.parametrize("name, encoder_args, rotate", [
    ("lanes_veryfast.mp4", VERYFAST, 0),          # B-pictures left out too
    ("lanes_veryfast.ts", VERYFAST, 0),           # Annex B: parameter sets in each IDR packet
    ("lanes_medium.mp4", ["-preset", "medium"], 0),   # B-pictures kept (P-slices refer to them)
    ("lanes_rotated.mp4", VERYFAST, 90),          # the lanes' decoders do not see the display matrix
])
@pytest.mark.parametrize("rate", [1.0, 2.0])
def test_gops_decoded_in_lanes_give_the_frames_of_one_decoder(video_factory, name, encoder_args, rotate, rate):
    truth = video_factory(name, fps=25, keyint=50, bframes=3, shots=SHOTS, encoder_args=encoder_args, rotate=rotate)
    lanes, in_lanes = _frames(truth.path, rate)
    one, in_order = _frames(truth.path, rate, gop_lanes=False)
    assert lanes.stats.gops_in_lanes == 3 and one.stats.gops_in_lanes == 0
    assert _same(in_lanes, in_order)
    assert lanes.stats.frames_decoded == one.stats.frames_decoded
    assert lanes.stats.packets_skipped == one.stats.packets_skipped
    assert not lanes.warnings and not one.warnings


def test_open_gops_are_decoded_one_after_another(video_factory):
    truth = video_factory("lanes_open.mp4", fps=25, keyint=50, bframes=3, shots=SHOTS,
                          encoder_args=[*VERYFAST, "-x264-params", "open-gop=1"])
    lanes, frames = _frames(truth.path, 1.0)
    assert lanes.stats.gops_in_lanes == 0
    assert _same(frames, _frames(truth.path, 1.0, gop_lanes=False)[1])


def test_dense_sampling_uses_one_decoder(video_factory):
    truth = video_factory("lanes_veryfast.mp4", fps=25, keyint=50, bframes=3, shots=SHOTS, encoder_args=VERYFAST)
    sampler, _ = _frames(truth.path, 10.0)
    assert sampler.stats.gops_in_lanes == 0


def test_a_damaged_gop_in_a_lane_is_reported_and_the_rest_decodes(video_factory, tmp_path):
    truth = video_factory("lanes_veryfast.mp4", fps=25, keyint=50, bframes=3, shots=SHOTS, encoder_args=VERYFAST)
    path = videogen.corrupt_middle(truth.path, tmp_path / "damaged.mp4", at_fraction=0.45, length=3000)
    sampler, frames = _frames(path, 2.0)
    assert sampler.stats.gops_in_lanes >= 2 and sampler.stats.decode_errors + sampler.stats.corrupt_frames > 0
    assert sampler.warnings
    assert frames[-1][0] > 5.0                      # the GOP after the damage decoded


def test_stopping_early_stops_the_lanes(video_factory):
    truth = video_factory("lanes_veryfast.mp4", fps=25, keyint=50, bframes=3, shots=SHOTS, encoder_args=VERYFAST)
    sampler = sample_frames(truth.path, 2.0, 64, max_frames=2)
    assert len(list(sampler)) == 2
    assert not [t for t in threading.enumerate() if t.name.startswith("clipseek-gop-lane")]


def test_an_idr_picture_starts_afresh_only_with_its_parameter_sets_known(video_factory):
    truth = video_factory("lanes_veryfast.ts", fps=25, keyint=50, bframes=3, shots=SHOTS, encoder_args=VERYFAST)
    with av.open(str(truth.path)) as container:
        packets = [p for p in container.demux(container.streams.video[0]) if p.size][:60]
    references = H264References(None)                                   # Annex B: no avcC
    assert [references.starts_afresh(p) for p in packets].count(True) == 2   # the IDR pictures at 0 and 2 s
    assert not any(references.starts_afresh(p) for p in packets if not p.is_keyframe)
    without_sps = bytes(packets[0]).replace(b"\x00\x00\x01\x67", b"\x00\x00\x01\x06")   # SPS -> SEI type
    assert not H264References(None).starts_afresh(av.Packet(without_sps))


def test_too_many_errors_in_a_row_in_a_lane_stop_decoding(video_factory, tmp_path, monkeypatch):
    truth = video_factory("lanes_veryfast.mp4", fps=25, keyint=50, bframes=3, shots=SHOTS, encoder_args=VERYFAST)
    path = videogen.corrupt_middle(truth.path, tmp_path / "damaged.mp4", at_fraction=0.45, length=3000)
    monkeypatch.setattr("engine.media.decode.MAX_CONSECUTIVE_ERRORS", 5)
    sampler, frames = _frames(path, 2.0)
    assert any(w.startswith("gave up after") for w in sampler.warnings)
    assert frames and frames[-1][0] < 4.0                  # nothing of the GOP after the damaged one


@pytest.fixture
def idle_decoders():
    """Lane decoders kept between files, as an indexing worker keeps them; none again afterwards."""
    from engine.media.gop_lanes import IDLE_DECODERS, LANES

    IDLE_DECODERS.hold(LANES)
    yield IDLE_DECODERS
    IDLE_DECODERS.hold(0)


def _held(idle):
    return [ctx for _name, _data, ctx in idle._idle]


def test_the_next_file_is_decoded_by_the_last_ones_lane_decoders_to_the_same_frames(video_factory, idle_decoders):
    first = video_factory("lanes_veryfast.mp4", fps=25, keyint=50, bframes=3, shots=SHOTS, encoder_args=VERYFAST)
    second = video_factory("lanes_veryfast_2.mp4", fps=25, keyint=50, bframes=3, shots=SHOTS[::-1],
                           encoder_args=VERYFAST, seed=5)
    alone = _frames(second.path, 2.0, gop_lanes=False)[1]
    _frames(first.path, 2.0)
    # One decoder per lane thread used; a lane that is free when the next GOP comes takes it, so the first file
    # may have needed one thread or two.
    kept = _held(idle_decoders)
    assert 1 <= len(kept) <= 2
    sampler, frames = _frames(second.path, 2.0)
    assert sampler.stats.gops_in_lanes == 3
    assert _same(frames, alone)
    assert {id(c) for c in kept} <= {id(c) for c in _held(idle_decoders)}   # taken, and back again


def test_only_a_file_with_the_same_stream_headers_gets_a_kept_decoder(video_factory, idle_decoders):
    from engine.media.gop_lanes import IdleDecoders

    truth = video_factory("lanes_veryfast.mp4", fps=25, keyint=50, bframes=3, shots=SHOTS, encoder_args=VERYFAST)
    _frames(truth.path, 2.0)
    kept = _held(idle_decoders)
    with av.open(str(truth.path)) as container:
        extradata = container.streams.video[0].codec_context.extradata
    assert idle_decoders.take("hevc", extradata) is None
    assert idle_decoders.take("h264", extradata[:-1] + bytes([extradata[-1] ^ 1])) is None
    assert idle_decoders.take("h264", extradata) in kept
    few = IdleDecoders(keep=1)
    newer = av.CodecContext.create("h264", "r")
    few.give_back("h264", b"a", kept[0])
    few.give_back("h264", b"b", newer)
    assert few.take("h264", b"a") is None and few.take("h264", b"b") is newer   # the oldest went


def _lane_jobs(path, *jobs):
    """GopJobs of the file's first GOP: "clean" as it is, "damaged" with a packet no decoder takes in front."""
    from engine.media.gop_lanes import FEED, GopJob

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        gop = []
        for packet in container.demux(stream):
            if packet.size and packet.is_keyframe and gop:
                break
            if packet.size:
                gop.append(packet)
        name, extradata = stream.codec_context.name, stream.codec_context.extradata
    junk = av.Packet(b"\x00\x00\xff\xff\x65\x88")   # a NAL unit longer than its packet
    made = [GopJob(([junk] if kind == "damaged" else []) + gop, [FEED] * (len(gop) + (kind == "damaged")))
            for kind in jobs]
    return name, extradata, made


def _run_one_lane(name, extradata, jobs):
    from engine.media.gop_lanes import GopLanes
    from engine.media.sampling import SampleClock

    with GopLanes(name, extradata, lambda f: f.time, lambda: SampleClock(2.0, 25.0), lanes=1) as lanes:
        for job in jobs:
            lanes.submit(job)
            _, frames = lanes.oldest_frames()
            list(frames)
    return jobs


def test_a_lane_decoder_that_met_an_error_is_not_kept(video_factory, idle_decoders):
    truth = video_factory("lanes_veryfast.mp4", fps=25, keyint=50, bframes=3, shots=SHOTS, encoder_args=VERYFAST)
    name, extradata, jobs = _lane_jobs(truth.path, "clean", "damaged")
    assert [j.decode_errors for j in _run_one_lane(name, extradata, jobs)] == [0, 1]
    assert _held(idle_decoders) == []
    name, extradata, jobs = _lane_jobs(truth.path, "damaged", "clean")
    _run_one_lane(name, extradata, jobs)
    assert len(_held(idle_decoders)) == 1          # the new decoder the clean GOP was decoded with


def test_decoders_are_not_kept_after_an_early_stop_or_outside_a_worker(video_factory, idle_decoders):
    from engine.media.gop_lanes import IDLE_DECODERS

    long_gop = video_factory("lanes_one_gop.mp4", fps=25, keyint=250, bframes=3, shots=[ShotSpec(10.0)],
                             encoder_args=VERYFAST)
    assert len(list(sample_frames(long_gop.path, 2.0, 64, max_frames=1))) == 1
    assert _held(idle_decoders) == []              # stopped in the middle of its GOP (20 frames, 8 held ahead)
    assert _frames(long_gop.path, 2.0)[0].stats.gops_in_lanes == 1
    assert len(_held(idle_decoders)) == 1          # the same GOP decoded to its end
    truth = video_factory("lanes_veryfast.mp4", fps=25, keyint=50, bframes=3, shots=SHOTS, encoder_args=VERYFAST)
    idle_decoders.hold(0)
    _frames(truth.path, 2.0)
    assert _held(IDLE_DECODERS) == []              # none kept unless a process asks for them
