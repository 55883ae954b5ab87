"""Save one moment as its own video file, by copying packets (no re-encoding, no ffmpeg needed).

Without re-encoding a clip can only start on a keyframe: it starts at the last keyframe at
or before ``start`` (so it may begin up to one keyframe interval early) and ends with the
first packet past ``end``. Video and the first audio stream are kept; the container follows
the suffix of the output path and must accept the codecs (an .mkv takes anything).
RealVideo is the exception: its packets do not survive being copied into another file (FFmpeg
decodes none of them back), so its clips are made again as H.264 at the file's own size.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import av

from engine.errors import MediaError
from engine.media.playable import make_playable
from engine.media.probe import check_readable, open_error, pick_video_stream
from engine.media.seek import seek_at_or_before

MADE_AGAIN = {"rv10", "rv20", "rv30", "rv40"}     # RealVideo: its packets copied into a new file do not decode


def export_range(path: str | Path, start: float, end: float, out_path: Path) -> Path:
    """Write [start, end] of the video at ``path`` to ``out_path`` (replaced atomically); returns it."""
    path, out_path = Path(path), Path(out_path)
    if end <= start:
        raise ValueError(f"end must be after start, got {start}-{end}")
    check_readable(path)
    tmp = out_path.with_name(f".{out_path.stem}.partial{out_path.suffix}")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise open_error(path, exc) from exc
    if pick_video_stream(container, path).codec_context.name in MADE_AGAIN:
        container.close()
        return _made_again(path, start, end, out_path)
    try:
        with container:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            _copy_range(path, container, start, end, tmp)
        os.replace(tmp, out_path)
    except OSError as exc:   # PyAV's errno errors are OSErrors too: the folder or the disk, not the format
        raise MediaError(f"{out_path}: could not write the clip ({exc.strerror or exc})") from exc
    except (av.FFmpegError, ValueError) as exc:   # ValueError: the container does not take the codec
        why = getattr(exc, "strerror", None) or exc
        raise MediaError(f"{out_path}: could not write the clip ({why}); "
                         "try the .mkv format, which takes any codec") from exc
    finally:
        with contextlib.suppress(OSError):   # where nothing could be written, there is nothing to remove
            tmp.unlink(missing_ok=True)
    return out_path


def _made_again(path: Path, start: float, end: float, out_path: Path) -> Path:
    container_format = _format_for(out_path)
    if container_format not in ("mp4", "mov", "matroska"):
        raise MediaError(f"{out_path}: {path.name} is RealVideo, which is exported made again as H.264: "
                         "save the clip as .mp4, .mov or .mkv")
    return make_playable(path, start, end, out_path, short_side=None, container_format=container_format).path


def _copy_range(path: Path, container, start: float, end: float, tmp: Path) -> None:
    video = pick_video_stream(container, path)
    streams = [video, *container.streams.audio[:1]]
    with av.open(str(tmp), "w", format=_format_for(tmp)) as out:
        # opaque: the stream takes the source's codec as it is; otherwise PyAV looks for an encoder of that
        # name, and a decoder such as libdav1d (AV1) has none, though copying packets needs no encoder.
        mapping = {s.index: out.add_stream_from_template(s, opaque=True) for s in streams}
        # Times are the moment's: seconds from the video stream's start (an MPEG-TS starts at 1.4 s or later).
        origin = float((video.start_time or 0) * video.time_base)

        def first_keyframe() -> float | None:
            packet = next((p for p in container.demux(video) if p.is_keyframe and p.pts is not None), None)
            return None if packet is None else float(packet.pts * packet.time_base) - origin

        seek_at_or_before(container, video, start, first_keyframe)
        offsets: dict[int, int] = {}
        last_video_dts: int | None = None
        # Matroska stores no decode times: after a seek the demuxer leaves the first packets of a stream with
        # B-frames without one, and a muxer needs them. They wait here for the first packet that has one.
        undated: list = []
        written = 0

        def write(packet) -> None:
            nonlocal written, last_video_dts
            index = packet.stream.index
            offset = offsets.setdefault(index, packet.dts)
            if index == video.index:
                last_video_dts = packet.dts
            packet.dts -= offset
            if packet.pts is not None:
                packet.pts -= offset
            packet.stream = mapping[index]
            out.mux(packet)
            written += 1

        for packet in container.demux(streams):
            if packet.size == 0 or (packet.dts is None and packet.pts is None):
                continue
            is_video = packet.stream.index == video.index
            t = float((packet.pts if packet.pts is not None else packet.dts) * packet.time_base) - origin
            if t > end:
                if is_video:
                    break
                continue
            if is_video and not offsets and not undated and not packet.is_keyframe:
                continue   # wait for the keyframe the seek landed on
            if not is_video and video.index not in offsets:
                continue   # audio starts with the video
            if packet.dts is None:
                if is_video and last_video_dts is None:
                    undated.append(packet)
                    continue
                packet.dts = last_video_dts + 1 if is_video else packet.pts
                if packet.pts is not None and packet.pts < packet.dts:
                    continue   # no decode time fits: a frame lost rather than a file no player opens
            if is_video and undated:
                for waiting in fill_decode_times(undated, packet.dts, _frame_ticks(video)):
                    write(waiting)
                undated.clear()
            write(packet)
        if undated:
            for waiting in fill_decode_times(undated, None, _frame_ticks(video)):
                write(waiting)
    if written == 0:
        raise MediaError(f"{path}: nothing to export between {start:.1f} and {end:.1f} s")


def fill_decode_times(packets: list, next_dts: int | None, step: int) -> list:
    """Give ``packets`` (in decode order, without decode times) the times one frame apart that end a
    frame before ``next_dts`` (the first known one after them; without it, before their first
    presentation time), so each decodes no later than it is shown."""
    if next_dts is None:
        next_dts = min(p.pts for p in packets)
    for back, packet in enumerate(reversed(packets), start=1):
        packet.dts = next_dts - back * step
        if packet.pts is not None and packet.pts < packet.dts:
            packet.dts = packet.pts
    return packets


def _frame_ticks(video) -> int:
    """One frame's duration in the stream's time base (1 when the rate is unknown)."""
    rate = video.average_rate or video.guessed_rate
    if not rate or not video.time_base:
        return 1
    return max(1, round(1 / (float(rate) * float(video.time_base))))


def _format_for(path: Path) -> str | None:
    """The muxer for a clip's suffix, where FFmpeg would not guess it (camcorders' .mod and .tod) or might guess
    another; None leaves it to FFmpeg."""
    return {".mkv": "matroska", ".webm": "webm", ".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".avi": "avi",
            ".divx": "avi", ".ts": "mpegts", ".mts": "mpegts", ".m2ts": "mpegts", ".tod": "mpegts", ".vob": "vob",
            ".mod": "vob", ".rm": "rm", ".rmvb": "rm"}.get(path.suffix.lower())
