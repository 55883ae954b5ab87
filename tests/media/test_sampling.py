from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest

import videogen
from engine.media import probe, sample_frames
from videogen import ShotSpec


@pytest.mark.parametrize("rate", [1.0, 2.0])
def test_counts_and_timestamps_follow_the_sampling_rate(plain_video, rate):
    frames = list(sample_frames(plain_video.path, rate, 96))
    assert len(frames) == math.ceil(plain_video.duration * rate)
    half_source_frame = 0.5 / plain_video.fps
    for k, frame in enumerate(frames):
        assert abs(frame.time - k / rate) <= half_source_frame + 1e-6
        assert frame.rgb.dtype == np.uint8 and frame.rgb.flags.c_contiguous


@pytest.mark.parametrize("size,short_side,expected", [
    ((640, 360), 224, (224, 398)),
    ((320, 240), 112, (112, 149)),
    ((160, 120), 224, (224, 299)),    # small videos are scaled up to the requested short side
])
def test_resize_keeps_aspect(video_factory, size, short_side, expected):
    truth = video_factory(f"aspect_{size[0]}x{size[1]}.mp4", size=size, shots=[ShotSpec(1.0)])
    frames = list(sample_frames(truth.path, 2, short_side))
    assert {f.rgb.shape for f in frames} == {(*expected, 3)}


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_rotation_is_applied_like_ffmpeg_autorotate(video_factory, rotate):
    truth = video_factory(f"rot_tex{rotate}.mp4", size=(320, 240), rotate=rotate,
                          shots=[ShotSpec(1.0, pattern="texture", noise=0)])
    frame = next(iter(sample_frames(truth.path, 2, 120)))
    height, width = frame.rgb.shape[:2]
    assert min(height, width) == 120
    assert (height > width) == (rotate in (90, 270))
    reference = videogen.ffmpeg_frames(truth.path, width, height, max_frames=1)[0]
    error = np.abs(frame.rgb.astype(int) - reference).mean()
    wrong = np.abs(np.rot90(frame.rgb, 2).astype(int) - reference).mean()
    assert error < 6 < wrong


def test_max_frames_stops_early(plain_video):
    sampler = sample_frames(plain_video.path, 2, 64, max_frames=3)
    assert len(list(sampler)) == 3
    assert sampler.stats.frames_converted == 3
    assert not sampler.warnings


def test_only_kept_frames_are_converted_and_stats_add_up(plain_video):
    sampler = sample_frames(plain_video.path, 2, 64, keyframes_only=False)
    frames = list(sampler)
    stats = sampler.stats
    assert stats.backend == "pyav" and not stats.keyframes_only
    assert stats.frames_decoded == plain_video.frame_count
    assert stats.frames_converted == len(frames) == 6
    assert stats.decode_seconds > 0 and stats.convert_seconds > 0


def test_keyframes_only_when_sampling_is_sparser_than_keyframes(video_factory):
    truth = video_factory("gop10_4s.mp4", fps=20, keyint=10, shots=[ShotSpec(2.0), ShotSpec(2.0)])
    sparse = sample_frames(truth.path, 1, 64)
    sparse_frames = list(sparse)
    assert sparse.stats.keyframes_only
    assert sparse.stats.frames_decoded == truth.frame_count // 10
    # the other packets never reached the decoder (so its threads can decode keyframes side by side)
    assert sparse.stats.packets_skipped == truth.frame_count - truth.frame_count // 10
    assert [f.time for f in sparse_frames] == pytest.approx([0, 1, 2, 3])

    full = sample_frames(truth.path, 1, 64, keyframes_only=False)
    full_frames = list(full)
    assert not full.stats.keyframes_only and full.stats.frames_decoded == truth.frame_count
    deblocked = list(sample_frames(truth.path, 1, 64, skip_loop_filter=False))
    for a, b, c in zip(sparse_frames, full_frames, deblocked):
        assert a.time == pytest.approx(b.time)
        assert np.abs(c.rgb.astype(int) - b.rgb).max() == 0
        assert np.abs(a.rgb.astype(int) - b.rgb).max() <= 12    # the same keyframes, not deblocked

    dense = sample_frames(truth.path, 4, 64)
    list(dense)
    assert not dense.stats.keyframes_only


@pytest.mark.parametrize("codec,name,deblock", [
    ("h264", "blocky.mp4", ["-deblock", "0:0"]),    # ultrafast x264 writes no loop filter; camera video has one
    ("hevc", "blocky_hevc.mp4", []),
])
def test_keyframes_decoded_alone_are_not_deblocked_and_stay_close(video_factory, codec, name, deblock):
    # A coarse quantiser makes block edges the loop filter smooths.
    truth = video_factory(name, codec=codec, size=(640, 360), fps=20, keyint=10, encoder_args=["-crf", "45", *deblock],
                          shots=[ShotSpec(2.0, pattern="texture", noise=0), ShotSpec(2.0, pattern="pan", speed=40)])
    fast = sample_frames(truth.path, 1, 224)
    fast_frames = list(fast)
    exact = sample_frames(truth.path, 1, 224, skip_loop_filter=False)
    exact_frames = list(exact)
    assert fast.stats.keyframes_only and fast.stats.loop_filter_skipped
    assert exact.stats.keyframes_only and not exact.stats.loop_filter_skipped
    assert len(fast_frames) == len(exact_frames) == 4
    differences = [np.abs(a.rgb.astype(int) - b.rgb) for a, b in zip(fast_frames, exact_frames)]
    assert max(d.max() for d in differences) > 0
    for d in differences:
        psnr = 10 * np.log10(255 ** 2 / max((d.astype(float) ** 2).mean(), 1e-9))
        assert psnr > 30

    chain = sample_frames(truth.path, 4, 224)    # P-pictures refer to the keyframes: they are deblocked
    list(chain)
    assert not chain.stats.keyframes_only and not chain.stats.loop_filter_skipped


def test_variable_frame_rate_uses_timestamps(tmp_path):
    truth = videogen.make_vfr_video(tmp_path / "vfr.mkv", rates=((1.0, 10), (1.0, 30)))
    frames = list(sample_frames(truth.path, 4, 64))
    assert len(frames) == 8
    for k, frame in enumerate(frames):
        assert min(abs(frame.time - t) for t in truth.frame_times) < 0.002
        assert abs(frame.time - k / 4) <= 0.05 + 1e-6


def test_opencv_decoder_matches_pyav(three_shots):
    by_av = list(sample_frames(three_shots.path, 2, 96, backend="pyav"))
    sampler = sample_frames(three_shots.path, 2, 96, backend="opencv")
    by_cv = list(sampler)
    assert sampler.stats.backend == "opencv"
    assert [f.time for f in by_cv] == pytest.approx([f.time for f in by_av], abs=1e-3)
    for a, b in zip(by_av, by_cv):
        assert a.rgb.shape == b.rgb.shape
        assert np.abs(a.rgb.astype(int) - b.rgb).mean() < 8


def test_opencv_decoder_applies_rotation(video_factory):
    truth = video_factory("rot_tex90.mp4", size=(320, 240), rotate=90,
                          shots=[ShotSpec(1.0, pattern="texture", noise=0)])
    by_av = next(iter(sample_frames(truth.path, 2, 120)))
    by_cv = next(iter(sample_frames(truth.path, 2, 120, backend="opencv")))
    assert by_cv.rgb.shape == by_av.rgb.shape == (160, 120, 3)
    assert np.abs(by_av.rgb.astype(int) - by_cv.rgb).mean() < 8


def test_one_frame_video_gives_one_frame(tmp_path):
    truth = videogen.make_one_frame_video(tmp_path / "one.mp4")
    frames = list(sample_frames(truth.path, 2, 64))
    assert len(frames) == 1 and frames[0].time == 0.0


def test_info_from_an_earlier_probe_is_reused(plain_video):
    info = probe(plain_video.path)
    sampler = sample_frames(plain_video.path, 1, 64, info=info)
    assert sampler.info is info
    assert len(list(sampler)) == 3
    with pytest.raises(RuntimeError):
        list(sampler)


def test_non_reference_frames_are_skipped_when_sampling_sparsely(video_factory):
    truth = video_factory("bframes.mp4", fps=25, bframes=3, shots=[ShotSpec(2.0), ShotSpec(2.0)])
    sparse = sample_frames(truth.path, 2, 64)
    frames = list(sparse)
    assert sparse.stats.skipped_nonref
    assert sparse.stats.frames_decoded < 0.6 * truth.frame_count
    assert len(frames) == 8
    for k, frame in enumerate(frames):     # the nearest frame decoded: at most four source frames apart
        assert abs(frame.time - k / 2) <= 2 / truth.fps + 1e-6

    full = sample_frames(truth.path, 2, 64, skip_nonref=False)
    full_times = [f.time for f in full]
    assert not full.stats.skipped_nonref and full.stats.frames_decoded == truth.frame_count
    assert full_times == pytest.approx([k / 2 for k in range(8)], abs=0.5 / truth.fps + 1e-6)

    dense = sample_frames(truth.path, 10, 64)
    list(dense)
    assert not dense.stats.skipped_nonref and dense.stats.frames_decoded == truth.frame_count


def test_raw_stream_without_timestamps_counts_frames(plain_video, tmp_path):
    path = videogen.strip_timestamps(plain_video.path, tmp_path / "raw.h264")
    info = probe(path)
    assert info.frame_count == plain_video.frame_count
    assert info.duration == pytest.approx(plain_video.duration)
    times = [f.time for f in sample_frames(path, 2, 32)]
    assert times == pytest.approx([0, 0.52, 1.0, 1.52, 2.0, 2.52])


def _scaled_by_pyav(path, size) -> list[np.ndarray]:
    """Every frame of ``path``, each scaled on its own by PyAV's ``to_ndarray``: a new swscale context per frame."""
    import av

    with av.open(str(path)) as container:
        return [frame.to_ndarray(width=size[0], height=size[1], format="rgb24", interpolation="AREA")
                for frame in container.decode(container.streams.video[0])]


def _positions(frames, scaled: list[np.ndarray]) -> list[int]:
    """Where each sampled frame is among ``scaled``, asserting that it is there, pixel for pixel."""
    positions = []
    for frame in frames:
        matches = [n for n, candidate in enumerate(scaled) if np.array_equal(frame.rgb, candidate)]
        assert matches, f"the frame at {frame.time:.2f} s is none of the file's frames scaled one by one"
        positions.append(matches[0])
    return positions


def test_frames_are_scaled_as_each_on_its_own(three_shots):
    """The sampler keeps one swscale context for a file; its pixels are those of a fresh context per frame."""
    frames = list(sample_frames(three_shots.path, 10, 112, skip_nonref=False))
    height, width = frames[0].rgb.shape[:2]
    assert len(set(_positions(frames, _scaled_by_pyav(three_shots.path, (width, height))))) == len(frames)


def test_a_stream_that_changes_size_is_scaled_at_each_size(video_factory, tmp_path):
    """MPEG-TS joined from 320x240 and 480x360 streams: the kept context is rebuilt when the frame size changes."""
    small = video_factory("join_small.ts", size=(320, 240), shots=[ShotSpec(1.0, pattern="pan", speed=20)])
    large = video_factory("join_large.ts", size=(480, 360), shots=[ShotSpec(1.0, background=(30, 60, 200))])
    listing = tmp_path / "parts.txt"
    listing.write_text(f"file '{small.path}'\nfile '{large.path}'\n")
    joined = tmp_path / "joined.ts"
    subprocess.run([videogen.FFMPEG, "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", str(listing),
                    "-c", "copy", str(joined)], check=True)
    frames = list(sample_frames(joined, 4, 96, skip_nonref=False))
    height, width = frames[0].rgb.shape[:2]
    scaled = _scaled_by_pyav(joined, (width, height))
    positions = _positions(frames, scaled)
    small_frames = round(small.duration * small.fps)
    assert min(positions) < small_frames <= max(positions)   # frames of both sizes were sampled
