"""One function per `clipseek` command; each returns an exit status."""
from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

from engine.api.types import covering_seconds
from engine.cli.filter_args import search_filters
from engine.cli.main import print_json
from engine.cli.notes import print_notes
from engine.cli.progress_bar import TerminalBar, format_duration
from engine.errors import ClipSeekError, LibraryError, ModelInstallError, QueryError
from engine.runtime import gpu
from engine.settings import MAX_RESULTS, MAX_WORKERS, Settings, max_local_workers
from engine.util.file_names import printable

NOT_FOUND_MARK = "[not found]"


def _settings(args) -> Settings:
    """The library's settings, with the command line's overrides."""
    from engine.paths import default_library_dir

    lib_dir = Path(args.library) if args.library else default_library_dir()
    settings = Settings.load(lib_dir / "settings.json")
    if getattr(args, "device", None):
        settings.device = args.device
        if args.device == "gpu" and not getattr(args, "ray", None) and not gpu.gpu_likely():
            print("note: --device gpu, but no NVIDIA GPU with onnxruntime-gpu is found here; the model runs on the CPU",
                  file=sys.stderr)
    if getattr(args, "workers", None) is not None:
        settings.workers = _workers_option(args.workers, ray=bool(getattr(args, "ray", None)))
    return settings


def _workers_option(workers: int, ray: bool) -> int:
    """--workers checked; on this computer, no more than it can use (a typed 100000 would fork 100000)."""
    default = "one per CPU of the cluster" if ray else "one worker per two cores (two with an NVIDIA GPU)"
    if workers < 1:
        raise LibraryError(f"--workers must be at least 1, not {workers}; leave it out for {default}")
    if ray and workers > MAX_WORKERS:
        raise LibraryError(f"--workers must be at most {MAX_WORKERS}, not {workers}; leave it out for {default}")
    if not ray and workers > max_local_workers():
        print(f"note: --workers {workers} is more than this computer can use; indexing with "
              f"{max_local_workers()} workers (two per core)", file=sys.stderr)
        return max_local_workers()
    return workers


def _require_library(args) -> None:
    """A command that reads a library refuses a --library folder that holds none, rather than making an empty
    one there: a mistyped path would otherwise search nothing, and a folder of videos would gain a catalog."""
    from engine.api.library import Library

    if args.library and not Library.exists_at(args.library):
        raise LibraryError(f"there is no ClipSeek library in {args.library}; check the path, or start a library "
                           f"there with `clipseek --library {args.library} add-folder FOLDER`")


def _open(args, model=None, switching_model: bool = False, settings: Settings | None = None,
          creating: bool = False):
    """The library named by --library (or the default one). Only ``creating`` commands may make a new one."""
    from engine.api.library import Library

    if not creating:
        _require_library(args)
    settings = settings or _settings(args)
    lib = Library.open(args.library, model=model or args.model, settings=settings, switching_model=switching_model)
    print_notes(lib.notices)    # said while opening (a model update, say); later ones are the command's
    lib.notices.clear()
    return lib


# -- folders and indexing ------------------------------------------------------------------
def cmd_add_folder(args) -> int:
    with _open(args, creating=True) as lib:
        info = lib.add_folder(args.folder)
        print_notes(lib.notices)      # a wider folder took the place of library folders inside it
        demonstration = _demonstration_note(lib.bundle_info.name, lib.bundle_info.trained_only_on)
    print(f"added {info.path}; run `clipseek index` to index it")
    if demonstration:
        print(f"note: {demonstration}", file=sys.stderr)
    return 0


def _demonstration_note(model: str, world: str | None) -> str | None:
    """What to say where a library's model was trained only on a synthetic world: it finds nothing in real video."""
    if world is None:
        return None
    return (f"the library's model, {model}, is a demonstration trained only on the synthetic {world} world: it will "
            "not find moments in your own videos. Install a pretrained CLIP (`clipseek model install "
            "openclip:ViT-B-32/laion2b_s34b_b79k`, needs internet once) and switch to it with `clipseek model use`")


def cmd_remove_folder(args) -> int:
    with _open(args) as lib:
        lib.remove_folder(args.folder)
    print(f"removed {Path(args.folder).resolve()} and its moments from the library")
    return 0


def cmd_relocate_folder(args) -> int:
    with _open(args) as lib:
        info = lib.relocate_folder(args.folder, args.new_folder)
    videos = "its indexed video keeps its" if info.indexed == 1 else f"its {info.indexed} indexed videos keep their"
    print(f"{Path(args.folder).resolve()} is now {info.path}: {videos} moments; run `clipseek index` to find what "
          "changed there")
    return 0


def _progress_sink(json_progress: bool):
    if json_progress:
        return (lambda p: print_json(p.to_json())), (lambda: None)
    bar = TerminalBar()
    return bar, bar.close


def cmd_index(args) -> int:
    from engine.indexer.pool import discard_prestarted, local_worker_threads, prestart_workers

    settings = _settings(args)
    if not args.ray:
        # The workers import the decoder and onnxruntime while this process imports and opens the library.
        workers = settings.resolved_workers()
        prestart_workers(workers, local_worker_threads(workers))
    try:
        _require_library(args)
        sink, close = _progress_sink(args.json_progress)
        with _open(args, settings=settings) as lib:
            try:
                final = lib.index(progress=sink, ray_address=args.ray, folders=args.folder)
            finally:
                close()
            print_notes(lib.notices)
            has_folders = bool(lib.folders())
    finally:
        discard_prestarted()
    if not args.json_progress and not has_folders:
        print("nothing to index: the library has no folders yet; add one with `clipseek add-folder DIR`")
    elif not args.json_progress and final.files_total == 0 and final.state == "done":
        print("up to date: no new or changed videos to index" + removed_text(final.removed, "; "))
    elif not args.json_progress:
        print(index_summary(final))
        if final.failed or final.skipped:
            print("see `clipseek problems` for the reasons", file=sys.stderr)
    return 0


def removed_text(removed: int, lead: str = "") -> str:
    """'; 3 videos deleted, moved away or left out have left the library'; '' for none."""
    if not removed:
        return ""
    videos = "1 video" if removed == 1 else f"{removed} videos"
    return f"{lead}{videos} deleted, moved away or left out {'has' if removed == 1 else 'have'} left the library"


def index_summary(final) -> str:
    """'indexed 3 (2 of them copies of videos already indexed), failed 0, skipped 0 (0:04 of video decoded at
    10.9x real time)'; copies took their moments from the indexed video, so they leave the speed alone."""
    counts = f"indexed {final.indexed}"
    if final.copied:
        copies = "a copy" if final.copied == 1 else "copies"
        if final.copied == final.indexed:
            counts += f" ({copies} of {'a video' if final.copied == 1 else 'videos'} already indexed)"
        else:
            counts += f" ({final.copied} of them {copies} of videos already indexed)"
    decoded = max(0.0, final.seconds_done - final.seconds_copied)
    if final.copied and decoded == 0:
        speed = f"{format_duration(final.seconds_done)} of video, nothing decoded"
    else:
        speed = (f"{format_duration(decoded)} of video {'decoded ' if final.copied else ''}"
                 f"at {final.rate:.1f}x real time")
    return f"{counts}, failed {final.failed}, skipped {final.skipped} ({speed}){removed_text(final.removed, '; ')}"


def cmd_connect(args) -> int:
    """Point the library folder's settings at a shared catalog and vector store, then open it to check."""
    from engine.paths import default_library_dir

    lib_dir = Path(args.library) if args.library else default_library_dir()
    path = lib_dir / "settings.json"
    settings = Settings.load(path)
    if args.catalog is None and args.vectors is None:
        print(f"catalog  {settings.catalog_url or 'catalog.sqlite in ' + str(lib_dir)}")
        print(f"vectors  {settings.vector_store or 'hnswlib in ' + str(lib_dir / 'vectors')}")
        return 0
    if args.catalog is not None:
        settings.catalog_url = args.catalog
    if args.vectors is not None:
        settings.vector_store = args.vectors
    settings.validate()
    from engine.api.library import Library

    # Open before saving: a URL that does not answer is refused and the old settings stay.
    with Library.open(lib_dir, model=args.model, settings=settings) as lib:
        _ = lib.vectors
        status = lib.status()
    settings.save(path)
    print(f"{lib_dir} now uses catalog {settings.catalog_url or 'catalog.sqlite'} and vectors "
          f"{settings.vector_store or 'hnswlib'}: {status.segments} moments, "
          + ", ".join(f"{k} {v}" for k, v in status.files.items()))
    return 0


def cmd_watch(args) -> int:
    from engine.indexer.watch import watch_library

    sink, close = _progress_sink(args.json_progress)
    first_run = True

    def say_what_changed(final, looked_in: list[str] | None) -> None:
        """A line for each run that changed the library (the first run's too), after its bar; with the folders
        it looked in, where that was not every folder."""
        nonlocal first_run
        close()
        if args.json_progress:
            return      # the run's last progress line says it
        if final.files_total:
            said = index_summary(final)
        elif final.removed:
            said = removed_text(final.removed)
        elif first_run and final.state == "done":
            said = "up to date: no new or changed videos to index"
        else:
            said = ""
        first_run = False
        if said and looked_in is not None and len(lib.folders()) > 1:
            said = f"in {', '.join(printable(folder) for folder in looked_in)}: {said}"
        if said:
            print(f"{time.strftime('%H:%M:%S')} {said}", flush=True)
        if final.failed or final.skipped:
            print("see `clipseek problems` for the reasons", file=sys.stderr)

    with _open(args) as lib:
        print(f"watching {len(lib.folders())} folder(s); Ctrl+C to stop", file=sys.stderr)
        unsubscribe = lib.subscribe(lambda name, text: name == "notice" and print_notes([text]))
        try:
            watch_library(lib, progress=sink, finished=say_what_changed)
        finally:
            unsubscribe()
            close()
    return 0


# -- search ----------------------------------------------------------------------------------
def _search_one(lib, args, query: str | None):
    places = dict(folders=args.folder, sort=args.sort, per_video=args.per_video, **search_filters(args))
    common = dict(places, min_score=args.min_score)
    if args.image is not None:
        return lib.search_image(args.image, k=args.k, **common)
    if args.clip is not None:
        return lib.search_video(args.clip, k=args.k, **common)
    if args.similar is not None:
        from engine.api.types import Moment

        targets = []
        for spec in args.similar:
            path, _, at = spec.rpartition("@")
            try:
                t = float(at)
            except ValueError:
                t = math.nan
            if not path or not math.isfinite(t) or t < 0:
                raise QueryError(f"--similar takes PATH@SECONDS with seconds from the start of the file, e.g. "
                                 f"clip.mp4@12.5, not {spec!r}")
            targets.append(Moment(path=str(Path(path).resolve()), start=t, end=t + 1e-3, score=0.0, thumbnail=None))
        return lib.similar(targets, k=args.k, **places)
    return lib.search(query, k=args.k, rerank=not args.stage1, **common)


def cmd_search(args) -> int:
    if not 1 <= args.k <= MAX_RESULTS:
        raise QueryError(f"-k must be from 1 to {MAX_RESULTS}, not {args.k}")
    given = sum(x is not None for x in (args.query, args.batch, args.image, args.clip, args.similar))  # "": empty
    if given != 1:
        raise QueryError("give exactly one of: a QUERY, --batch FILE, --image PATH, --clip PATH or "
                         "--similar PATH@SECONDS")
    for option, usage in (("batch", "FILE"), ("image", "PATH"), ("clip", "PATH"), ("similar", "PATH@SECONDS")):
        value = getattr(args, option)
        if value == "" or (isinstance(value, list) and "" in value):
            raise QueryError(f"--{option} needs a {usage}, not an empty string")
    with _open(args) as lib:
        if args.batch is not None:
            return _search_batch(lib, args)
        moments = _search_one(lib, args, args.query)
        label = args.query or args.image or args.clip or (" ".join(args.similar) if args.similar else None)
        if args.json:
            print_json({"query": label, "results": _results_json(moments)})
        else:
            _print_moments(label, moments)
    return 0


def _search_batch(lib, args) -> int:
    source = sys.stdin if args.batch == "-" else _open_text(args.batch)
    name = "the batch input on stdin" if args.batch == "-" else f"the batch file {args.batch}"
    failures = 0
    filters = search_filters(args)
    with source:
        for query in _batch_queries(source, name):
            try:
                moments = lib.search(query, k=args.k, folders=args.folder, min_score=args.min_score,
                                     sort=args.sort, rerank=not args.stage1, per_video=args.per_video, **filters)
                print_json({"query": query, "results": _results_json(moments)})
            except QueryError as exc:
                failures += 1
                print_json({"query": query, "results": [], "error": str(exc)})
    return 1 if failures else 0


def _results_json(moments) -> list[dict]:
    """Each moment as the command-line contract has it, plus "missing": true where its file is gone."""
    return [m.to_json() | ({"missing": True} if _gone(m) else {}) for m in moments]


def _gone(moment) -> bool:
    """The moment's file is no longer where it was indexed (moved, deleted, or on a drive not connected)."""
    return not os.path.isfile(moment.path)


def _batch_queries(source, name: str):
    """The non-empty lines of a batch file, stripped (decoded as they are read, so a bad byte shows here)."""
    try:
        for line in source:
            if line.strip():
                yield line.strip()
    except UnicodeDecodeError as exc:
        raise QueryError(f"{name} is not {source.encoding.upper()} text; save it as {source.encoding.upper()} "
                         "text, one query per line") from exc


def _open_text(path: str):
    try:
        return open(path, encoding="utf-8")
    except OSError as exc:
        raise QueryError(f"cannot read the batch file {path}: {exc.strerror or exc}") from exc


def _print_moments(label, moments) -> None:
    if not moments:
        print(f"no moments found for {label!r}")
        return
    gone = [_gone(m) for m in moments]
    for rank, (m, missing) in enumerate(zip(moments, gone), 1):
        first, last = covering_seconds(m.start, m.end)
        span = f"{format_duration(first)}-{format_duration(last)}"
        print(f"{rank:3d}. {m.score:7.4f}  {span}  {_one_line(m.path)}" + (f"  {NOT_FOUND_MARK}" if missing else ""))
    if any(gone):
        print(f"{NOT_FOUND_MARK}: moved or deleted since it was indexed, or on a drive that is not connected; "
              "`clipseek index` brings the library up to date")


def _one_line(text: str) -> str:
    """A path or reason on one line of text output (a file name may hold a newline); --json keeps it as it is."""
    return text.replace("\n", "\\n").replace("\r", "\\r")


# -- status -------------------------------------------------------------------------------------
def cmd_status(args) -> int:
    with _open(args) as lib:
        status = lib.status()
    if args.json:
        print_json(status.to_json())
        return 0
    print(f"library  {status.library}{' (the demo library)' if status.demo else ''}")
    demonstration = (f"; a demonstration trained only on the synthetic {status.model_trained_only_on} world"
                     if status.model_trained_only_on else "")
    print(f"model    {status.model} ({status.fingerprint[:12]}{demonstration})")
    print(f"moments  {status.segments} from {format_duration(status.hours_indexed * 3600)} of video")
    print("files    " + ", ".join(f"{k} {v}" for k, v in status.files.items()))
    print(f"device   {_device_text(status)}")
    print(f"decoding {_decoding_text(status)}")
    print(f"copy     {_catalog_copy_text(status)}")
    for f in status.folders:
        state = "missing: unplugged, or moved? `clipseek relocate-folder`" if f.state == "missing" else f.state
        print(f"folder   {f.path}: {f.indexed} indexed, {f.pending} pending, {f.failed} failed, "
              f"{f.skipped} skipped ({state})")
    return 0


def _device_text(status) -> str:
    """Where the model is expected to run, told without loading it (the GUI's Settings shows where it does)."""
    workers = f"{status.index_workers} index worker{'s' if status.index_workers != 1 else ''}"
    if status.device == "cpu":
        return f"cpu (set in the library's settings); {workers}"
    if status.gpu_found:
        return f"{status.device}: the NVIDIA GPU (onnxruntime-gpu and the NVIDIA driver found); {workers}"
    return f"{status.device}: the CPU (no NVIDIA GPU with onnxruntime-gpu found); {workers}"


def _catalog_copy_text(status) -> str:
    if status.catalog_on_postgres:
        return "none: the catalog is on PostgreSQL, whose own backups (pg_dump) keep it"
    if not status.keeps_catalog_copy:
        kept = f"; the copy kept before an upgrade: {status.catalog_copy}" if status.catalog_copy else ""
        return f"none: turned off (keep_catalog_copy in the library's settings.json){kept}"
    if status.catalog_copy is None:
        return "none yet: a copy of the catalog is kept after indexing, at most once a day"
    return f"{status.catalog_copy} (kept after indexing, at most once a day; `clipseek restore-catalog` puts it back)"


def _decoding_text(status) -> str:
    if status.decoding == "cuda":
        return "the NVIDIA GPU (NVDEC) for files that need more than their keyframes, else the CPU"
    if status.device == "cpu":
        return "the CPU (set in the library's settings)"
    return "the CPU (no NVIDIA driver, or PyAV without CUDA)"


def cmd_problems(args) -> int:
    with _open(args) as lib:
        problems = lib.problems()
    if args.json:
        print_json([{"path": p.path, "status": p.status.value, "reason": p.reason} for p in problems])
    else:
        for p in problems:
            print(f"{p.status.value:8s} {_one_line(p.path)}: {_one_line(p.cause)}")
        if not problems:
            print("no problems")
    return 0


def cmd_retry(args) -> int:
    with _open(args) as lib:
        n = lib.retry()
    print(f"{n} file(s) queued again; run `clipseek index`")
    return 0


def cmd_leave_out(args) -> int:
    with _open(args) as lib:
        added = lib.leave_out(args.paths)
    for pattern in added:
        print(f"left out {_one_line(pattern)}")
    if not added:
        print("already left out")
    print("run `clipseek index` to take them out of the library; `exclude` in the library's settings.json "
          "lists what is left out")
    return 0


def cmd_restore_catalog(args) -> int:
    from engine.api.library import Library

    _require_library(args)
    print(Library.restore_catalog_copy(args.library))
    print("run `clipseek index` to take in what changed since the copy was made")
    return 0


# -- models --------------------------------------------------------------------------------------
def cmd_model(args) -> int:
    return globals()["_model_" + args.model_command](args)


def _registry():
    from engine.api.model_registry import ModelRegistry

    return ModelRegistry()


def _model_list(args) -> int:
    entries = _registry().entries()
    if args.json:
        print_json([e.__dict__ for e in entries])
        return 0
    if not entries:
        print("no models installed; import one with `clipseek model import PATH`")
    for e in entries:
        where = "built-in" if e.builtin else "installed"
        print(f"{e.name:28s} {e.precision:5s} {e.size_bytes / 1e6:8.1f} MB  {e.fingerprint[:12]}  {where}  {e.path}")
    return 0


def _model_verify(args) -> int:
    from engine.runtime.bundle import verify

    target = args.bundle or args.model
    bundle = _registry().resolve(target, None)
    problems = verify(bundle)
    if problems:
        for p in problems:
            print(f"clipseek: {p}", file=sys.stderr)
        return 1
    print(f"{bundle}: ok")
    return 0


def _model_import(args) -> int:
    entry = _registry().import_bundle(Path(args.source))
    print(f"imported {entry.name} into {entry.path}")
    return 0


def _model_install(args) -> int:
    try:
        from engine.model.install import install
    except ImportError as exc:
        raise ModelInstallError("installing a pretrained model needs the train extra (torch, open_clip); "
                                "or import a ready bundle with `clipseek model import PATH`") from exc
    reg = _registry()
    path = install(args.spec, reg.user_dir, int8=args.int8, progress=lambda s: print(s, file=sys.stderr))
    print(f"installed {args.spec} as {path}")
    return 0


def _model_export(args) -> int:
    try:
        from engine.model.export import export_bundle
    except ImportError as exc:
        raise ClipSeekError("`model export` needs the train extra (torch, open_clip): "
                            "pip install 'clipseek[train]'") from exc
    out = export_bundle(args.name, Path(args.out), pretrained=args.pretrained, checkpoint=args.checkpoint,
                        random_weights=args.random_weights, int8=args.int8, frames_per_clip=args.frames,
                        name=args.bundle_name)
    print(f"exported {args.name} to {out}")
    return 0


def _model_use(args) -> int:
    with _open(args, switching_model=True) as lib:
        if not args.yes:
            total = sum(f.indexed for f in lib.folders())
            if total and not _confirm(f"switching models re-indexes {total} file(s); continue? [y/N] "):
                print("nothing changed")
                return 1
        n = lib.set_model(args.bundle)
    print(f"now using {args.bundle}; {n} file(s) will be re-indexed by `clipseek index`")
    return 0


def _confirm(prompt: str) -> bool:
    if not sys.stdin.isatty():
        raise ClipSeekError("switching models needs confirmation; add --yes to confirm without a terminal")
    return input(prompt).strip().lower() in ("y", "yes")


# -- demo, shapes, training -------------------------------------------------------------------------
def cmd_demo(args) -> int:
    from engine.api.demo import create_demo_library, demo_queries

    bar = TerminalBar()
    try:
        lib = create_demo_library(Path(args.library) if args.library else None, videos=args.videos,
                                  seed=args.seed, model=args.model, progress=bar,
                                  on_stage=lambda s: print(s, file=sys.stderr))
    finally:
        bar.close()
    with lib:
        if not args.no_gui and _can_open_window():
            lib.close()
            from desktop_app.__main__ import main as gui_main

            return gui_main(["--library", str(lib.path)] + (["--model", args.model] if args.model else []))
        for query in demo_queries(lib.path):
            start = time.perf_counter()
            moments = lib.search(query, k=3)
            ms = (time.perf_counter() - start) * 1000
            print(f"\n{query!r}  ({ms:.0f} ms)")
            _print_moments(query, moments)
    return 0


def _can_open_window() -> bool:
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform in ("win32", "darwin"))


def cmd_shapes(args) -> int:
    from engine.shapes.generate import generate_dataset

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ClipSeekError(f"{out} is a file; give a folder to write the videos and annotations.json into")
    try:
        generate_dataset(out, n_videos=args.videos, seed=args.seed)
    except OSError as exc:
        raise ClipSeekError(f"cannot write the videos to {out}: {exc.strerror or exc}") from exc
    print(f"wrote {args.videos} videos and annotations.json to {out}")
    return 0


def cmd_train(args) -> int:
    try:
        from engine.model.train import train
    except ImportError as exc:
        raise ClipSeekError("`train` needs the train extra (torch, open_clip): pip install 'clipseek[train]'") from exc
    result = train(Path(args.config), Path(args.out), resume=args.resume)
    print(json.dumps(result, default=str) if not isinstance(result, (str, Path)) else f"trained: {result}")
    return 0


def cmd_eval(args) -> int:
    try:
        from engine.model.evaluate import evaluate, format_table
    except ImportError as exc:
        raise ClipSeekError("`eval` needs the train extra (torch, open_clip): pip install 'clipseek[train]'") from exc
    results = evaluate(Path(args.checkpoint), Path(args.data), stage="stage1" if args.stage1 else "full",
                       drop_heads=tuple(args.drop_head), dsl=args.dsl, qbnorm=args.qbnorm)
    print(format_table(results))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0
