"""Ending a process without the interpreter's teardown.

A normal exit, after the atexit handlers, frees every module and object one by one: with SQLAlchemy and numpy
loaded that is about 0.25 s at the end of every `clipseek` command, and 0.1 s for an indexing worker with
onnxruntime, PyAV and OpenCV loaded, which its pool waits for at the end of each run. Nothing is left to do by
then (files are closed, results sent), so the process may end at once.
"""
from __future__ import annotations

import atexit
import os
import sys
import threading


def exit_now(code: int) -> None:
    """End this process with ``code``: atexit handlers run and the standard streams are flushed, as in a normal
    exit; the teardown is skipped. While another (non-daemon) thread or a child process still runs, this is a
    normal exit, which waits for them. Call it from the main thread, once the work is done."""
    if _others_running():
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):   # a closed pipe (`clipseek search ... | head`): nothing more to say
            pass
    os._exit(code)


def _others_running() -> bool:
    main = threading.main_thread()
    if any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate()):
        return True
    multiprocessing = sys.modules.get("multiprocessing")
    return bool(multiprocessing is not None and multiprocessing.active_children())
