"""The stylesheet: every @token filled in; the arrows it draws are files Qt can read, in the theme's colour."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from desktop_app import theme


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
