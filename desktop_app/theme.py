"""Light and dark looks: a palette, a QSS stylesheet and tinted SVG icons.

The theme follows the system's colour scheme unless the user picked one in Settings.
"""
from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

RESOURCES = Path(__file__).parent / "resources"
ICONS = RESOURCES / "icons"


@dataclass(frozen=True)
class Colors:
    name: str
    window: str       # main background
    surface: str      # panels, inputs
    sidebar: str
    card: str         # result cards
    hover: str
    text: str
    muted: str
    border: str
    accent: str
    accent_text: str  # text on the accent colour
    accent_soft: str  # selection background
    danger: str
    success: str
    player: str       # behind the video


LIGHT = Colors("light", window="#f4f5f8", surface="#ffffff", sidebar="#eceef2", card="#ffffff",
               hover="#e6e8ee", text="#1c1e24", muted="#6b7180", border="#dcdfe6", accent="#6a5cff",
               accent_text="#ffffff", accent_soft="#e7e4ff", danger="#d6455d", success="#1f9d6b",
               player="#0e0f12")
DARK = Colors("dark", window="#15161a", surface="#1e1f25", sidebar="#1a1b20", card="#23252c",
              hover="#2b2d36", text="#e7e8ee", muted="#9096a3", border="#30323b", accent="#8a7dff",
              accent_text="#ffffff", accent_soft="#2f2a58", danger="#ff6b81", success="#3ecf8e",
              player="#000000")


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is not None:
        return scheme() == Qt.ColorScheme.Dark
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def colors_for(choice: str) -> Colors:
    """``choice`` is "system", "light" or "dark"."""
    if choice == "dark" or (choice == "system" and system_prefers_dark()):
        return DARK
    return LIGHT


_current: Colors = LIGHT


def current() -> Colors:
    return _current


def apply(app: QApplication, choice: str = "system") -> Colors:
    global _current
    _current = colors_for(choice)
    app.setStyle("Fusion")
    app.setPalette(_palette(_current))
    app.setStyleSheet(stylesheet(_current))
    return _current


def _palette(c: Colors) -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    for r, value in ((role.Window, c.window), (role.Base, c.surface), (role.AlternateBase, c.sidebar),
                     (role.Button, c.surface), (role.Text, c.text), (role.WindowText, c.text),
                     (role.ButtonText, c.text), (role.ToolTipBase, c.surface), (role.ToolTipText, c.text),
                     (role.Highlight, c.accent), (role.HighlightedText, c.accent_text),
                     (role.PlaceholderText, c.muted), (role.Link, c.accent), (role.Mid, c.border)):
        p.setColor(r, QColor(value))
    p.setColor(QPalette.ColorGroup.Disabled, role.Text, QColor(c.muted))
    p.setColor(QPalette.ColorGroup.Disabled, role.ButtonText, QColor(c.muted))
    p.setColor(QPalette.ColorGroup.Disabled, role.WindowText, QColor(c.muted))
    return p


# Arrows the stylesheet draws (a styled combo box or spin box loses the style's own): @arrow_NAME names
# icons/NAME.svg tinted with the theme's muted colour.
QSS_ARROWS = ("chevron-down", "chevron-up")
_qss_images: Path | None = None


def _arrow_file(name: str, color: str) -> str:
    """A tinted copy of an icon for ``url()`` in the stylesheet, which takes files, not markup."""
    global _qss_images
    if _qss_images is None:
        _qss_images = Path(tempfile.mkdtemp(prefix="clipseek-qss-"))
        atexit.register(shutil.rmtree, _qss_images, True)
    path = _qss_images / f"{name}-{color.lstrip('#')}.svg"
    if not path.exists():
        path.write_text((ICONS / f"{name}.svg").read_text(encoding="utf-8").replace("{color}", color),
                        encoding="utf-8")
    return path.as_posix()


def stylesheet(c: Colors) -> str:
    template = (RESOURCES / "style.qss").read_text(encoding="utf-8")
    for name in QSS_ARROWS:
        template = template.replace(f"@arrow_{name}", _arrow_file(name, c.muted))
    # Longest names first, so that "@accent" does not eat the start of "@accent_soft".
    for key in sorted(c.__dict__, key=len, reverse=True):
        template = template.replace("@" + key, getattr(c, key))
    return template


def icon(name: str, color: str | None = None, size: int = 20) -> QIcon:
    """An SVG icon from resources/icons tinted with ``color`` (default: the text colour)."""
    svg = (ICONS / f"{name}.svg").read_text(encoding="utf-8").replace("{color}", color or _current.text)
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    result = QIcon()
    for scale in (1, 2):
        pixmap = QPixmap(QSize(size * scale, size * scale))
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter)
        painter.end()
        pixmap.setDevicePixelRatio(scale)
        result.addPixmap(pixmap)
    return result


def logo(size: int = 64) -> QPixmap:
    renderer = QSvgRenderer(str(RESOURCES / "logo.svg"))
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    renderer.render(painter)
    painter.end()
    return pixmap
