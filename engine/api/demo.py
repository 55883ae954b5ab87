"""The demo library: synthetic shapes-world videos, indexed with the built-in model.

`clipseek demo` and the window's "Open the demo library" both come here. The videos are
rendered by engine.shapes (no system ffmpeg needed) into the library's own folder.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from engine.api.types import Progress
from engine.errors import ClipSeekError
from engine.paths import demo_library_dir

DEMO_QUERIES = (
    "a big red circle moving left",
    "a small blue star growing",
    "a yellow square staying still",
    "a big green triangle moving up, then a small white circle shrinking",
)


def demo_videos_dir(library: Path) -> Path:
    return library / "videos"


def create_demo_library(path: Path | None = None, videos: int = 30, seed: int = 2026, model=None,
                        progress: Callable[[Progress], None] | None = None,
                        on_stage: Callable[[str], None] | None = None, control=None, index: bool = True):
    """Generate (once) and, unless ``index`` is False, index the demo library; returns the open Library."""
    from engine.api.library import Library
    from engine.shapes.generate import VideoOptions, generate_dataset

    if videos < 1:
        raise ClipSeekError(f"the demo needs at least 1 video, not {videos}")
    stage = on_stage or (lambda _s: None)
    path = Path(path) if path else demo_library_dir()
    folder = demo_videos_dir(path)
    if not (folder / "annotations.json").is_file():
        stage(f"generating {videos} demo videos in {folder} ...")
        # Distinct captions: every event shows up once before any repeats, so searches have one answer.
        generate_dataset(folder, n_videos=videos, seed=seed, options=VideoOptions(max_size=(854, 480)),
                         distinct_captions=True)
    lib = Library.open(path, model=model)
    try:
        if str(folder.resolve()) not in [f.path for f in lib.folders()]:
            lib.add_folder(folder)
        if index:
            stage("indexing the demo library ...")
            lib.index(progress=progress, control=control)
    except BaseException:
        lib.close()
        raise
    return lib
