"""Test-video factory: real little videos with known shots, and broken files on purpose.

Frames are drawn with numpy (a coloured moving shape on a distinct background per shot,
plus noise) and piped as raw RGB into the system ``ffmpeg`` CLI, which encodes them.
The application never needs ffmpeg; only tests use this module.

    truth = make_video(tmp_path / "a.mp4", shots=[ShotSpec(2.0), ShotSpec(3.0, pattern="pan")])
    truth.cut_times   # (2.0,) -- time of the first frame of every shot after the first
"""
from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import cv2
import numpy as np

FFMPEG = shutil.which("ffmpeg")

# Distinct hues, far apart in colour space, so that consecutive shots differ clearly.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (200, 40, 40), (40, 160, 60), (40, 70, 200), (220, 200, 40), (150, 50, 170),
    (30, 180, 190), (230, 120, 30), (90, 90, 90), (240, 240, 240), (20, 20, 20),
)

CODEC_ARGS: dict[str, list[str]] = {
    "h264": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    "mpeg4": ["-c:v", "mpeg4", "-q:v", "4", "-pix_fmt", "yuv420p"],
    "vp9": ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "800k",
            "-pix_fmt", "yuv420p"],
    "mjpeg": ["-c:v", "mjpeg", "-q:v", "4", "-pix_fmt", "yuvj420p"],
    "mpeg1": ["-c:v", "mpeg1video", "-q:v", "4", "-pix_fmt", "yuv420p"],
    "mpeg2": ["-c:v", "mpeg2video", "-q:v", "4", "-pix_fmt", "yuv420p"],
    "hevc": ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-x265-params", "log-level=error"],
    "av1": ["-c:v", "libaom-av1", "-cpu-used", "8", "-row-mt", "1", "-b:v", "400k", "-pix_fmt", "yuv420p"],
}


@dataclass(frozen=True)
class ShotSpec:
    duration: float                                   # seconds (rounded to whole frames)
    background: tuple[int, int, int] | None = None    # RGB; None = PALETTE[shot index]
    shape_color: tuple[int, int, int] | None = None   # RGB; None = a colour contrasting the background
    shape: str = "circle"                             # "circle", "square" or "none"
    pattern: str = "flat"                             # "flat", "texture" (static) or "pan" (texture sliding slowly)
    speed: float = 60.0                               # pixels per second of the shape, or of the pan
    noise: int = 6                                    # amplitude of uniform per-pixel noise


@dataclass(frozen=True)
class VideoTruth:
    path: Path
    size: tuple[int, int]                 # (width, height) as encoded, before any rotation
    fps: float
    frame_count: int
    duration: float                       # frame_count / fps
    cut_times: tuple[float, ...]          # start of every shot after the first
    shot_spans: tuple[tuple[float, float], ...]
    frame_times: tuple[float, ...] = ()   # filled for variable-frame-rate videos


def _require_ffmpeg() -> str:
    if FFMPEG is None:
        raise RuntimeError("the system ffmpeg CLI is needed to generate test videos")
    return FFMPEG


def _texture(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth random colour texture (blurred blobs), float32 [H,W,3] in 0..255."""
    small = rng.uniform(0, 255, size=(max(2, height // 24), max(2, width // 24), 3)).astype(np.float32)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 255)


def _contrast(color: tuple[int, int, int]) -> tuple[int, int, int]:
    return tuple(255 - c if abs(255 - 2 * c) > 60 else (c + 128) % 256 for c in color)  # type: ignore[return-value]


def shot_frames(spec: ShotSpec, index: int, size: tuple[int, int], fps: float,
                rng: np.random.Generator) -> Iterator[np.ndarray]:
    """The RGB uint8 frames [H,W,3] of one shot."""
    width, height = size
    background = np.array(spec.background or PALETTE[index % len(PALETTE)], dtype=np.float32)
    shape_color = spec.shape_color or _contrast(tuple(int(c) for c in background))  # type: ignore[arg-type]
    n_frames = max(1, round(spec.duration * fps))
    if spec.pattern in ("texture", "pan"):
        pan_room = int(spec.speed * n_frames / fps) + 2 if spec.pattern == "pan" else 0
        texture = 0.5 * _texture(height, width + pan_room, rng) + 0.5 * background
    elif spec.pattern == "flat":
        texture = None
    else:
        raise ValueError(f"unknown pattern {spec.pattern!r}; choose flat, texture or pan")
    radius = max(4, min(width, height) // 8)
    x, y = rng.uniform(radius, width - radius), rng.uniform(radius, height - radius)
    angle = rng.uniform(0, 2 * np.pi)
    vx, vy = np.cos(angle) * spec.speed / fps, np.sin(angle) * spec.speed / fps
    noise_bank = [rng.integers(-spec.noise, spec.noise + 1, size=(height, width, 3), dtype=np.int16)
                  for _ in range(4)] if spec.noise > 0 else None
    for i in range(n_frames):
        if texture is None:
            frame = np.empty((height, width, 3), dtype=np.float32)
            frame[:] = background
        else:
            offset = int(i * spec.speed / fps) if spec.pattern == "pan" else 0
            frame = texture[:, offset:offset + width].copy()
        image = frame.astype(np.uint8)
        if spec.shape != "none" and spec.pattern != "pan":
            center = (int(x), int(y))
            if spec.shape == "circle":
                cv2.circle(image, center, radius, shape_color, -1)
            elif spec.shape == "square":
                cv2.rectangle(image, (center[0] - radius, center[1] - radius),
                              (center[0] + radius, center[1] + radius), shape_color, -1)
            else:
                raise ValueError(f"unknown shape {spec.shape!r}; choose circle, square or none")
            x, y = x + vx, y + vy
            if not radius <= x <= width - radius:
                vx = -vx
            if not radius <= y <= height - radius:
                vy = -vy
        if noise_bank is not None:
            image = (image.astype(np.int16) + noise_bank[i % len(noise_bank)]).clip(0, 255).astype(np.uint8)
        yield image


def _encode(frames: Iterator[np.ndarray], path: Path, size: tuple[int, int], fps: float,
            codec: str, keyint: int | None, extra_args: Sequence[str] = (), bframes: int = 0) -> None:
    if codec not in CODEC_ARGS:
        raise ValueError(f"unknown codec {codec!r}; choose one of {sorted(CODEC_ARGS)}")
    width, height = size
    args = [_require_ffmpeg(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{width}x{height}", "-r", str(fps), "-i", "-", *CODEC_ARGS[codec]]
    if keyint is not None:
        args += ["-g", str(keyint)]
        if codec == "h264":
            args += ["-keyint_min", str(keyint), "-sc_threshold", "0"]
    if bframes:
        args += ["-bf", str(bframes)]
    args += [*extra_args, str(path)]
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=errors)
        assert proc.stdin is not None
        try:
            for frame in frames:
                proc.stdin.write(np.ascontiguousarray(frame).tobytes())
        except BrokenPipeError:
            pass
        finally:
            proc.stdin.close()
        code = proc.wait()
        if code != 0:
            errors.seek(0)
            raise RuntimeError(f"ffmpeg failed ({code}): {errors.read().decode(errors='replace')}")


def make_video(path: Path, *, codec: str = "h264", size: tuple[int, int] = (320, 240), fps: float = 25,
               shots: Sequence[ShotSpec] | None = None, keyint: int | None = None, bframes: int = 0,
               rotate: int = 0, seed: int = 0, encoder_args: Sequence[str] = ()) -> VideoTruth:
    """Encode a video of ``shots`` (default: one 2-second shot); the container follows the suffix.

    Sizes must be even for the yuv420p codecs (h264, mpeg4, vp9, mjpeg all use 4:2:0 here).

    ``keyint`` fixes the keyframe interval (frames); ``bframes`` asks for that many B-frames in a
    row (h264, mpeg4), which ultrafast h264 otherwise never makes; ``encoder_args`` go to ffmpeg
    after the codec's own (e.g. ``["-refs", "3"]``).
    ``rotate`` writes rotation metadata (mp4/mov only) with ffmpeg's ``rotate`` tag; players then
    show ``np.rot90(frame, rotate // 90)`` (checked against ffmpeg's own autorotate in the tests).
    """
    path = Path(path)
    shots = list(shots) if shots else [ShotSpec(2.0)]
    rng = np.random.default_rng(seed)
    counts = [max(1, round(s.duration * fps)) for s in shots]
    starts = np.concatenate([[0], np.cumsum(counts)]) / fps

    def all_frames() -> Iterator[np.ndarray]:
        for index, spec in enumerate(shots):
            yield from shot_frames(spec, index, size, fps, rng)

    target = path.with_name(f".unrotated-{path.name}") if rotate else path
    _encode(all_frames(), target, size, fps, codec, keyint, extra_args=encoder_args, bframes=bframes)
    if rotate:
        _run([_require_ffmpeg(), "-y", "-loglevel", "error", "-i", str(target), "-c", "copy",
              "-metadata:s:v:0", f"rotate={rotate}", str(path)])
        target.unlink()
    total = int(sum(counts))
    return VideoTruth(path=path, size=size, fps=float(fps), frame_count=total, duration=total / fps,
                      cut_times=tuple(float(t) for t in starts[1:-1]),
                      shot_spans=tuple((float(a), float(b)) for a, b in zip(starts[:-1], starts[1:])))


def make_vfr_video(path: Path, *, rates: Sequence[tuple[float, float]] = ((1.0, 10), (1.0, 30)),
                   size: tuple[int, int] = (320, 240), seed: int = 0) -> VideoTruth:
    """A variable-frame-rate video: ``rates`` is (seconds, fps) per part, one shot per part.

    Timestamps are written through ``setpts`` with passthrough timing (mkv keeps them as they are).
    """
    path = Path(path)
    rng = np.random.default_rng(seed)
    times: list[float] = []
    spans: list[tuple[float, float]] = []
    t0 = 0.0
    for seconds, rate in rates:
        n = round(seconds * rate)
        times += [t0 + k / rate for k in range(n)]
        spans.append((t0, t0 + n / rate))
        t0 += n / rate
    def all_frames() -> Iterator[np.ndarray]:
        for index, (seconds, rate) in enumerate(rates):
            yield from shot_frames(ShotSpec(seconds, shape="square"), index, size, rate, rng)

    # Frame N gets the timestamp times[N]: a piecewise-linear expression over the parts.
    expr, first = "0", 0
    for (seconds, rate), (start, _end) in zip(rates, spans):
        expr = f"if(gte(N,{first}),{start}+(N-{first})/{rate},{expr})"
        first += round(seconds * rate)
    _encode(all_frames(), path, size, 30, "h264", None,
            ["-vf", f"setpts='({expr})/TB'", "-fps_mode", "passthrough", "-enc_time_base", "1/1000"])
    return VideoTruth(path=path, size=size, fps=0.0, frame_count=len(times), duration=t0,
                      cut_times=tuple(s for s, _ in spans[1:]), shot_spans=tuple(spans),
                      frame_times=tuple(times))


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")


# ---------------------------------------------------------------------------------------------
# Broken and unusual files


def remove_moov(src: Path, dst: Path) -> Path:
    """Copy an mp4 without its ``moov`` box (the index): what an interrupted recording leaves."""
    data = Path(src).read_bytes()
    out, pos = bytearray(), 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        elif size == 0:
            size = len(data) - pos
        if kind != b"moov":
            out += data[pos:pos + size]
        pos += size
    Path(dst).write_bytes(bytes(out))
    return Path(dst)


def strip_timestamps(src: Path, dst: Path) -> Path:
    """Copy the h264 stream of ``src`` into a raw Annex-B file (``.h264``): no container, no timestamps."""
    _run([_require_ffmpeg(), "-y", "-loglevel", "error", "-i", str(src), "-c", "copy", "-f", "h264", str(dst)])
    return Path(dst)


def truncate(src: Path, dst: Path, keep_fraction: float) -> Path:
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[:int(len(data) * keep_fraction)])
    return Path(dst)


def corrupt_middle(src: Path, dst: Path, *, at_fraction: float = 0.5, length: int = 4096, seed: int = 0) -> Path:
    """Copy ``src`` with ``length`` random bytes written over it at ``at_fraction`` of its size."""
    data = bytearray(Path(src).read_bytes())
    start = int(len(data) * at_fraction)
    noise = np.random.default_rng(seed).integers(0, 256, size=min(length, len(data) - start), dtype=np.uint8)
    data[start:start + len(noise)] = noise.tobytes()
    Path(dst).write_bytes(bytes(data))
    return Path(dst)


def write_random_bytes(path: Path, n: int = 50_000, seed: int = 0) -> Path:
    Path(path).write_bytes(np.random.default_rng(seed).integers(0, 256, size=n, dtype=np.uint8).tobytes())
    return Path(path)


def make_audio_only(path: Path, seconds: float = 1.0) -> Path:
    """A file with one AAC audio stream and no video (for example ``x.mp4`` or ``x.m4a``)."""
    _run([_require_ffmpeg(), "-y", "-loglevel", "error", "-f", "lavfi",
          "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac", str(path)])
    return Path(path)


def add_sine_audio(src: Path, dst: Path) -> Path:
    """Copy the video of ``src`` into ``dst`` with a 440 Hz AAC sound track as long as it."""
    _run([_require_ffmpeg(), "-y", "-loglevel", "error", "-i", str(src), "-f", "lavfi",
          "-i", "sine=frequency=440", "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac",
          "-shortest", str(dst)])
    return Path(dst)


def write_still_image(path: Path, size: tuple[int, int] = (320, 240), ext: str = ".png") -> Path:
    """A still image (PNG or JPEG bytes) written under any name, e.g. ``photo.mp4``."""
    width, height = size
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[:, : width // 2] = (0, 0, 255)
    ok, data = cv2.imencode(ext, image)
    assert ok
    Path(path).write_bytes(data.tobytes())
    return Path(path)


def make_one_frame_video(path: Path, size: tuple[int, int] = (320, 240), fps: float = 25) -> VideoTruth:
    return make_video(path, size=size, fps=fps, shots=[ShotSpec(1 / fps)])


def write_huge_declared_y4m(path: Path, width: int = 8000, height: int = 8000) -> Path:
    """A YUV4MPEG2 file whose header declares a huge frame size but holds only a few bytes of data."""
    Path(path).write_bytes(f"YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C420jpeg\nFRAME\n".encode() + bytes(64))
    return Path(path)


def ffmpeg_frames(path: Path, width: int, height: int, max_frames: int | None = None) -> np.ndarray:
    """Decode with the ffmpeg CLI (autorotate on), scaled to width x height: uint8 [N,H,W,3]."""
    args = [_require_ffmpeg(), "-loglevel", "error", "-i", str(path)]
    if max_frames is not None:
        args += ["-frames:v", str(max_frames)]
    args += ["-vf", f"scale={width}:{height}:flags=area", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    done = subprocess.run(args, capture_output=True, check=True)
    return np.frombuffer(done.stdout, dtype=np.uint8).reshape(-1, height, width, 3)
