"""Render the ClipSeek logo (SVG) into the icon sizes desktops look for, with Qt's SVG renderer.

Usage: QT_QPA_PLATFORM=offscreen python installer/linux/render_icons.py LOGO.svg OUT_DIR
                                 [--ico FILE.ico] [--icns FILE.icns]

Writes OUT_DIR/hicolor/NxN/apps/clipseek.png for the freedesktop sizes and
OUT_DIR/hicolor/scalable/apps/clipseek.svg; --ico and --icns write the Windows and macOS icons
(the recipes in installer/windows and installer/macos use them).
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ICON_NAME = "clipseek"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZE = 256          # Qt's ICO writer stores one image; Windows scales it down
ICNS_SIZE = 1024


def render(renderer, size: int):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter

    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def save(image, path: Path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path), fmt):
        raise SystemExit(f"Qt could not write {path} ({fmt}); is its image format plugin bundled?")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logo", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--ico", type=Path, default=None)
    parser.add_argument("--icns", type=Path, default=None)
    args = parser.parse_args(argv)

    from PySide6.QtGui import QGuiApplication
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(args.logo))
    if not renderer.isValid():
        raise SystemExit(f"{args.logo} is not an SVG file Qt can read")
    hicolor = args.out / "hicolor"
    for size in PNG_SIZES:
        save(render(renderer, size), hicolor / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png", "PNG")
    (hicolor / "scalable" / "apps").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.logo, hicolor / "scalable" / "apps" / f"{ICON_NAME}.svg")
    if args.ico:
        save(render(renderer, ICO_SIZE), args.ico, "ICO")
    if args.icns:
        save(render(renderer, ICNS_SIZE), args.icns, "ICNS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
