"""A worker's model loading on a thread while its first file is probed and decoded.

Building ViT-B-32's sessions takes a worker 0.3-1 s; decoding the first segment needs no model.
``BackgroundModel`` reads bundle.json at once (``info``, which embed_file needs first) and
builds the sessions on a thread; ``encode_frames`` and ``encode_clips`` wait for them.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from engine.runtime.bundle import open_bundle


class ModelLoadFailed(Exception):
    """The model could not be loaded; the reason is the message. Not the file's fault."""


class BackgroundModel:
    def __init__(self, bundle_dir: Path | str, load: Callable[[], object]):
        self.info = open_bundle(Path(bundle_dir))   # BundleError here, before anything is started
        loader = ThreadPoolExecutor(1, thread_name_prefix="clipseek-model-load")
        self._future: Future = loader.submit(load)
        loader.shutdown(wait=False)

    def when_loaded(self, callback: Callable[[Exception | None], None]) -> None:
        """``callback(None)`` once loaded, ``callback(error)`` if the load failed; on the loading thread."""
        self._future.add_done_callback(lambda f: callback(f.exception()))

    def wait(self):
        """The loaded model; ModelLoadFailed if it could not be loaded."""
        try:
            return self._future.result()
        except Exception as exc:
            raise ModelLoadFailed(str(exc)) from exc

    def encode_frames(self, frames):
        return self.wait().encode_frames(frames)

    def encode_clips(self, frame_features, frame_mask):
        return self.wait().encode_clips(frame_features, frame_mask)
