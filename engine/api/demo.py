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


def demo_videos_dir(library: Path) -> Path:
    return library / "videos"


def demo_queries(library: Path, events: int = 3) -> list[str]:
    """Searches with an answer in this demo library: the first shot of a few videos spread over it, and one
    "A, then B" (the library holds whatever its seed and size drew, so fixed sentences might not be there)."""
    from engine.shapes.generate import load_annotations

    videos = load_annotations(demo_videos_dir(Path(library)))
    step = max(1, len(videos) // events)
    queries = [video["shots"][0]["caption"] for video in videos[::step]][:events]
    temporal = next((t["caption"] for video in videos for t in video.get("temporal", [])), None)
    return queries + ([temporal] if temporal else [])


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
        lib.mark_as_demo()
        if str(folder.resolve()) not in [f.path for f in lib.folders()]:
            lib.add_folder(folder)
        if index:
            stage("indexing the demo library ...")
            lib.index(progress=progress, control=control)
    except BaseException:
        lib.close()
        raise
    return lib
