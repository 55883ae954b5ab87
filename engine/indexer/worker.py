"""The worker process: loads the model once, then embeds files from its task queue."""
from __future__ import annotations

import errno
import os
import signal
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from engine.util.quick_exit import exit_now

INDEXING_GRAPHS = ("frame_encoder", "clip_encoder")
WORKER_NICENESS = 10   # below the window and searches: indexing takes only the CPU they leave


def worker_main(wid, conn, bundle_dir, device, threads, settings_dict, thumbs_dir) -> None:
    """Receive tasks on ``conn`` (None = stop); send (kind, wid, task_id, payload) back on it."""
    _prepare_process(threads)
    _serve(wid, conn, bundle_dir, device, threads, settings_dict, thumbs_dir)
    exit_now(0)   # all it made is sent: the pool, waiting for it to end, need not wait for the teardown


def prestarted_worker_main(conn, threads) -> None:
    """A worker started before its pool (``pool.prestart_workers``): it imports what indexing needs while
    the parent opens the library, then takes the rest of worker_main's arguments from ``conn``
    as (wid, bundle_dir, device, settings_dict, thumbs_dir); None: not needed after all."""
    _prepare_process(threads)
    try:
        import engine.indexer.embed_file  # noqa: F401  the decoder, numpy, OpenCV
        import engine.runtime.model  # noqa: F401  onnxruntime
    except Exception:
        pass   # _serve meets the same error and reports it under the worker's id
    try:
        args = conn.recv()
    except (EOFError, OSError):
        return   # the parent went away
    if args is not None:
        wid, bundle_dir, device, settings_dict, thumbs_dir = args
        _serve(wid, conn, bundle_dir, device, threads, settings_dict, thumbs_dir)
    exit_now(0)


def _prepare_process(threads) -> None:
    # Ctrl+C in a terminal reaches every process of the group; the parent stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _lower_priority()
    # Keep native libraries from each starting one thread per core in every worker.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))


def _serve(wid, conn, bundle_dir, device, threads, settings_dict, thumbs_dir) -> None:
    sending = threading.Lock()   # the model's loading thread reports too

    class _Results:
        @staticmethod
        def put(msg) -> None:
            with sending:
                conn.send(msg)

    results = _Results()

    def report_load(error: Exception | None) -> None:
        # "ready" starts the parent's clock for the file in hand; "fatal" stops the run, leaving it pending.
        try:
            results.put(("ready", wid, None, None) if error is None
                        else ("fatal", wid, None, f"the model could not be loaded: {error}"))
        except (OSError, ValueError):
            pass   # the parent went away

    try:
        import cv2

        cv2.setNumThreads(1)
        from engine.indexer.background_model import BackgroundModel, ModelLoadFailed
        from engine.indexer.embed_file import ENCODER_LANES, embed_file
        from engine.media.gop_lanes import IDLE_DECODERS, LANES
        from engine.runtime.model import load_model
        from engine.settings import Settings

        IDLE_DECODERS.hold(LANES)   # a worker decodes file after file: its lanes' decoders serve the next one
        settings = Settings(**settings_dict)
        # Only the graphs embed_file runs: the text encoder would cost every worker a second to start.
        # ``threads`` is the model's share of cores, split between the frame encoder's lanes. The sessions
        # build while the first file is probed and decoded.
        model = BackgroundModel(bundle_dir, lambda: load_model(
            bundle_dir, device=device, intra_threads=max(1, threads // ENCODER_LANES), graphs=INDEXING_GRAPHS))
    except Exception as exc:  # the parent shows this and stops indexing
        results.put(("fatal", wid, None, f"the model could not be loaded: {exc}"))
        return
    model.when_loaded(report_load)
    # One set of encoder lanes for the worker: a file sent while the last one's final segments are encoded
    # (pool.WorkerPool) queues its frames behind them, and is decoded meanwhile.
    lanes = ThreadPoolExecutor(ENCODER_LANES, thread_name_prefix="clipseek-encode")
    stopped = threading.Event()   # the model could not be loaded, or the disk is full: this run is over

    def index(task) -> None:
        tid = task.task_id
        try:
            result = embed_file(
                task.path, model, settings, Path(thumbs_dir), task.thumb_key, lanes=lanes,
                on_probe=lambda info: results.put(("probed", wid, tid, float(info.duration))),
                on_progress=lambda sec: results.put(("progress", wid, tid, sec)),
                on_decoded=lambda: results.put(("decoded", wid, tid, None)))
            results.put(("done", wid, tid, result))
        except ModelLoadFailed:
            stopped.set()   # report_load has told the parent; the file stays pending
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                results.put(("failed", wid, tid, file_failure(exc)))
                return
            # Not this file's fault, and every next file would fail the same way: stop the run,
            # leaving the file pending.
            stopped.set()
            results.put(("fatal", wid, tid, f"the disk is full: {exc.filename or thumbs_dir} cannot be written "
                                            "(no space left on device); free disk space and index again"))
        except Exception as exc:  # a decoder error costs this file only
            results.put(("failed", wid, tid, file_failure(exc)))

    files: list[threading.Thread] = []
    while not stopped.is_set():
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return   # the parent went away
        if task is None:
            break
        files = [f for f in files if f.is_alive()]
        files.append(threading.Thread(target=index, args=(task,), name=f"clipseek-file-{task.task_id}", daemon=True))
        files[-1].start()
    for f in files:   # the parent says stop once it has no file left here, or kills the worker if it must
        f.join()
    lanes.shutdown()


def file_failure(exc: BaseException) -> str:
    """The reason a file failed, as the problems list shows it."""
    from engine.errors import ClipSeekError

    if isinstance(exc, ClipSeekError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "ran out of memory while decoding this file"
    return _unexpected(exc)


def _unexpected(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:]
    where = f" ({last[0].name})" if last else ""
    return f"could not be read: {exc.__class__.__name__}: {exc}{where}"


def _lower_priority() -> None:
    """Indexing is background work: on a busy machine the GUI thread and searches come first."""
    if hasattr(os, "nice"):
        try:
            os.nice(WORKER_NICENESS)
        except OSError:
            pass
