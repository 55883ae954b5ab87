from __future__ import annotations

import cv2
import numpy as np
import pytest

import videogen
from engine.errors import MediaError
from engine.media import probe, sample_frames
from engine.media.export import export_range
from engine.media.preview import preview_jpegs
from videogen import ShotSpec


@pytest.fixture(scope="module")
def red_blue_red(video_factory):
    return video_factory("rbr_gop25.mp4", keyint=25, shots=[
        ShotSpec(2.0, background=(200, 40, 40)), ShotSpec(2.0, background=(40, 70, 200)),
        ShotSpec(2.0, background=(200, 40, 40))])


def test_preview_stills_come_from_their_times(red_blue_red):
    stills = preview_jpegs(red_blue_red.path, 1.0, 5.0, count=4, width=160)
    images = [cv2.imdecode(np.frombuffer(s, np.uint8), cv2.IMREAD_COLOR) for s in stills]
    assert [im.shape for im in images] == [(120, 160, 3)] * 4
    blue = [float(np.median(im[..., 0])) > float(np.median(im[..., 2])) for im in images]   # BGR
    assert blue == [False, True, True, False]   # centres at 1.5, 2.5, 3.5, 4.5 s


def test_each_preview_still_is_handed_on_as_soon_as_it_is_made(red_blue_red):
    handed: list[bytes] = []
    stills = preview_jpegs(red_blue_red.path, 0.5, 5.5, count=5, width=96, on_still=handed.append)
    assert len(stills) == 5 and handed == stills


def test_export_copies_from_the_keyframe_before_start(red_blue_red, tmp_path):
    out = export_range(red_blue_red.path, 2.3, 3.6, tmp_path / "clip.mp4")
    info = probe(out)
    assert info.duration == pytest.approx(1.64, abs=0.05)   # from the keyframe at 2.0 s
    frames = list(sample_frames(out, 2, 32))
    assert all(np.median(f.rgb[..., 2]) > np.median(f.rgb[..., 0]) for f in frames)   # all blue
    assert not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize("keyint", [25, 250])
def test_export_from_mpeg_ts_takes_the_moments_times_not_the_streams(video_factory, tmp_path, keyint):
    """MPEG-TS timestamps start at 1.4 s (a broadcast's at hours): the clip's range is the moment's, counted from
    the stream's start; with one keyframe in the file its seeks land nowhere, and the clip starts at that keyframe."""
    video = video_factory(f"rbr_gop{keyint}.ts", keyint=keyint, shots=[
        ShotSpec(2.0, background=(200, 40, 40)), ShotSpec(2.0, background=(40, 70, 200)),
        ShotSpec(2.0, background=(200, 40, 40))])
    out = export_range(video.path, 2.3, 3.6, tmp_path / "clip.mkv")
    info = probe(out)
    assert info.duration == pytest.approx(1.64 if keyint == 25 else 3.64, abs=0.1)   # from the keyframe before
    frames = list(sample_frames(out, 2, 32))
    blue = [bool(np.median(f.rgb[..., 2]) > np.median(f.rgb[..., 0])) for f in frames]
    assert blue[-1] and (all(blue) if keyint == 25 else blue[0] is False)


def test_export_of_realvideo_is_made_again_as_h264(video_factory, tmp_path):
    video = video_factory("old.rm", size=(352, 288), codec="mpeg4", encoder_args=["-c:v", "rv20", "-b:v", "500k"],
                          shots=[ShotSpec(1.0, background=(200, 40, 40)), ShotSpec(1.0, background=(40, 70, 200))])
    out = export_range(video.path, 0.6, 1.6, tmp_path / "clip.mp4")
    info = probe(out)
    assert info.codec == "h264" and (info.width, info.height) == (352, 288)     # the file's own size
    assert info.duration == pytest.approx(1.0, abs=0.1)
    frames = list(sample_frames(out, 4, 32))
    assert np.median(frames[0].rgb[..., 0]) > np.median(frames[0].rgb[..., 2])   # red, then blue
    assert np.median(frames[-1].rgb[..., 2]) > np.median(frames[-1].rgb[..., 0])
    with pytest.raises(MediaError, match=r"\.mp4"):
        export_range(video.path, 0.6, 1.6, tmp_path / "clip.rm")


def test_export_from_a_camcorder_mod_file_keeps_its_container(video_factory, tmp_path):
    video = video_factory("MOV001.MOD", codec="mpeg2", encoder_args=["-f", "vob"], size=(352, 288),
                          shots=[ShotSpec(1.0), ShotSpec(1.0, background=(40, 70, 200))])
    out = export_range(video.path, 1.0, 1.8, tmp_path / "MOV001 clip.MOD")
    assert probe(out).codec == "mpeg2video" and len(list(sample_frames(out, 5, 32))) >= 3


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_export_from_matroska_with_b_frames_starts_at_the_keyframe(video_factory, tmp_path, suffix):
    """Matroska has no decode times: after a seek the first packets come without one. The clip still starts
    at the keyframe before ``start``, not at the next one (or nowhere, when none comes before ``end``)."""
    source = video_factory("rbr_bframes.mkv", keyint=25, bframes=2, shots=[
        ShotSpec(2.0, background=(200, 40, 40)), ShotSpec(2.0, background=(40, 70, 200))])
    out = export_range(source.path, 2.5, 3.2, tmp_path / f"clip{suffix}")
    frames = list(sample_frames(out, 5, 32))
    assert 1.1 <= probe(out).duration <= 1.4          # from the keyframe at 2.0 s to past 3.2 s, not from 3.0 s
    assert len(frames) >= 6
    assert all(np.median(f.rgb[..., 2]) > np.median(f.rgb[..., 0]) for f in frames)   # all blue


def test_export_copies_av1_whose_decoder_has_no_encoder_of_its_name(video_factory, tmp_path):
    source = video_factory("blue.mp4", codec="av1", keyint=25, shots=[ShotSpec(2.0, background=(40, 70, 200))])
    out = export_range(source.path, 0.5, 1.5, tmp_path / "clip.mp4")
    frames = list(sample_frames(out, 5, 32))
    assert probe(out).codec == "libdav1d" and len(frames) >= 5
    assert all(np.median(f.rgb[..., 2]) > np.median(f.rgb[..., 0]) for f in frames)


def test_export_into_a_container_that_refuses_the_codec_says_so(red_blue_red, tmp_path):
    with pytest.raises(MediaError, match=r"could not write the clip .*'webm' format does not support 'h264'.*\.mkv"):
        export_range(red_blue_red.path, 0.5, 1.5, tmp_path / "clip.webm")
    assert not list(tmp_path.iterdir())


def test_export_to_a_place_that_cannot_be_written_says_why_without_blaming_the_format(red_blue_red, tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_bytes(b"")
    with pytest.raises(MediaError, match=r"a file/clip.mp4: could not write the clip \(File exists\)$"):
        export_range(red_blue_red.path, 0.5, 1.5, blocker / "clip.mp4")      # its folder would be a file


def test_undated_packets_get_decode_times_a_frame_apart_and_never_after_they_show():
    from types import SimpleNamespace as Packet

    from engine.media.export import fill_decode_times

    waiting = [Packet(pts=4000, dts=None), Packet(pts=4160, dts=None)]     # I, then P shown after two Bs
    assert [p.dts for p in fill_decode_times(waiting, 4000, 40)] == [3920, 3960]
    leading = [Packet(pts=4000, dts=None), Packet(pts=3960, dts=None)]     # a picture shown before the keyframe
    assert [p.dts for p in fill_decode_times(leading, 3920, 40)] == [3840, 3880]
    alone = [Packet(pts=100, dts=None)]                                    # nothing dated came after it
    assert [p.dts for p in fill_decode_times(alone, None, 40)] == [60]


def test_export_refuses_bad_input(red_blue_red, tmp_path):
    with pytest.raises(ValueError):
        export_range(red_blue_red.path, 3.0, 2.0, tmp_path / "x.mkv")
    noise = videogen.write_random_bytes(tmp_path / "noise.mp4")
    with pytest.raises(MediaError, match="not a video file"):
        export_range(noise, 0, 1, tmp_path / "y.mkv")
    assert not (tmp_path / "y.mkv").exists()
