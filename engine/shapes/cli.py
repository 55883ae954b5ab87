"""Command line of the shapes world: ``generate OUT --videos N --seed S``.

The application's CLI wires ``add_generate_arguments`` + ``run_generate`` as ``clipseek shapes generate``;
``python -m engine.shapes`` runs ``main`` directly.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.errors import ClipSeekError
from engine.shapes.encode import FORMATS
from engine.shapes.generate import ANNOTATIONS, VideoOptions, generate_dataset


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 320x240") from None
    return width, height


def _range(text: str) -> tuple[float, float]:
    try:
        parts = [float(part) for part in text.split("-")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or a range like 1-8") from None
    if len(parts) not in (1, 2):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or a range like 1-8")
    return parts[0], parts[-1]


def _format(text: str) -> tuple[str, str]:
    codec, _, container = text.partition(".")
    if (codec, container) not in FORMATS:
        choices = ", ".join(f"{c}.{k}" for c, k in FORMATS)
        raise argparse.ArgumentTypeError(f"{text!r} is not a known format; choose from {choices}")
    return codec, container


def add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = VideoOptions()
    parser.add_argument("out", type=Path, help="folder for videos/ and annotations.json")
    parser.add_argument("--videos", type=int, default=10, help="number of videos (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same videos (default 0)")
    parser.add_argument("--min-size", type=_size, default=defaults.min_size, metavar="WxH",
                        help="smallest frame size (default 160x120)")
    parser.add_argument("--max-size", type=_size, default=defaults.max_size, metavar="WxH",
                        help="largest frame size (default 1280x720; 320x240 for quick training data)")
    parser.add_argument("--fps", type=_range, default=defaults.fps, metavar="LOW-HIGH",
                        help="frame-rate range (default 10-30)")
    parser.add_argument("--shots", type=_range, default=defaults.shots, metavar="LOW-HIGH",
                        help="shots per video (default 1-8)")
    parser.add_argument("--format", type=_format, action="append", dest="formats", metavar="CODEC.CONTAINER",
                        help="allowed format, repeatable: " + ", ".join(f"{c}.{k}" for c, k in FORMATS)
                        + " (default all)")
    parser.add_argument("--encoder", choices=("auto", "pyav", "opencv"), default="auto",
                        help="video writer (default: PyAV when installed)")
    parser.add_argument("--distinct-captions", action="store_true",
                        help="give every shot a caption no other shot has (up to 336 shots)")


def run_generate(args: argparse.Namespace) -> int:
    options = VideoOptions(min_size=args.min_size, max_size=args.max_size, fps=args.fps,
                           shots=(int(args.shots[0]), int(args.shots[1])),
                           formats=tuple(args.formats) if args.formats else FORMATS, encoder=args.encoder)

    def report(done: int, total: int) -> None:
        print(f"\rvideos {done}/{total}", end="", file=sys.stderr, flush=True)

    records = generate_dataset(args.out, args.videos, args.seed, options, args.distinct_captions, report)
    shots = sum(len(record["shots"]) for record in records)
    print(f"\nwrote {len(records)} videos ({shots} shots) and {args.out / ANNOTATIONS}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.shapes", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add_generate_arguments(commands.add_parser("generate", help="write a data set of shapes-world videos"))
    args = parser.parse_args(argv)
    try:
        return run_generate(args)
    except ClipSeekError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
