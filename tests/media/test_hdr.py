"""HDR video (PQ, HLG) is tone-mapped to SDR where frames become RGB: sampling, seeking, thumbnails.

The HDR copies are made from an SDR video by FFmpeg's zscale (zimg), an implementation independent of ours,
with diffuse white at 203 cd/m2 as BT.2408 places it; converted back, they should look like the SDR video.
"""
from __future__ import annotations

import subprocess

import av
import numpy as np
import pytest

from engine.media import probe
from engine.media.decode import sample_frames
from engine.media.hdr import HLG, KNEE, PQ, frame_rgb, hlg_inverse_oetf, is_hdr, pq_eotf, roll_off, tone_mapper
from engine.media.seek import frames_at
from videogen import FFMPEG, ShotSpec

RED, GREEN, BLUE = (220, 40, 40), (60, 200, 60), (40, 80, 220)
TRANSFERS = {"pq": "smpte2084", "hlg": "arib-std-b67"}


@pytest.fixture(scope="module")
def sdr_video(video_factory):
    """Three flat shots of a coloured square on a dark and a mid-grey background, a keyframe every second."""
    return video_factory("hdr_source.mp4", size=(320, 240), keyint=25, shots=[
        ShotSpec(1.0, background=(20, 20, 30), shape_color=RED, shape="square", noise=0),
        ShotSpec(1.0, background=(110, 110, 110), shape_color=GREEN, shape="square", noise=0),
        ShotSpec(1.0, background=(40, 30, 10), shape_color=BLUE, shape="circle", noise=0)])


def hdr_copy(source, out, transfer: str):
    """``source`` as 10-bit HEVC in BT.2020 with the PQ or HLG transfer, SDR white at 203 cd/m2."""
    chain = ("format=yuv420p,zscale=tin=bt709:min=bt709:pin=bt709:rin=tv:t=linear:npl=203:p=bt709:m=gbr,"
             f"format=gbrpf32le,zscale=p=bt2020:t={TRANSFERS[transfer]}:m=bt2020nc:r=tv:npl=203,format=yuv420p10le")
    params = f"colorprim=bt2020:transfer={TRANSFERS[transfer]}:colormatrix=bt2020nc:log-level=error"
    subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(source), "-vf", chain, "-c:v", "libx265", "-preset",
                    "ultrafast", "-crf", "12", "-x265-params", params, "-tag:v", "hvc1", str(out)], check=True)
    return out


@pytest.fixture(scope="module", params=["pq", "hlg"])
def hdr_video(request, sdr_video, tmp_path_factory):
    return request.param, hdr_copy(sdr_video.path, tmp_path_factory.mktemp("hdr") / f"{request.param}.mp4",
                                   request.param)


def frames(path):
    return np.stack([f.rgb for f in sample_frames(path, 2.0, 120)])


def old_conversion(path):
    """What the frames were before: the HDR signal read as 8-bit RGB, as if it were SDR."""
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24", width=160, height=120)
                         for f in container.decode(video=0)][::12][:6])


def test_hdr_frames_look_like_the_sdr_video_they_were_made_from(sdr_video, hdr_video):
    transfer, path = hdr_video
    sdr, hdr = frames(sdr_video.path), frames(path)
    assert hdr.shape == sdr.shape
    difference = np.abs(hdr.astype(int) - sdr).mean()
    before = np.abs(old_conversion(path).astype(int) - sdr).mean()
    assert difference < 6.0 and before > 3 * difference, (transfer, difference, before)
    # zimg applies HLG's system gamma to colours its own way, not quite as BT.2100's luminance-based OOTF we
    # undo: saturated HLG colours come back a little paler (a red square's green 75 instead of 40; it was 151).
    tolerance = {"pq": 30, "hlg": 45}[transfer]
    for index, colour in ((0, RED), (2, GREEN), (4, BLUE)):
        shape = np.abs(sdr[index].astype(int) - colour).max(axis=-1) < 30
        seen = hdr[index][shape].mean(axis=0)
        assert shape.sum() > 100 and np.abs(seen - colour).max() < tolerance, (transfer, seen, colour)
        assert np.argmax(seen) == np.argmax(colour)                                             # red stays red


def test_seeking_gives_the_same_sdr_frames_as_sampling(hdr_video):
    _transfer, path = hdr_video
    info = probe(path)
    sampled = list(sample_frames(path, 2.0, 120))
    sought = frames_at(path, info, [f.time for f in sampled], (160, 120))
    assert len(sought) == len(sampled)
    for a, b in zip(sampled, sought):
        assert np.abs(a.rgb.astype(int) - b).mean() < 1.0


def test_sdr_frames_are_converted_exactly_as_before(sdr_video):
    with av.open(str(sdr_video.path)) as container:
        frame = next(container.decode(video=0))
        assert not is_hdr(frame)
        expected = frame.to_ndarray(format="rgb24", width=160, height=120, interpolation="AREA")
        np.testing.assert_array_equal(frame_rgb(frame, 160, 120), expected)


def test_the_transfer_curves_put_diffuse_white_where_bt2408_does():
    # BT.2408: 203 cd/m2 is PQ signal 0.58 and HLG signal 0.75 (on a 1000 cd/m2 display, system gamma 1.2).
    assert pq_eotf(np.array([0.58]))[0] == pytest.approx(203, rel=0.02)
    assert pq_eotf(np.array([1.0]))[0] == pytest.approx(10000, rel=1e-6) and pq_eotf(np.array([0.0]))[0] == 0
    scene = hlg_inverse_oetf(np.array([0.0, 0.5, 0.75, 1.0]))
    assert scene[0] == 0 and scene[1] == pytest.approx(1 / 12) and scene[3] == pytest.approx(1.0, abs=1e-6)
    assert 1000 * scene[2] ** 1.2 == pytest.approx(203, rel=0.02)


def test_diffuse_white_comes_out_near_white_and_highlights_roll_off_without_clipping():
    # Greys at diffuse white (203 cd/m2), then about 400 and 750 cd/m2.
    for transfer, codes in ((PQ, [0.58, 0.65, 0.72]), (HLG, [0.75, 0.85, 0.95])):
        grey = np.repeat((np.array(codes) * 65535).astype(np.uint16)[None, :, None], 3, axis=2)
        out = tone_mapper(transfer, True)(grey)[0, :, 0].astype(int)
        assert 240 <= out[0] <= 250, (transfer, out)          # white: under 255, room for highlights
        assert out[0] < out[1] < out[2] < 255, (transfer, out)
    x = np.linspace(0, 20, 2001)
    y = roll_off(x)
    assert np.all(np.diff(y) >= 0) and y.max() < 1.0
    assert np.allclose(y[x <= KNEE], x[x <= KNEE])
    slope = (roll_off(np.array([KNEE + 1e-4])) - roll_off(np.array([KNEE]))) / 1e-4
    assert slope[0] == pytest.approx(1.0, rel=1e-3)     # no edge at the knee
