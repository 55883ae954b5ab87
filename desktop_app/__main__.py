"""``python -m desktop_app`` / ``clipseek-gui``: open the window on a library."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="clipseek-gui", description="Find moments in your videos.")
    parser.add_argument("--library", type=Path, default=None,
                        help="library folder (default: the library in your user data folder)")
    parser.add_argument("--model", default=None, help="model bundle folder or installed model name")
    parser.add_argument("--self-test", action="store_true",
                        help="offscreen: index two generated videos in a temporary library through the window, "
                             "run a text and an image search, and exit 0 if all of it worked")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.self_test:
        return self_test(args.model)
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from desktop_app import theme
    from desktop_app.gui_thread_gc import GuiThreadGarbageCollector
    from desktop_app.views.main_window import THEME_KEY, MainWindow
    from desktop_app.views.player import quiet_media_backend
    from engine.errors import ClipSeekError

    app = QApplication.instance() or QApplication(sys.argv[:1])
    quiet_media_backend()
    collector = GuiThreadGarbageCollector(app)
    app.setApplicationName("ClipSeek")
    app.setOrganizationName("ClipSeek")
    app.setApplicationDisplayName("ClipSeek")
    app.setDesktopFileName("clipseek")   # Wayland matches the window to clipseek.desktop (its icon) by this
    prefs = QSettings("ClipSeek", "ClipSeek")
    theme.apply(app, str(prefs.value(THEME_KEY, "system")))
    try:
        # Without --library, reopen the last library shown (the demo, say) unless a model was named.
        path = args.library or (last_library(prefs) if args.model is None else None)
        library = open_library_offering_restore(path, args.model, offer_restore=ask_to_restore)
    except ClipSeekError as exc:
        return cannot_open(exc)
    restored = None
    while True:
        window = MainWindow(library, prefs=prefs, create_demo=demo_factory(args.model),
                            open_own_library=own_library_factory(args.model))
        hints = app.styleHints()

        def follow(_scheme, shown=window) -> None:
            shown.follow_system_theme()

        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(follow)
        if restored:
            window.banner.show_message(restored[:1].upper() + restored[1:] + ".")
        window.show()
        status = app.exec()
        if window.restore_catalog_of is None:
            break
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.disconnect(follow)
        try:
            restored, library = restore_and_open_again(window.restore_catalog_of, args.model)
        except ClipSeekError as exc:
            status = cannot_open(exc)
            break
    collector.stop()
    return status


SELF_TEST_QUERY = "a big red circle moving left"
SELF_TEST_TIMEOUT_MS = 600_000


def self_test(model: str | None) -> int:
    """Check an installation end to end, without a display and without touching the user's files.

    In a temporary folder: two videos are generated (PyAV, no system ffmpeg), a library is opened on
    them with the window offscreen, the window indexes them, then runs a text search and a search by
    a frame of the first result. Exit status 0 only if both videos were indexed and both searches
    returned moments.
    """
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from desktop_app import theme
    from desktop_app.gui_thread_gc import GuiThreadGarbageCollector
    from desktop_app.views.main_window import MainWindow
    from engine.errors import ClipSeekError

    with tempfile.TemporaryDirectory(prefix="clipseek-self-test-") as tmp:
        root = Path(tmp)
        app = QApplication.instance() or QApplication(sys.argv[:1])
        collector = GuiThreadGarbageCollector(app)
        prefs = QSettings(str(root / "prefs.ini"), QSettings.Format.IniFormat)   # the user's stay untouched
        theme.apply(app, "system")          # loads the stylesheet and icons: resources a bundle must carry
        try:
            make_self_test_videos(root / "videos")
            library = open_library(root / "library", model)
        except ClipSeekError as exc:
            print(f"clipseek-gui self-test: failed: {exc}", file=sys.stderr)
            return 2
        library.add_folder(root / "videos")
        report = f"model {library.model_info.name}"
        window = MainWindow(library, prefs=prefs)
        window.confirm = lambda _title, _text: True   # no questions: close even while indexing
        state = {"step": "index", "failure": None, "report": report}

        def finish(failure: str | None) -> None:
            if state["step"] == "done":
                return
            state["step"], state["failure"] = "done", failure
            window.close()
            app.exit(0 if failure is None else 1)

        def indexed(progress) -> None:
            if state["step"] != "index":
                return
            status = library.status()
            count = status.files.get("indexed", 0)
            if progress is None or count != 2:
                finish(f"indexing ended with {count} of 2 videos indexed; problems: "
                       + ("; ".join(f"{p.path}: {p.reason}" for p in library.problems()) or "none"))
                return
            state["step"] = "text"
            window.search(SELF_TEST_QUERY)

        def shown(count: int) -> None:
            if count == 0:
                finish(f"the {state['step']} search found no moments")
            elif state["step"] == "text":
                first = window.results_model.moment(0)
                frame = root / "query.jpg"
                frame.write_bytes(library.preview_frames(first, count=1)[0])
                state["step"] = "image"
                window.search_image(frame)
            elif state["step"] == "image":
                state["report"] = f"{report} on {', '.join(library.providers)}"
                finish(None)

        window.indexing_finished.connect(indexed)
        window.results_shown.connect(shown)
        window.search_worker.failed.connect(lambda _request, message: finish(f"search failed: {message}"))
        QTimer.singleShot(SELF_TEST_TIMEOUT_MS, lambda: finish(f"timed out at the {state['step']} step"))
        window.show()
        app.exec()
        collector.stop()
        if state["failure"] is not None:
            print(f"clipseek-gui self-test: failed: {state['failure']} ({report})", file=sys.stderr)
            return 1
        print(f"clipseek-gui self-test: ok (2 videos indexed, text and image search answered; "
              f"{state['report']})")
        return 0


def make_self_test_videos(folder: Path) -> None:
    """Two short shapes-world videos, encoded with PyAV's own FFmpeg (MPEG-4 in .mp4)."""
    import numpy as np

    from engine.shapes.generate import VideoOptions, generate_video

    options = VideoOptions(max_size=(320, 240), shots=(2, 2), formats=(("mpeg4", "mp4"),), encoder="pyav")
    for index in range(2):
        generate_video(folder / f"self-test-{index}.mp4", np.random.default_rng(index), options)


def last_library(prefs) -> Path | None:
    """The library the window showed last time (e.g. the demo), if it still exists."""
    from desktop_app.views.main_window import LAST_LIBRARY_KEY

    value = prefs.value(LAST_LIBRARY_KEY, "")
    return Path(str(value)) if value and Path(str(value)).is_dir() else None


def open_library(path: Path | None, model: str | None):
    from engine.api import Library

    return Library.open(path, model=model)


def open_library_offering_restore(path: Path | None, model: str | None, offer_restore):
    """open_library; where the catalog is damaged and a copy of it was kept, ``offer_restore(error)`` asks whether
    to put the copy back, and if so the library opens from it."""
    from engine.api import Library
    from engine.errors import DamagedCatalogError

    try:
        return open_library(path, model)
    except DamagedCatalogError as exc:
        if exc.copy is None or not offer_restore(exc):
            raise
    return restore_and_open_again(path, model)[1]


def cannot_open(exc) -> int:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Critical, "ClipSeek cannot open the library", str(exc))
    box.setTextFormat(Qt.TextFormat.PlainText)      # the reason quotes a path
    box.exec()
    return 2


def restore_and_open_again(path: Path, model: str | None):
    """(what was done, the library opened again) after the window closed to put back the kept catalog copy."""
    from engine.api import Library

    return Library.restore_catalog_copy(path), open_library(path, model)


def ask_to_restore(error) -> bool:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Warning, "ClipSeek cannot open the library",
                      f"The library's catalog cannot be read ({error.problem}).")
    box.setInformativeText(f"ClipSeek kept a copy of it ({error.copy}). Put the copy back? Videos indexed since "
                           "it was made are indexed again; the damaged file is kept beside it.")
    box.setTextFormat(Qt.TextFormat.PlainText)
    restore = box.addButton("Put the copy back", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Close)
    box.setDefaultButton(restore)
    box.exec()
    return box.clickedButton() is restore


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


def own_library_factory(model: str | None):
    """What "Open my library" runs on a worker thread to leave the demo: the user's library, in the data folder."""
    return lambda: open_library(None, model)


if __name__ == "__main__":
    # Indexing runs decoders in spawned worker processes; a frozen build needs this first.
    import multiprocessing

    multiprocessing.freeze_support()
    sys.exit(main())
