"""The `clipseek` command line (the contract in DESIGN.md §7).

Global options come before the command: ``clipseek --library DIR --model BUNDLE search "..."``.
Errors print one sentence on stderr and exit non-zero; tracebacks go to a log file only.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
import traceback
from pathlib import Path

from engine.cli import notes, progress_bar
from engine.cli.filter_args import add_filter_arguments
from engine.errors import ClipSeekError
from engine.settings import MAX_RESULTS

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def _finite_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _named(kind: str):
    """An argument type that refuses an empty string: ``--library "$DIR"`` with DIR unset would otherwise
    silently mean the default."""
    def check(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"an empty {kind}; name one, or leave the option out for the default "
                                             "(is a shell variable unset?)")
        return text
    return check


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="clipseek", description="Find moments in your videos from a sentence.")
    p.add_argument("--library", metavar="DIR", type=_named("folder name"),
                   help="library folder (default: your ClipSeek data folder)")
    p.add_argument("--model", metavar="BUNDLE", type=_named("model name"),
                   help="model bundle folder or name (default: the library's)")
    p.add_argument("--device", choices=("auto", "cpu", "gpu"), help="where the model runs (default: auto)")
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens to stderr")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    a = sub.add_parser("add-folder", help="add a folder of videos to the library")
    a.add_argument("folder")
    a = sub.add_parser("remove-folder", help="remove a folder (and its moments) from the library")
    a.add_argument("folder")
    a = sub.add_parser("relocate-folder", help="a library folder moved, was renamed or its drive is mounted "
                                               "elsewhere: its videos keep their moments at the new place")
    a.add_argument("folder", help="the folder as the library knows it")
    a.add_argument("new_folder", help="where it is now")

    a = sub.add_parser("index", help="index new and changed videos (incremental)")
    a.add_argument("--json-progress", action="store_true", help="one JSON object per line instead of a bar")
    a.add_argument("--workers", type=int, help="worker processes, at least 1 (default: one per two cores, two "
                                               "with an NVIDIA GPU; at most two per core; with --ray, one per CPU of the cluster)")
    a.add_argument("--ray", metavar="ADDRESS", type=_named("address"),
                   help="decode and encode on the Ray cluster whose head is at host:port (needs clipseek[shared])")
    a.add_argument("--folder", action="append", metavar="DIR", type=_named("folder"),
                   help="look only in this library folder for what changed (repeatable; default: every folder)")

    a = sub.add_parser("connect", help="make this library a shared one: catalog on PostgreSQL, vectors in Milvus")
    a.add_argument("--catalog", metavar="URL", help="postgresql://user@host:5432/dbname ('' for catalog.sqlite)")
    a.add_argument("--vectors", metavar="URL", help="Milvus http://host:19530, a Milvus Lite *.db file, or "
                                                    "'hnswlib' for the library's own index")

    a = sub.add_parser("watch", help="keep indexing as files appear, change or disappear")
    a.add_argument("--json-progress", action="store_true")

    a = sub.add_parser("search", help="find moments")
    a.add_argument("query", nargs="?", help="what to find, in words")
    a.add_argument("-k", type=int, default=10, help=f"number of moments (default 10, at most {MAX_RESULTS})")
    a.add_argument("--json", action="store_true", help="print JSON")
    a.add_argument("--batch", metavar="FILE", help="one query per line in; one JSON object per line out")
    a.add_argument("--image", metavar="PATH", help="search with an image instead of words")
    a.add_argument("--clip", metavar="PATH", help="search with a short video instead of words: where in the "
                                                  "library is it from, or what looks like it")
    a.add_argument("--similar", metavar="PATH@SECONDS", action="append",
                   help="moments like the one at this time of this file (again for several, taken together)")
    a.add_argument("--folder", action="append", help="only in this library folder, or a folder inside one (repeatable)")
    a.add_argument("--video", dest="folder", action="append", metavar="PATH",
                   help="only in this video of the library (repeatable, and with --folder)")
    add_filter_arguments(a)
    a.add_argument("--min-score", type=_finite_number, help="drop moments scoring below this")
    a.add_argument("--sort", choices=("relevance", "date"), default="relevance")
    a.add_argument("--per-video", action="store_true",
                   help="the best moment of each video: -k videos instead of -k moments")
    a.add_argument("--stage1", action="store_true", help="skip the reranker (stage 1 only)")

    a = sub.add_parser("status", help="what the library holds")
    a.add_argument("--json", action="store_true")

    a = sub.add_parser("problems", help="files that failed or were skipped, with the reason")
    a.add_argument("--json", action="store_true")
    a = sub.add_parser("retry", help="queue failed and skipped files again")
    a = sub.add_parser("leave-out", help="leave files or folders of the library out of it from now on (a file "
                                         "that fails however often it is retried)")
    a.add_argument("paths", nargs="+", metavar="PATH")

    sub.add_parser("restore-catalog", help="put back the copy of the library's catalog that ClipSeek kept, in the "
                                           "place of a damaged one (which is kept, renamed)")

    m = sub.add_parser("model", help="list, verify, import, install, export or switch models")
    msub = m.add_subparsers(dest="model_command", metavar="ACTION")
    msub.required = True
    x = msub.add_parser("list", help="installed model bundles")
    x.add_argument("--json", action="store_true")
    x = msub.add_parser("verify", help="check a bundle's files and fingerprint")
    x.add_argument("bundle", nargs="?")
    x = msub.add_parser("import", help="import a bundle folder or archive")
    x.add_argument("source")
    x = msub.add_parser("install", help="download pretrained weights once and export them (needs internet)")
    x.add_argument("spec", help="e.g. openclip:ViT-B-32/laion2b_s34b_b79k")
    x.add_argument("--int8", action="store_true")
    x = msub.add_parser("export", help="export an open_clip model as a bundle (needs the train extra)")
    x.add_argument("name", help="open_clip model name, e.g. ViT-B-32")
    src = x.add_mutually_exclusive_group(required=True)
    src.add_argument("--pretrained", metavar="TAG")
    src.add_argument("--checkpoint", metavar="FILE")
    src.add_argument("--random-weights", action="store_true")
    x.add_argument("--int8", action="store_true")
    x.add_argument("--frames", type=int, default=12, help="frames per clip T (default 12)")
    x.add_argument("--bundle-name", help="name shown to users")
    x.add_argument("--out", required=True, metavar="DIR")
    x = msub.add_parser("use", help="switch the library to another model (re-indexes everything)")
    x.add_argument("bundle")
    x.add_argument("--yes", action="store_true", help="do not ask")

    a = sub.add_parser("demo", help="generate a demo library of synthetic videos, index it and search it")
    a.add_argument("--videos", type=int, default=30)
    a.add_argument("--seed", type=int, default=2026)
    a.add_argument("--no-gui", action="store_true", help="print searches instead of opening the window")

    a = sub.add_parser("train", help="train a model (needs the train extra)")
    a.add_argument("--config", required=True)
    a.add_argument("--out", required=True, metavar="DIR")
    a.add_argument("--resume", action="store_true")

    a = sub.add_parser("eval", help="evaluate a trained model on annotated videos (needs the train extra)")
    a.add_argument("--checkpoint", required=True)
    a.add_argument("--data", required=True, metavar="ANNOTATIONS_JSON")
    a.add_argument("--stage1", action="store_true", help="score with the stage-1 embedding only")
    a.add_argument("--drop-head", action="append", default=[], help="leave a head out (repeatable)")
    a.add_argument("--dsl", action="store_true", help="dual softmax over the query set")
    a.add_argument("--qbnorm", action="store_true", help="query-bank normalisation")
    a.add_argument("--json-out", metavar="FILE")

    a = sub.add_parser("shapes", help="generate shapes-world videos with captions")
    a.add_argument("action", choices=("generate",))
    a.add_argument("out")
    a.add_argument("--videos", type=int, default=30)
    a.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    notes.forget_warnings()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        handlers=[stderr_handler(args.verbose)])
    os.environ.setdefault("HF_HUB_OFFLINE", "0")
    try:
        from engine.cli import commands

        handler = getattr(commands, "cmd_" + args.command.replace("-", "_"))
        return int(handler(args) or 0)
    except ClipSeekError as exc:
        print(f"clipseek: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("clipseek: interrupted; finished work is kept, run the command again to continue",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: one sentence here, the trace in the log
        log_path = _write_crash_log()
        print(f"clipseek: unexpected error ({exc.__class__.__name__}: {exc}); details in {log_path}",
              file=sys.stderr)
        return 1


def run() -> None:
    """The `clipseek` command: ``main``, then the end of the process without the interpreter's teardown
    (``engine.util.quick_exit``). Tests and other callers use ``main``, which returns."""
    code = main()
    from engine.util.quick_exit import exit_now

    exit_now(code)


def stderr_handler(verbose: bool, stream=None) -> logging.Handler:
    """Warnings on stderr, on a line of their own below a progress bar being drawn."""
    handler = _BelowTheBar(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s") if verbose else _ForPeople())
    handler.addFilter(notes.remember_warning)
    return handler


class _BelowTheBar(logging.StreamHandler):
    def emit(self, record: logging.LogRecord) -> None:
        progress_bar.end_the_bars_line()
        super().emit(record)


class _ForPeople(logging.Formatter):
    """"warning: the message", without the module's name (--verbose shows it)."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {super().format(record)}"


def _write_crash_log() -> Path:
    from engine.paths import data_dir

    try:
        folder = data_dir() / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}.log"
        path.write_text(traceback.format_exc(), encoding="utf-8")
        return path
    except OSError:
        return Path("(no log could be written)")


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    run()
