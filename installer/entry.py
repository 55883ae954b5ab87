"""The bundled program: the window by default, the command line when it is called ``clipseek``.

The bundle ships one executable, ``clipseek-gui``, and a ``clipseek`` link to it, so the engine,
Qt and the model runtime are stored once. Indexing spawns worker processes from this same
executable; ``freeze_support`` must run first so that such a child becomes a worker, not a window.
"""
from __future__ import annotations

import multiprocessing
import os
import sys

CLI_NAMES = {"clipseek", "clipseek.exe"}


def main() -> int:
    multiprocessing.freeze_support()
    if os.path.basename(sys.argv[0]).lower() in CLI_NAMES:
        from engine.cli.main import run

        run()   # ends the process
    from desktop_app.__main__ import main as gui_main

    return gui_main()


if __name__ == "__main__":
    sys.exit(main())
