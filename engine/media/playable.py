"""A copy of part of a video that any player can show: H.264 and AAC in MP4, made with PyAV.

The window's player decodes with the FFmpeg that Qt ships, which is not the one ClipSeek indexes with. It has
no AV1 decoder of its own (the picture stays black where the graphics card cannot decode AV1), and it cannot
seek in some MPEG-TS files (long keyframe intervals: playback freezes where it should start). ClipSeek reads
both, so for such a file it decodes the part around the moment itself and encodes it again, at a size for a
preview, for the player to show instead. The copy starts at 0; ``PlayableClip.start`` says where that is in the
original. HDR is tone-mapped and rotation applied, as for the thumbnails.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from engine.errors import MediaError
from engine.media.hdr import frame_rgb, is_hdr
from engine.media.probe import check_readable, open_error, pick_video_stream, probe
from engine.media.sampling import rotate_for_display, target_size
from engine.media.seek import seek_at_or_before

SHORT_SIDE = 540          # pixels: sharp in the panel and still fine filling a laptop screen
MAX_SECONDS = 120.0       # the longest copy made; a longer range is cut at its end
MS = Fraction(1, 1000)
AUDIO_RATE = 48000


@dataclass(frozen=True)
class PlayableClip:
    path: Path
    start: float          # seconds in the original where the copy's 0 lies
    end: float            # seconds in the original where the copy ends


def make_playable(path: str | Path, start: float, end: float, out_path: str | Path,
                  short_side: int | None = SHORT_SIDE, container_format: str = "mp4") -> PlayableClip:
    """Decode [start, end] of the video at ``path`` and write it to ``out_path`` (replaced atomically) as H.264
    with AAC sound (when it has sound), its shorter side ``short_side`` at most (None: the file's own size), in
    ``container_format`` (mp4, mov or matroska). Raises MediaError when the file cannot be read or nothing in the
    range decodes, ValueError for a range that is empty."""
    path, out_path = Path(path), Path(out_path)
    start = max(0.0, float(start))
    end = min(float(end), start + MAX_SECONDS)
    if not end > start:
        raise ValueError(f"end must be after start, got {start}-{end}")
    check_readable(path)
    info = probe(path)
    side = info.height if short_side is None else min(short_side, info.height)
    width, height = _even(target_size(info.width, info.height, side, info.sample_aspect))
    if info.rotation % 180:
        width, height = height, width
    tmp = out_path.with_name(f".{out_path.stem}.partial{out_path.suffix}")
    container = _open(path)
    try:
        container = _start_at(path, container, start)
        with container:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            first, last = _transcode(path, container, info.rotation, start, end, (width, height), tmp,
                                     container_format)
        os.replace(tmp, out_path)
    except OSError as exc:
        raise MediaError(f"{out_path}: could not write a playable copy ({exc.strerror or exc})") from exc
    except av.FFmpegError as exc:
        raise MediaError(f"{path}: could not make a playable copy ({getattr(exc, 'strerror', None) or exc})") from exc
    finally:
        container.close()
        with contextlib.suppress(OSError):
            tmp.unlink()
    return PlayableClip(out_path, first, last)


def _open(path: Path):
    try:
        return av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise open_error(path, exc) from exc


def _even(size: tuple[int, int]) -> tuple[int, int]:
    return max(2, size[0] // 2 * 2), max(2, size[1] // 2 * 2)


def _transcode(path: Path, container, rotation: int, start: float, end: float, size: tuple[int, int],
               tmp: Path, container_format: str) -> tuple[float, float]:
    video = pick_video_stream(container, path)
    sound = next((s for s in container.streams.audio if s.codec_context is not None), None)
    origin = video.start_time or 0
    origin_seconds = float(origin * video.time_base)    # sound and picture share one clock: both count from here
    with av.open(str(tmp), "w", format=container_format) as out:
        out_video = out.add_stream("libx264", rate=30)
        out_video.width, out_video.height = size
        out_video.pix_fmt = "yuv420p"
        out_video.time_base = MS
        out_video.codec_context.time_base = MS
        out_video.options = {"preset": "superfast", "crf": "23", "tune": "fastdecode"}
        out_sound = resampler = None
        if sound is not None:
            out_sound = out.add_stream("aac", rate=AUDIO_RATE)
            out_sound.layout = "stereo"
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
        scaler = VideoReformatter()        # one for all frames: it keeps its scaling context
        first = last = None
        last_pts = -1
        samples_out = 0
        streams = [video] + ([sound] if sound is not None else [])
        for packet in container.demux(*streams):
            if packet.stream is video:
                frames = _decoded(packet)
                for frame in frames:
                    t = _seconds(frame, origin)
                    if t is None or t < start - 1e-3:
                        continue
                    if t > end:
                        break
                    if first is None:
                        first = t
                    pts = max(last_pts + 1, round((t - first) * 1000))
                    picture = _picture(frame, rotation, size, scaler)
                    picture.pts, picture.time_base = pts, MS
                    out.mux(out_video.encode(picture))
                    last_pts, last = pts, t
                else:
                    continue
                break                      # the video has passed the range's end
            elif out_sound is not None and first is not None:
                for frame in _decoded(packet):
                    if frame.pts is None:
                        continue
                    t = float(frame.pts * frame.time_base) - origin_seconds
                    if t < first or t > end:
                        continue
                    for piece in resampler.resample(frame):
                        if samples_out == 0:
                            samples_out = round((t - first) * AUDIO_RATE)
                        piece.pts, piece.time_base = samples_out, Fraction(1, AUDIO_RATE)
                        samples_out += piece.samples
                        out.mux(out_sound.encode(piece))
        if first is None:
            raise MediaError(f"{path}: no frame could be decoded between {start:.1f} and {end:.1f} s")
        out.mux(out_video.encode(None))
        if out_sound is not None:
            out.mux(out_sound.encode(None))
    return first, last


def _picture(frame: av.VideoFrame, rotation: int, size: tuple[int, int], scaler: VideoReformatter) -> av.VideoFrame:
    """The frame at ``size`` (as shown) in the encoder's format: straight there when it needs neither tone
    mapping nor turning, through RGB otherwise."""
    if rotation % 360 == 0 and not is_hdr(frame):
        return scaler.reformat(frame, size[0], size[1], "yuv420p", interpolation="AREA")
    stored = size[::-1] if rotation % 180 else size
    rgb = rotate_for_display(frame_rgb(frame, *stored, scaler), rotation)
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format="yuv420p")


def _decoded(packet) -> list:
    try:
        return packet.decode()
    except av.FFmpegError:
        return []        # a damaged packet: the frames around it still make the copy


def _seconds(frame, origin: int) -> float | None:
    if frame.pts is None or frame.time_base is None:
        return None
    return float((frame.pts - origin) * frame.time_base)


def _start_at(path: Path, container, t: float):
    """The container, sought so that the first frame decoded is at or before ``t``."""
    stream = pick_video_stream(container, path)
    stream.codec_context.thread_type = "AUTO"
    origin = stream.start_time or 0

    def first_frame() -> float | None:
        return next((_seconds(f, origin) for p in container.demux(stream) for f in _decoded(p) if f.pts is not None),
                    None)

    seek_at_or_before(container, stream, t, first_frame)
    return container
