"""probe(path) -> MediaInfo: what a video is, read from headers and the first packets.

PyAV first; OpenCV when PyAV cannot open the file. Anything a user can hit (no video,
not a video, damaged, absurd frame size) raises MediaError with a readable reason.
"""
from __future__ import annotations

import math
import os
from collections import deque
from pathlib import Path
from typing import Iterator

import av
import cv2

from engine.errors import MediaError
from engine.media.limits import DEFAULT_LIMITS, MediaLimits
from engine.media.recorded import recorded_at
from engine.media.sniff import sniff_file
from engine.media.types import MediaInfo

KEYFRAME_SCAN_PACKETS = 300   # packets demuxed (not decoded) to estimate the keyframe interval
LOOP_FILTER_SKIPPABLE = ("h264", "hevc")   # decoders that honour skip_loop_filter (VP9's and AV1's ignore it)
KEPT_PACKET_BYTES = 64 << 20  # the most of the probe's packets probe_keeping_file holds for the decoding after it


class OpenedFile:
    """A probed file left open for decoding (``probe_keeping_file``): its container, read up to where the probe
    stopped, and the video packets the probe read. Decoding ``packets()`` sees the video stream from its start,
    read once; the stream's own decoder was opened by the probe, with the probe's settings."""

    def __init__(self, container: av.container.InputContainer, read: list[av.Packet]):
        self.container = container
        self._read = read

    def packets(self, stream: av.video.stream.VideoStream) -> Iterator[av.Packet]:
        read, self._read = deque(self._read), []
        while read:
            yield read.popleft()   # each let go once decoded: they may be tens of MB
        yield from self.container.demux(stream)

    def close(self) -> None:
        self._read = []
        self.container.close()


class _KeptPackets:
    """The video packets the probe reads, kept for the decoding after it; all let go once they pass
    KEPT_PACKET_BYTES (the file is then opened again), so that a probe never holds more than that."""

    def __init__(self):
        self.packets: list[av.Packet] = []
        self.size = 0
        self.too_many = False

    def add(self, packet: av.Packet) -> None:
        if self.too_many:
            return
        self.size += packet.size
        if self.size > KEPT_PACKET_BYTES:
            self.too_many, self.packets = True, []
        else:
            self.packets.append(packet)


def check_readable(path: Path) -> None:
    """Raise MediaError unless ``path`` is a non-empty readable file."""
    if not path.exists():
        raise MediaError(f"{path}: file not found")
    if not path.is_file():
        raise MediaError(f"{path}: not a file")
    if not os.access(path, os.R_OK):
        raise MediaError(f"{path}: cannot read the file (permission denied)")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: empty file (0 bytes)")


def open_error(path: Path, exc: BaseException) -> MediaError:
    """The MediaError for a file that no decoder could open."""
    if isinstance(exc, PermissionError):
        return MediaError(f"{path}: cannot read the file (permission denied)")
    kind = sniff_file(path)
    reason = getattr(exc, "strerror", None) or str(exc)
    if kind is not None:
        return MediaError(f"{path}: truncated or corrupt: the {kind} container cannot be read ({reason}); "
                          "copy the file again from its source or repair it")
    return MediaError(f"{path}: not a video file (contents not recognised as a video container)")


def pick_video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    """The first real video stream (cover art is skipped), or MediaError saying what is there."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    if container.streams.audio:
        raise MediaError(f"{path}: no video stream (audio only)")
    raise MediaError(f"{path}: no video stream")


def is_still_image(container: av.container.InputContainer) -> bool:
    name = container.format.name
    return name == "image2" or name.endswith("_pipe")


def probe(path: str | Path, *, limits: MediaLimits = DEFAULT_LIMITS, backend: str = "auto") -> MediaInfo:
    """Describe the video at ``path``; ``backend`` is "auto" (PyAV, then OpenCV), "pyav" or "opencv"."""
    return _probe(Path(path), limits, backend, keep=False)[0]


def probe_keeping_file(path: str | Path, *, limits: MediaLimits = DEFAULT_LIMITS
                       ) -> tuple[MediaInfo, OpenedFile | None]:
    """``probe(path)``, and the file left open for decoding it (None where OpenCV probed it, or where the probe
    read more than KEPT_PACKET_BYTES of packets). Opening a file costs FFmpeg the decoding of its first frames
    (26 ms for 1080p H.264), which a folder of short clips pays for every clip. The caller closes it."""
    return _probe(Path(path), limits, "auto", keep=True)


def _probe(path: Path, limits: MediaLimits, backend: str, keep: bool) -> tuple[MediaInfo, OpenedFile | None]:
    check_readable(path)
    if backend == "opencv":
        return probe_opencv(path, limits), None
    if backend not in ("auto", "pyav"):
        raise ValueError(f"unknown backend {backend!r}; choose auto, pyav or opencv")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        if backend == "auto":
            try:
                return probe_opencv(path, limits), None
            except MediaError:
                pass
        raise open_error(path, exc) from exc
    kept = _KeptPackets() if keep else None
    try:
        info = _probe_container(path, container, limits, kept)
    except BaseException:
        container.close()
        raise
    if kept is None or kept.too_many:
        container.close()
        return info, None
    return info, OpenedFile(container, kept.packets)


def _probe_container(path: Path, container: av.container.InputContainer, limits: MediaLimits,
                     kept: _KeptPackets | None = None) -> MediaInfo:
    """``kept``: where to keep the video packets the probe reads (None: not kept)."""
    stream = pick_video_stream(container, path)
    codec = stream.codec_context.name
    if is_still_image(container):
        raise MediaError(f"{path}: a still image ({codec}), not a video")
    width, height = stream.codec_context.width, stream.codec_context.height
    limits.check_frame_size(str(path), width, height)

    warnings: list[str] = []
    fps = _nominal_fps(stream, limits)
    if fps is None:
        warnings.append(f"frame rate {stream.average_rate} is not plausible; frame times come from timestamps")
    duration = _header_duration(container, stream)
    scan = _scan_first_packets(path, container, stream, kept)
    frame_count = stream.frames if stream.frames > 0 else 0
    if duration is None:
        duration, packets = _length_from_all_packets(path, stream.index)
        if duration is None and fps:
            duration = packets / fps   # raw streams carry no timestamps at all
        frame_count = frame_count or packets
    duration = duration or 0.0
    frame_count = frame_count or round(duration * (fps or 0.0))
    sar = stream.sample_aspect_ratio
    sample_aspect = float(sar) if sar and 0.1 <= float(sar) <= 10 else 1.0
    return MediaInfo(path=str(path), duration=duration, fps=fps or 0.0, width=width, height=height,
                     rotation=scan.rotation, codec=codec, frame_count=int(frame_count), has_video=True,
                     keyframe_interval=scan.keyframe_interval, container=container.format.name,
                     backend="pyav", sample_aspect=sample_aspect, warnings=tuple(warnings),
                     recorded_at=recorded_at(container.metadata, stream.metadata))


def _nominal_fps(stream: av.video.stream.VideoStream, limits: MediaLimits) -> float | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        value = limits.plausible_fps(rate) if rate else None
        if value is not None:
            return value
    return None


def _header_duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    candidates = []
    if stream.duration is not None and stream.time_base:
        candidates.append(float(stream.duration * stream.time_base))
    if container.duration is not None:
        candidates.append(container.duration / av.time_base)
    for value in candidates:
        if math.isfinite(value) and value > 0:
            return value
    return None


class _Scan:
    rotation: int = 0
    keyframe_interval: float | None = None
    last_time: float | None = None


def _scan_first_packets(path: Path, container: av.container.InputContainer,
                        stream: av.video.stream.VideoStream, kept: _KeptPackets | None = None) -> _Scan:
    """Demux the first packets: keyframe spacing; decode until one frame: rotation, decodability. The packets
    read go to ``kept``, if given."""
    scan = _Scan()
    keyframe_times: list[float] = []
    first_frame = None
    ctx = stream.codec_context
    # Only one frame is decoded here, and its pixels are not kept: no threads to start, no deblocking.
    ctx.thread_count = 1
    if ctx.name in LOOP_FILTER_SKIPPABLE:
        ctx.options = {**ctx.options, "skip_loop_filter": "all"}
    demux = container.demux(stream)
    try:
        for count, packet in enumerate(demux):
            if packet.size == 0 or count >= KEYFRAME_SCAN_PACKETS:
                if packet.size and kept is not None:
                    kept.add(packet)   # read from the file all the same: the decoding after needs it
                break
            if kept is not None:
                kept.add(packet)
            if packet.pts is not None and packet.time_base:
                scan.last_time = float(packet.pts * packet.time_base)
                if packet.is_keyframe:
                    keyframe_times.append(scan.last_time)
            if first_frame is None:
                first_frame = _first_frame(ctx, packet)
            if first_frame is not None and len(keyframe_times) >= 4:
                break
        if first_frame is None:
            frames = ctx.decode(None)
            first_frame = frames[0] if frames else None
    except av.FFmpegError as exc:
        raise MediaError(f"{path}: truncated or corrupt: reading the first packets failed ({exc.strerror or exc}); "
                         "copy the file again from its source or re-encode it") from exc
    finally:
        demux.close()   # a demuxer abandoned mid-file would otherwise end later, beside the next one
    if first_frame is None:
        raise MediaError(f"{path}: truncated or corrupt: no video frame could be decoded; "
                         "copy the file again from its source or re-encode it")
    scan.rotation = int(round(getattr(first_frame, "rotation", 0) or 0)) % 360
    if scan.rotation not in (0, 90, 180, 270):
        scan.rotation = 90 * round(scan.rotation / 90) % 360
    if len(keyframe_times) >= 2:
        gaps = [b - a for a, b in zip(keyframe_times, keyframe_times[1:]) if b > a]
        scan.keyframe_interval = max(gaps) if gaps else None
    return scan


def _first_frame(ctx: av.CodecContext, packet: av.Packet) -> av.VideoFrame | None:
    """The frame ``packet`` completes, if any. A decoder holds frames back for reordering (three packets for
    B-pyramids), so after a keyframe it is drained at once: that keyframe comes out without the pictures after it
    being decoded (0.1 -> 0.05 s of CPU for a 1080p H.264 file). Drained without a frame, it starts again."""
    drained = False
    try:
        frames = ctx.decode(packet)
        if not frames and packet.is_keyframe:
            drained = True
            frames = ctx.decode(None)
    except av.FFmpegError:
        frames = []
    if drained and not frames:
        ctx.flush_buffers()     # a decoder must be flushed to take packets again after draining
    return frames[0] if frames else None


def _length_from_all_packets(path: Path, stream_index: int) -> tuple[float | None, int]:
    """(end time of the last packet or None, packet count): only for files whose headers state no
    duration. Reads the whole file (opened afresh: raw streams cannot seek) but never decodes."""
    end, count = None, 0
    try:
        with av.open(str(path)) as container:
            for packet in container.demux(container.streams[stream_index]):
                if packet.size == 0:
                    continue
                count += 1
                if packet.pts is not None and packet.time_base:
                    t = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                    end = t if end is None else max(end, t)
    except (av.FFmpegError, OSError):
        pass
    return end, count


def probe_opencv(path: Path, limits: MediaLimits = DEFAULT_LIMITS) -> MediaInfo:
    """The OpenCV fallback: fewer facts (no keyframe interval), same checks."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        if not cap.isOpened():
            raise open_error(path, OSError("OpenCV could not open it"))
        meta = int(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
        rotation = (360 - meta) % 360   # OpenCV reports clockwise degrees
        width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if rotation in (90, 270) and cap.get(cv2.CAP_PROP_ORIENTATION_AUTO):
            width, height = height, width     # OpenCV reports the size after its own rotation
        limits.check_frame_size(str(path), width, height)
        fps = limits.plausible_fps(cap.get(cv2.CAP_PROP_FPS))
        frame_count = max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
        if not cap.grab():
            raise MediaError(f"{path}: truncated or corrupt: no video frame could be decoded; "
                             "copy the file again from its source or re-encode it")
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC) or 0)
        codec = "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00 ").lower() or "unknown"
    finally:
        cap.release()
    duration = frame_count / fps if fps and frame_count else 0.0
    warnings = () if fps else ("frame rate is not plausible; frame times come from timestamps",)
    return MediaInfo(path=str(path), duration=duration, fps=fps or 0.0, width=width, height=height,
                     rotation=rotation, codec=codec, frame_count=frame_count, has_video=True,
                     keyframe_interval=None, container="", backend="opencv", warnings=warnings)
