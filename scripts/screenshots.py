"""Screenshots of the real window on the demo library: welcome, indexing, results, playing.

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python scripts/screenshots.py --model BUNDLE

Without a DISPLAY the script re-runs itself under xvfb-run. It works in a fresh data folder
(a temporary one unless --data-dir is given), so the user's own libraries are never touched.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCREEN = "1400x900x24"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--model", default=None, help="model bundle (default: the built-in one)")
    parser.add_argument("--data-dir", type=Path, default=None, help="ClipSeek data folder (default: a temporary one)")
    parser.add_argument("--query", default=None, help="the search to show (default: the first of the demo library's own searches)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed for making and indexing the demo")
    return parser.parse_args()


def rerun_under_xvfb() -> None:
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and shutil.which("xvfb-run"):
        command = ["xvfb-run", "-a", "-s", f"-screen 0 {SCREEN}", sys.executable, *sys.argv]
        sys.exit(subprocess.call(command))


class Shooter:
    def __init__(self, app, window, out: Path) -> None:
        self.app, self.window, self.out = app, window, out
        out.mkdir(parents=True, exist_ok=True)

    def wait(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"screenshots: timed out waiting for {what}")
            self.app.processEvents()
            time.sleep(0.02)

    def pause(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.02)

    def shoot(self, name: str) -> Path:
        self.app.processEvents()
        window = self.window
        screen = window.screen()
        if self.app.platformName() == "offscreen":
            pixmap = window.grab()          # video frames are missing offscreen; Xvfb shows them
        else:
            geometry = window.frameGeometry()
            pixmap = screen.grabWindow(0, geometry.x(), geometry.y(), geometry.width(), geometry.height())
        path = self.out / f"{name}.png"
        pixmap.save(str(path))
        print(f"screenshots: wrote {path}")
        return path


def main() -> int:
    args = parse_args()
    rerun_under_xvfb()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="clipseek-shots-"))
    os.environ["CLIPSEEK_DATA_DIR"] = str(data_dir)
    sys.path.insert(0, str(ROOT))

    from PySide6.QtCore import QPoint, QSettings, Qt
    from PySide6.QtMultimedia import QMediaPlayer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from desktop_app import theme
    from desktop_app.__main__ import demo_factory, own_library_factory
    from desktop_app.gui_thread_gc import GuiThreadGarbageCollector
    from desktop_app.views.main_window import MainWindow
    from engine.api import Library
    from engine.api.demo import demo_queries

    app = QApplication(sys.argv[:1])
    GuiThreadGarbageCollector(app)           # as the application does
    app.setApplicationName("ClipSeek")
    theme.apply(app, "light")
    prefs = QSettings(str(data_dir / "gui.ini"), QSettings.Format.IniFormat)
    library = Library.open(data_dir / "library", model=args.model)
    window = MainWindow(library, prefs=prefs, create_demo=demo_factory(args.model),
                        open_own_library=own_library_factory(args.model))
    window.confirm = lambda _title, _text: True
    window.move(0, 0)
    window.resize(1400, 900)
    window.show()
    shooter = Shooter(app, window, args.out)
    refreshed = []
    window.library_refreshed.connect(lambda: refreshed.append(True))
    shooter.wait(lambda: refreshed, 30, "the library to load")
    shooter.pause(0.5)
    shooter.shoot("welcome")

    finished = []
    window.indexing_finished.connect(finished.append)
    window.open_demo_library()
    shooter.wait(lambda: window.library is not library, args.timeout, "the demo videos")
    shooter.wait(lambda: window.status_area.latest is not None
                 and window.status_area.latest.files_done >= max(1, window.status_area.latest.files_total // 3),
                 args.timeout, "indexing to get going")
    shooter.pause(0.5)
    shooter.shoot("indexing")
    shooter.wait(lambda: finished, args.timeout, "indexing to finish")
    shooter.pause(1.0)

    shown = []
    window.results_shown.connect(shown.append)
    QTest.keyClicks(window.search_field, args.query or demo_queries(window.library.path)[0])
    QTest.keyClick(window.search_field, Qt.Key.Key_Return)
    shooter.wait(lambda: shown, 60, "search results")
    if not shown[-1]:
        raise SystemExit("screenshots: the search found nothing; pass another --query")
    grid = window.grid
    rect = grid.visualRect(window.results_model.index(1 if shown[-1] > 1 else 0))
    QTest.mouseMove(grid.viewport(), QPoint(rect.left() + rect.width() * 2 // 3, rect.center().y()))
    shooter.pause(1.5)                       # hover-scrub frames arrive
    QTest.mouseMove(grid.viewport(), QPoint(rect.left() + rect.width() * 2 // 3 + 1, rect.center().y()))
    shooter.pause(0.3)
    shooter.shoot("results")

    grid.setFocus()
    grid.setCurrentIndex(window.results_model.index(0))
    moment = window.results_model.moment(0)
    player = window.player.player
    shooter.wait(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
                 and player.position() >= moment.start * 1000 + 300, 30, "the player")
    QTest.mouseMove(window.player, QPoint(5, 5))
    shooter.pause(0.2)
    shooter.shoot("playing")

    window.set_theme("dark")
    shooter.pause(0.5)
    shooter.shoot("playing-dark")
    window.set_theme("light")

    # The Problems view with something in it: an unreadable file in the demo folder, indexed again.
    folder = Path(window.folders_model.folder(0).path)
    (folder / "damaged_recording.mp4").write_bytes(os.urandom(40_000))
    finished.clear()
    window.start_indexing()
    shooter.wait(lambda: finished, 120, "the damaged file to be tried")
    shooter.wait(lambda: window.problems_model.rowCount() > 0, 30, "the problem to be listed")
    window.sidebar.problems_button.click()
    shooter.pause(0.3)
    shooter.shoot("problems")
    window.close()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Every file is written; skip interpreter teardown, where PySide6 objects of a finished
    # session have been seen to abort Python while being garbage-collected.
    os._exit(code)
