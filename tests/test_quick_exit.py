"""A process ended by exit_now skips the interpreter's teardown, and nothing a normal exit does for the program."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUFFERED = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}   # as a user's shell runs it


def _run(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          cwd=ROOT, env=BUFFERED, timeout=60)


def test_atexit_handlers_run_and_the_whole_output_is_written(tmp_path):
    mark = tmp_path / "atexit-ran"
    r = _run("""
        import atexit, sys
        from engine.util.quick_exit import exit_now
        atexit.register(lambda: open(sys.argv[1], "w").write("ran"))
        for i in range(20000):
            print(f"line {i}")      # more than a pipe's buffer, still in sys.stdout's buffer at the end
        print("the end", file=sys.stderr, end="")
        exit_now(3)
        print("not reached")
    """, str(mark))
    assert r.returncode == 3
    assert r.stdout.splitlines() == [f"line {i}" for i in range(20000)]
    assert r.stderr == "the end"
    assert mark.read_text() == "ran"


def test_a_thread_still_working_is_waited_for(tmp_path):
    done = tmp_path / "thread-done"
    r = _run("""
        import sys, threading, time
        from engine.util.quick_exit import exit_now
        def work():
            time.sleep(0.5)
            open(sys.argv[1], "w").write("done")
        threading.Thread(target=work).start()
        exit_now(0)
    """, str(done))
    assert r.returncode == 0, r.stderr
    assert done.read_text() == "done"


def test_a_child_process_still_running_is_waited_for(tmp_path):
    done = tmp_path / "child-done"
    r = _run("""
        import multiprocessing, sys, time
        from engine.util.quick_exit import exit_now

        def work(path):
            time.sleep(0.5)
            open(path, "w").write("done")

        if __name__ == "__main__":
            multiprocessing.get_context("fork").Process(target=work, args=(sys.argv[1],)).start()
            exit_now(5)
    """, str(done))
    assert r.returncode == 5, r.stderr
    assert done.read_text() == "done"


def test_a_closed_pipe_at_the_end_is_no_error():
    # `clipseek search ... | head -1`: the reader is gone before the last lines are flushed
    code = ("from engine.util.quick_exit import exit_now\n"
            "try:\n    for i in range(100000): print(i)\n"
            "except BrokenPipeError:\n    pass   # as the command-line main does\n"
            "exit_now(0)\n")
    r = subprocess.run(f"{sys.executable} -c '{code}' | head -1",
                       shell=True, capture_output=True, text=True, cwd=ROOT, env=BUFFERED, timeout=60)
    assert r.stdout == "0\n"
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr, r.stderr
