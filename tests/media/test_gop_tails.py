"""Frames after the last one a GOP can give are not decoded, and the kept frames do not change."""
from __future__ import annotations

import numpy as np
import pytest

from engine.media import sample_frames
from engine.media.gop import gop_last_wanted
from videogen import ShotSpec


def _same(a, b) -> bool:
    return [f.time for f in a] == [f.time for f in b] and all(np.array_equal(x.rgb, y.rgb) for x, y in zip(a, b))


@pytest.mark.parametrize("rate", [2.0, 3.0, 7.0])
def test_skipping_gop_tails_keeps_exactly_the_frames_a_full_decode_keeps(video_factory, rate):
    truth = video_factory("gop25_b3.mp4", fps=25, keyint=25, bframes=3,
                          shots=[ShotSpec(2.0, pattern="pan"), ShotSpec(2.0)])
    skipping = sample_frames(truth.path, rate, 64, skip_b=False)
    kept = list(skipping)
    full = sample_frames(truth.path, rate, 64, skip_gop_tails=False, skip_b=False)
    assert _same(kept, list(full))
    assert full.stats.packets_skipped == 0
    assert not skipping.warnings


def test_a_sparse_rate_skips_most_of_each_gop(video_factory):
    truth = video_factory("gop25_b3.mp4", fps=25, keyint=25, bframes=3,
                          shots=[ShotSpec(2.0, pattern="pan"), ShotSpec(2.0)])
    skipping = sample_frames(truth.path, 2, 64, skip_nonref=False, skip_gop_tails=True)
    frames = list(skipping)
    assert len(frames) == 8
    # ticks at 0 and 0.5 s of each 1-s GOP: frames well after 0.5 s are never decoded (a few are, while
    # the decoder still holds the 0.5-s frame: B-frame reordering and frame threads delay its output)
    assert skipping.stats.packets_skipped >= 0.2 * truth.frame_count
    assert skipping.stats.frames_decoded + skipping.stats.packets_skipped <= truth.frame_count


def test_asking_for_every_frame_turns_skipping_off(video_factory):
    truth = video_factory("gop25_b3.mp4", fps=25, keyint=25, bframes=3,
                          shots=[ShotSpec(2.0, pattern="pan"), ShotSpec(2.0)])
    full = sample_frames(truth.path, 2, 64, keyframes_only=False, skip_nonref=False)
    list(full)
    assert full.stats.packets_skipped == 0 and full.stats.frames_decoded == truth.frame_count


@pytest.mark.parametrize("t_max,expected", [
    (0.96, 0.5 - 0.018),    # 1-s GOP at 2 frames/s: nothing after the frame for the 0.5 s tick
    (0.99, 1.0 - 0.018),    # the GOP's last frame is within tolerance of the 1.0 s tick: it may serve it
    (0.40, 0.0 - 0.018),    # shorter than a tick: only the keyframe's tick
])
def test_last_wanted_time_of_a_gop(t_max, expected):
    to_seconds = lambda pts: pts / 1000.0   # noqa: E731
    stamps = [0, int(t_max * 1000 / 2), int(round(t_max * 1000))]
    assert gop_last_wanted(stamps, to_seconds, 0.5, 0.018) == pytest.approx(expected)


def test_no_stamps_or_unknown_times_mean_no_skipping():
    assert gop_last_wanted([], lambda p: p / 10, 0.5, 0.01) is None
    assert gop_last_wanted([5], lambda p: None, 0.5, 0.01) is None


def test_needed_packets_stop_at_the_frame_for_the_last_tick():
    from engine.media.gop import needed_packets

    # decode order I0 P4 B2 B1 B3 P8 B6 B5 B7 at 10 frames/s; B1 B3 B5 B7 are not output (non-reference, skipped)
    times = [0.0, 0.4, 0.2, 0.1, 0.3, 0.8, 0.6, 0.5, 0.7]
    output = [True, True, True, False, False, True, True, False, False]
    # 2 frames/s, tolerance 0.045: ticks 0.0 (I0) and 0.5 (first output frame at or after 0.455: B6, index 6)
    assert needed_packets(times, output, 0.5, 0.045) == 6
    # with every frame output, the 0.5 tick is served by B5 (index 7)
    assert needed_packets(times, [True] * 9, 0.5, 0.045) == 7


def test_where_b_pictures_are_left_out_a_tick_takes_the_nearest_picture():
    from engine.media.gop import picks

    # decode order I0 P4 B2 B1 B3 P8 B6 B5 B7 P12 B10 B9 B11 at 10 frames/s; the B-pictures left out
    times = [0.0, 0.4, 0.2, 0.1, 0.3, 0.8, 0.6, 0.5, 0.7, 1.2, 1.0, 0.9, 1.1]
    kept = [True, True, False, False, False] * 1 + [True, False, False, False] * 2
    # ticks 0.0, 0.6 and 1.2 s: 0.6 lies halfway between P4 and P8, and the earlier one is kept for it
    assert picks(times, kept, 0.6, 0.045, nearest=True) == ([0, 1, 9], {1})
    assert picks(times, kept, 0.6, 0.045) == ([0, 5, 9], set())          # the first frame at or after it
    # ticks every 0.5 s: P4 (0.1 from the 0.5 tick) against P8 (0.3): P4; the 1.0 tick: P8 against P12, a tie
    assert picks(times, kept, 0.5, 0.045, nearest=True) == ([0, 1, 5], {1, 5})
    # with every frame decoded nothing lies between two frames: the later one on a tie, as the clock does
    assert picks([0.0, 0.1, 0.2, 0.3], [True] * 4, 0.25, 0.045, nearest=True) == ([0, 3], set())


def test_a_stand_in_frame_serves_only_the_tick_the_clock_waits_for():
    from engine.media.sampling import SampleClock

    clock = SampleClock(1.0, 25.0)
    clock.take(0.0)
    assert not clock.wants(0.96) and clock.wants(0.96, stand_in=True)
    clock.take(0.96, stand_in=True)
    assert not clock.wants(1.12) and clock.wants(1.96, stand_in=True) and not clock.wants(0.9, stand_in=True)
    clock.take(2.0, stand_in=True)                      # on time: taken as usual, the 3-s tick next
    assert clock.next_tick == 3


def test_the_h264_reference_flag_is_read_from_nal_headers():
    from engine.media.gop import H264References

    avcc = H264References(bytes([1, 0x64, 0, 0x1E, 0xFF]))
    sei_then_ref_slice = (b"\x00\x00\x00\x02\x06\x05" + b"\x00\x00\x00\x03\x41\x9a\x24")
    nonref_slice = b"\x00\x00\x00\x03\x01\x9e\x42"

    class Packet(bytes):
        pass

    assert avcc.is_reference(Packet(sei_then_ref_slice)) is True
    assert avcc.is_reference(Packet(nonref_slice)) is False
    assert avcc.is_reference(Packet(b"\x00\x00\x00\x02\x06\x05")) is None          # no slice: unsure
    annex_b = H264References(None)
    assert annex_b.is_reference(Packet(b"\x00\x00\x00\x01\x09\xf0\x00\x00\x01\x01\x9e")) is False


def test_non_reference_packets_never_reach_the_decoder(video_factory):
    truth = video_factory("gop100_b3.mp4", fps=25, keyint=100, bframes=3,
                          shots=[ShotSpec(2.0, pattern="pan"), ShotSpec(2.0)])
    sparse = sample_frames(truth.path, 1, 64, skip_b=False)
    kept = list(sparse)
    assert sparse.stats.skipped_nonref and len(kept) == 4
    # one 4-s GOP, ticks up to 3 s: the tail after 3 s (a quarter) and the non-reference B-frames before it
    # (x264's B-pyramid: two of every three) are never handed to the decoder
    assert sparse.stats.packets_skipped >= 0.45 * truth.frame_count
    assert sparse.stats.frames_decoded + sparse.stats.packets_skipped <= truth.frame_count
    # the decoder, left to drop the same frames itself, gives exactly these
    decoder_skips = sample_frames(truth.path, 1, 64, skip_gop_tails=False, skip_b=False)
    assert _same(kept, list(decoder_skips))
    assert decoder_skips.stats.skipped_nonref and decoder_skips.stats.packets_skipped == 0
