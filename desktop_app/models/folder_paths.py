"""Paths of library folders and what lies inside them, as strings (the engine's paths are absolute)."""
from __future__ import annotations

import os


def is_inside(path: str, folder: str) -> bool:
    """Whether ``path`` lies below ``folder`` (not the folder itself)."""
    return path != folder and path.startswith(os.path.join(folder, ""))


def relocated(path: str, old: str, new: str) -> str:
    """``path`` once the folder ``old`` is at ``new``: the same place inside it; other paths stay as they are."""
    if path == old:
        return new
    return os.path.join(new, os.path.relpath(path, old)) if is_inside(path, old) else path
