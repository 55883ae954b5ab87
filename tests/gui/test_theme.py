"""The stylesheet: every @token filled in; the arrows it draws are files Qt can read, in the theme's colour."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app import theme

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("colors", [theme.LIGHT, theme.DARK], ids=["light", "dark"])
def test_the_stylesheet_has_no_unfilled_token_and_its_arrows_exist(qapp, colors):
    from PySide6.QtGui import QImage

    qss = theme.stylesheet(colors)
    assert "@" not in qss
    arrows = re.findall(r"url\(([^)]+)\)", qss)
    assert {Path(a).stem.rsplit("-", 1)[0] for a in arrows} == set(theme.QSS_ARROWS)
    for arrow in arrows:
        assert colors.muted in Path(arrow).read_text(encoding="utf-8")
        assert not QImage(arrow).isNull(), arrow           # Qt's SVG image plugin reads it


BUTTON_ICONS = """
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from desktop_app import theme
app = QApplication([])
theme.apply(app, "light")
box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
print([not b.icon().isNull() for b in box.buttons()])
"""


@pytest.mark.skipif(not shutil.which("xvfb-run"), reason="needs Xvfb (scripts/bootstrap.sh installs it)")
def test_dialog_buttons_carry_no_stock_icons_on_a_real_display():
    """On X11 without a desktop's icon theme, Qt puts its own old bitmaps on OK and Cancel (offscreen it puts
    none, so this runs on Xvfb)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    out = subprocess.run(["xvfb-run", "-a", sys.executable, "-c", BUTTON_ICONS], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[False, False]"
