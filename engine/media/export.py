"""Save one moment as its own video file, by copying packets (no re-encoding, no ffmpeg needed).

Without re-encoding a clip can only start on a keyframe: it starts at the last keyframe at
or before ``start`` (so it may begin up to one keyframe interval early) and ends with the
first packet past ``end``. Video and the first audio stream are kept; the container follows
the suffix of the output path and must accept the codecs (an .mkv takes anything).
"""
from __future__ import annotations

import os
from pathlib import Path

import av

from engine.errors import MediaError
from engine.media.probe import check_readable, open_error, pick_video_stream


def export_range(path: str | Path, start: float, end: float, out_path: Path) -> Path:
    """Write [start, end] of the video at ``path`` to ``out_path`` (replaced atomically); returns it."""
    path, out_path = Path(path), Path(out_path)
    if end <= start:
        raise ValueError(f"end must be after start, got {start}-{end}")
    check_readable(path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.stem}.partial{out_path.suffix}")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise open_error(path, exc) from exc
    try:
        with container:
            _copy_range(path, container, start, end, tmp)
        os.replace(tmp, out_path)
    except av.FFmpegError as exc:
        raise MediaError(f"{out_path}: could not write the clip ({exc.strerror or exc}); "
                         "try the .mkv format, which takes any codec") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return out_path


def _copy_range(path: Path, container, start: float, end: float, tmp: Path) -> None:
    video = pick_video_stream(container, path)
    streams = [video, *container.streams.audio[:1]]
    with av.open(str(tmp), "w", format=_format_for(tmp)) as out:
        mapping = {s.index: out.add_stream_from_template(s) for s in streams}
        container.seek((video.start_time or 0) + int(start / video.time_base), stream=video, backward=True)
        offsets: dict[int, int] = {}
        written = 0
        for packet in container.demux(streams):
            if packet.dts is None or packet.size == 0:
                continue
            t = float((packet.pts if packet.pts is not None else packet.dts) * packet.time_base)
            if t > end:
                if packet.stream.index == video.index:
                    break
                continue
            if packet.stream.index == video.index and not offsets and not packet.is_keyframe:
                continue   # wait for the keyframe the seek landed on
            offset = offsets.setdefault(packet.stream.index, packet.dts)
            if packet.stream.index != video.index and video.index not in offsets:
                offsets.pop(packet.stream.index)
                continue   # audio starts with the video
            packet.dts -= offset
            if packet.pts is not None:
                packet.pts -= offset
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)
            written += 1
    if written == 0:
        raise MediaError(f"{path}: nothing to export between {start:.1f} and {end:.1f} s")


def _format_for(path: Path) -> str | None:
    return {".mkv": "matroska", ".webm": "webm", ".mp4": "mp4", ".m4v": "mp4", ".mov": "mov",
            ".avi": "avi", ".ts": "mpegts"}.get(path.suffix.lower())
