"""1080p30 H.264 test videos written with PyAV, for machines without the ffmpeg CLI (the lent GPU machines).

Each file repeats a unique chunk of CHUNK_SECONDS without re-encoding: a drifting 4-pixel noise texture under
moving gradients, x264 ``veryfast`` (3 B-frames, B-pyramid) with a keyframe every ``gop_seconds``.
"""
from __future__ import annotations

import os
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np

CHUNK_SECONDS = 16   # a multiple of every keyframe interval used


def write_video(path: Path, seconds: int, gop_seconds: int = 1, width: int = 1920, height: int = 1080,
                fps: int = 30) -> Path:
    from engine.shapes.encode import EncodeSettings, PyAVWriter

    rng = np.random.default_rng(zlib.crc32(path.name.encode()))
    coarse = rng.integers(0, 256, ((height + 64) // 4, (width + 64) // 4, 3), dtype=np.uint8)
    texture = np.repeat(np.repeat(coarse, 4, axis=0), 4, axis=1)   # 4-pixel grain: detail x264 can afford
    y, x = np.mgrid[0:height, 0:width]
    writer = PyAVWriter(path.with_suffix(".tmp.mp4"), width, height, Fraction(fps),
                        EncodeSettings(quality=23, preset="veryfast", gop=gop_seconds * fps))
    for i in range(seconds * fps):
        d = i % 64
        frame = texture[d:d + height, (2 * d) % 64:(2 * d) % 64 + width] // 2
        frame[..., 0] += ((x + 9 * i) % 256 // 2).astype(np.uint8)
        frame[..., 2] += ((y + 5 * i) % 256 // 2).astype(np.uint8)
        writer.write(frame)
    writer.close()
    path.with_suffix(".tmp.mp4").replace(path)
    return path


def lengthen(chunk: Path, out: Path, times: int) -> Path:
    """``times`` copies of ``chunk`` joined without re-encoding (packets copied, timestamps shifted)."""
    import av

    tmp = out.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w", format="mp4") as target:
        stream = None
        offset = 0
        for _ in range(times):
            with av.open(str(chunk)) as source:
                video = source.streams.video[0]
                if stream is None:
                    stream = target.add_stream_from_template(video)
                last = 0
                for packet in source.demux(video):
                    if packet.dts is None:
                        continue
                    last = max(last, packet.pts + (packet.duration or 0))
                    packet.pts += offset
                    packet.dts += offset
                    packet.stream = stream
                    target.mux(packet)
                offset += last
    tmp.replace(out)
    return out


def make_videos(folder: Path, count: int, seconds: int, gop_seconds: int = 1) -> list[Path]:
    """``count`` files of about ``seconds`` each in ``folder``: a unique chunk per file, repeated."""
    from concurrent.futures import ProcessPoolExecutor

    folder.mkdir(parents=True, exist_ok=True)
    chunks_dir = folder.parent / (folder.name + "-chunks")
    chunks_dir.mkdir(exist_ok=True)
    chunks = [chunks_dir / f"noise-1080p-gop{gop_seconds}s-{i:02d}.mp4" for i in range(count)]
    missing = [c for c in chunks if not c.exists()]
    if missing:
        with ProcessPoolExecutor(max_workers=max(1, min(len(missing), (os.cpu_count() or 2) // 2))) as pool:
            list(pool.map(write_video, missing, [CHUNK_SECONDS] * len(missing), [gop_seconds] * len(missing)))
    times = max(1, round(seconds / CHUNK_SECONDS))
    targets = []
    for chunk in chunks:
        target = folder / chunk.name
        if not target.exists():
            lengthen(chunk, target, times)
        targets.append(target)
    return targets
