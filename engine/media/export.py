"""Write one moment of a video as a new file (H.264 video, AAC audio when there is sound).

Re-encoding, not stream copy: a cut at an arbitrary time must start on a frame of our
choosing, and the source codec may not fit an .mp4. Uses PyAV's own FFmpeg, so no
system ffmpeg is needed.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

from engine.errors import MediaError
from engine.media.probe import open_error

VIDEO_CODECS = ("libx264", "h264", "mpeg4")


def export_range(src: str | Path, start: float, end: float, out_path: Path) -> Path:
    src, out_path = Path(src), Path(out_path)
    if end <= start:
        raise MediaError(f"cannot export an empty range {start:.2f}-{end:.2f} s")
    if out_path.suffix.lower() not in (".mp4", ".mov", ".mkv"):
        out_path = out_path.with_suffix(".mp4")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.stem}.partial{out_path.suffix}")
    try:
        source = av.open(str(src))
    except (av.FFmpegError, OSError) as exc:
        raise open_error(src, exc) from exc
    try:
        with source, av.open(str(tmp), mode="w") as sink:
            _copy_range(source, sink, start, end)
        tmp.replace(out_path)
    except av.FFmpegError as exc:
        tmp.unlink(missing_ok=True)
        raise MediaError(f"could not export {src.name} {start:.1f}-{end:.1f} s: {exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out_path


def _copy_range(source, sink, start: float, end: float) -> None:
    vin = source.streams.video[0] if source.streams.video else None
    if vin is None:
        raise MediaError("the file has no video stream to export")
    vin.thread_type = "AUTO"
    rate = vin.average_rate or Fraction(25)
    vout = None
    for name in VIDEO_CODECS:
        try:
            vout = sink.add_stream(name, rate=rate)
            break
        except (av.FFmpegError, ValueError):
            continue
    if vout is None:
        raise MediaError("no video encoder is available in this build")
    vout.width = vin.codec_context.width // 2 * 2
    vout.height = vin.codec_context.height // 2 * 2
    vout.pix_fmt = "yuv420p"
    ain = source.streams.audio[0] if source.streams.audio else None
    aout = sink.add_stream("aac", rate=ain.codec_context.sample_rate or 48000) if ain is not None else None
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=aout.rate) if aout is not None else None

    tb = float(vin.time_base or 0) or 1 / 90000
    source.seek(int(max(0.0, start) / tb), stream=vin, backward=True, any_frame=False)
    streams = [vin] + ([ain] if ain is not None else [])
    n = 0
    for packet in source.demux(streams):
        for frame in _decode(packet):
            if frame.pts is None:
                continue
            t = float(frame.pts * frame.time_base)
            if t < start - 1e-6 or t >= end:
                continue
            if packet.stream.type == "video":
                frame = frame.reformat(width=vout.width, height=vout.height, format="yuv420p")
                frame.pts = n
                frame.time_base = Fraction(1, 1) / rate
                n += 1
                for out in vout.encode(frame):
                    sink.mux(out)
            elif aout is not None:
                for chunk in resampler.resample(frame):
                    chunk.pts = None
                    for out in aout.encode(chunk):
                        sink.mux(out)
        if packet.stream.type == "video" and packet.pts is not None and float(packet.pts * tb) > end + 2.0:
            break
    for stream in (vout, aout):
        if stream is not None:
            for out in stream.encode(None):
                sink.mux(out)
    if n == 0:
        raise MediaError(f"no frame between {start:.1f} and {end:.1f} s could be decoded")


def _decode(packet):
    try:
        return packet.decode()
    except av.FFmpegError:
        return []
