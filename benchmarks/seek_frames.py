"""A few frames from a long file: a video as the query, and a moment's strip of preview stills.

    .venv/bin/python benchmarks/seek_frames.py [--minutes 10] [--rounds 5] [--cold]

Two 1080p H.264 files of ``--minutes`` (keyframes every 1 s and every 8 s; benchmarks/common.py's test videos).
In the same run, for each file:

- **query**: 12 frames spread over the whole file, as ``Library.search_video`` takes them. Before: the file read
  through by the indexer's sampler (keyframes only, as the sampling is sparser than the keyframes). Now
  (``engine.media.query_clip``): one seek per frame.
- **preview**: 8 stills across a 9.5-s moment at five places in the file, as the result cards' scrubbing asks for
  them. Before: a seek and a decode from the keyframe for each still. Now (``engine.media.seek.frames_at``): a seek
  to the first, then decoding onward to the others while they lie within a keyframe interval, leaving out the
  frames no other frame needs that are shown before each (the same stills).

Medians over ``--rounds``. ``--cold`` empties the page cache before every timing (root only), as for a file that was
not read lately. Prints a table, writes benchmarks/out/seek_frames.json.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av  # noqa: E402

from benchmarks.common import (CHUNK_SECONDS, VideoSet, VideoSpec, ensure_videos, machine, print_table,  # noqa: E402
                               shown, write_json)
from engine.media import probe, sample_frames  # noqa: E402
from engine.media.preview import preview_jpegs  # noqa: E402
from engine.media.query_clip import query_frames  # noqa: E402
from engine.media.sampling import target_size  # noqa: E402
from engine.media.thumbnail import thumbnail  # noqa: E402

QUERY_FRAMES, SHORT_SIDE, SAMPLE_FPS = 12, 224, 2.0
STILLS, STILL_WIDTH, MOMENT_SECONDS = 8, 240, 9.5


def query_read_through(path: Path) -> int:
    info = probe(path)
    fps = min(SAMPLE_FPS, QUERY_FRAMES / info.duration)
    return len(list(sample_frames(path, fps, SHORT_SIDE, max_frames=QUERY_FRAMES, info=info)))


def query_sought(path: Path) -> int:
    return len(query_frames(path, QUERY_FRAMES, SHORT_SIDE, SAMPLE_FPS))


def preview_seek_each(path: Path, start: float) -> list[bytes]:
    """The preview strip as ClipSeek made it until 2026-12-05: for each still, a seek to the keyframe before it and
    every frame decoded up to it."""
    info = probe(path)
    times = [start + (k + 0.5) * MOMENT_SECONDS / STILLS for k in range(STILLS)]
    size = target_size(info.width, info.height, round(STILL_WIDTH * 9 / 16), info.sample_aspect)
    stills = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        origin = stream.start_time or 0
        for t in times:
            container.seek(origin + int(t / stream.time_base), stream=stream, backward=True)
            for frame in container.decode(stream):
                if frame.pts is not None and float((frame.pts - origin) * stream.time_base) >= t - 1e-3:
                    break
            rgb = frame.to_ndarray(width=size[0], height=size[1], format="rgb24", interpolation="AREA")
            stills.append(thumbnail(rgb, STILL_WIDTH))
    return stills


def preview_onward(path: Path, start: float) -> list[bytes]:
    return preview_jpegs(path, start, start + MOMENT_SECONDS, STILLS, STILL_WIDTH)


def drop_page_cache() -> None:
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def timed(fn, rounds: int, cold: bool, *args) -> float:
    times = []
    for _ in range(rounds):
        if cold:
            drop_page_cache()
        started = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cold", action="store_true", help="empty the page cache before every timing (root)")
    args = parser.parse_args()
    if args.cold and os.geteuid() != 0:
        raise SystemExit("--cold empties the page cache, which needs root")
    chunks = max(1, round(args.minutes * 60 / CHUNK_SECONDS))
    # In a folder of their own: the indexing benchmark indexes the whole folder of its kind.
    specs = [VideoSpec(f"1080p_gop{gop}s_{chunks * CHUNK_SECONDS}s", 1920, 1080, chunks, gop, group="long")
             for gop in (1.0, 8.0)]
    ensure_videos([VideoSet("long files", (spec,)) for spec in specs])
    rows, results = [], []
    for spec in specs:
        path = spec.path
        places = [spec.seconds * f for f in (0.1, 0.3, 0.5, 0.7, 0.9)]
        before_query = timed(query_read_through, args.rounds, args.cold, path)
        now_query = timed(query_sought, args.rounds, args.cold, path)
        before_preview = statistics.median(timed(preview_seek_each, args.rounds, args.cold, path, p) for p in places)
        now_preview = statistics.median(timed(preview_onward, args.rounds, args.cold, path, p) for p in places)
        same = all(preview_seek_each(path, p) == preview_onward(path, p) for p in places)
        kind = f"1080p, keyframe every {spec.gop_seconds:g} s, {spec.seconds} s"
        rows.append([kind, "query: 12 frames", round(before_query), round(now_query), round(before_query / now_query, 1),
                     ""])
        rows.append([kind, "preview: 8 stills", round(before_preview), round(now_preview),
                     round(before_preview / now_preview, 1), "yes" if same else "NO"])
        results.append({"file": shown(path), "seconds": spec.seconds, "keyframe_seconds": spec.gop_seconds,
                        "query_ms": {"read_through": before_query, "sought": now_query},
                        "preview_ms": {"seek_each": before_preview, "onward": now_preview},
                        "same_stills": same})
    print_table(["file", "frames", "before ms", "now ms", "x faster", "same stills"], rows)
    out = write_json("seek_frames.json", {"machine": machine(), "rounds": args.rounds, "cold": args.cold,
                                          "files": results})
    print(f"wrote {shown(out)}")


if __name__ == "__main__":
    main()
