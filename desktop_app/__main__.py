"""``python -m desktop_app`` / ``clipseek-gui``: open the window on a library."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="clipseek-gui", description="Find moments in your videos.")
    parser.add_argument("--library", type=Path, default=None,
                        help="library folder (default: the library in your user data folder)")
    parser.add_argument("--model", default=None, help="model bundle folder or installed model name")
    parser.add_argument("--self-test", action="store_true",
                        help="open the window offscreen-capable, check it starts, and exit 0")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from desktop_app import theme
    from desktop_app.views.main_window import THEME_KEY, MainWindow
    from engine.errors import ClipSeekError

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ClipSeek")
    app.setOrganizationName("ClipSeek")
    app.setApplicationDisplayName("ClipSeek")
    prefs = QSettings("ClipSeek", "ClipSeek")
    theme.apply(app, str(prefs.value(THEME_KEY, "system")))
    try:
        # Without --library, reopen the last library shown (the demo, say) unless a model was named.
        path = args.library or (last_library(prefs) if args.model is None else None)
        library = open_library(path, args.model)
    except ClipSeekError as exc:
        if args.self_test:
            print(f"clipseek-gui: {exc}", file=sys.stderr)
            return 2
        QMessageBox.critical(None, "ClipSeek cannot open the library", str(exc))
        return 2
    window = MainWindow(library, prefs=prefs, create_demo=demo_factory(args.model))
    hints = app.styleHints()
    if hasattr(hints, "colorSchemeChanged"):
        hints.colorSchemeChanged.connect(lambda _scheme: window.follow_system_theme())
    window.show()
    if args.self_test:
        window.confirm = lambda _title, _text: True   # no questions: close even while indexing
        QTimer.singleShot(1500, window.close)
        summary = f"library {library.path}, model {library.model_info.name}"
        code = app.exec()
        print(f"clipseek-gui self-test: {'ok' if code == 0 else 'failed'} ({summary})")
        return code
    return app.exec()


def last_library(prefs) -> Path | None:
    """The library the window showed last time (e.g. the demo), if it still exists."""
    from desktop_app.views.main_window import LAST_LIBRARY_KEY

    value = prefs.value(LAST_LIBRARY_KEY, "")
    return Path(str(value)) if value and Path(str(value)).is_dir() else None


def open_library(path: Path | None, model: str | None):
    from engine.api import Library

    return Library.open(path, model=model)


def demo_factory(model: str | None):
    """What the welcome page's "Open the demo library" runs on a worker thread.

    It makes the demo videos and opens the demo library with its folder added; the window
    then indexes it like any library, so the status area shows progress and the user can
    pause, cancel or search while it fills in.
    """
    def create(on_stage):
        from engine.api.demo import create_demo_library

        # The window does the indexing itself, so that its status area shows it.
        return create_demo_library(None, model=model, on_stage=on_stage, index=False)
    return create


if __name__ == "__main__":
    # Indexing runs decoders in spawned worker processes; a frozen build needs this first.
    import multiprocessing

    multiprocessing.freeze_support()
    sys.exit(main())
