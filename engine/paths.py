"""Where ClipSeek keeps things: the user's data folder, the built-in assets."""
from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "ClipSeek"


def data_dir() -> Path:
    """The user's ClipSeek data folder (CLIPSEEK_DATA_DIR overrides it, e.g. in tests)."""
    override = os.environ.get("CLIPSEEK_DATA_DIR")
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """Files ClipSeek can make again, which the system may clear (under the data folder when CLIPSEEK_DATA_DIR
    is set)."""
    override = os.environ.get("CLIPSEEK_DATA_DIR")
    if override:
        return Path(override) / "cache"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP_NAME, appauthor=False))


def default_library_dir() -> Path:
    return data_dir() / "library"


def demo_library_dir() -> Path:
    return data_dir() / "demo-library"


def models_dir() -> Path:
    return data_dir() / "models"


def assets_dir() -> Path:
    """The repository's (or the frozen bundle's) assets/ folder."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "assets"
    return Path(__file__).resolve().parent.parent / "assets"


def builtin_models_dir() -> Path:
    return assets_dir() / "models"
