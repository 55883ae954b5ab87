"""A searcher over hand-made segment vectors, stage 1 only (no model), for the searcher's tests."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from engine.catalog import BulkFile, Catalog, MediaInfo, SegmentRecord
from engine.search import Searcher
from engine.settings import Settings
from engine.vectors import open_vector_store
from engine.vectors.index import HnswParams, VectorIndex

FP = "cd" * 32


@contextmanager
def stage1_searcher(folder: Path, files: list[np.ndarray], step: float, length: float, rerank_depth: int,
                    exact: bool = False) -> Iterator[Searcher]:
    """One file per array of vectors in /videos; segment i of a file spans [i * step, i * step + length]. With
    ``exact``, the index is built on one thread and searched with a beam as wide as it is: the nearest segments
    are the same whatever k asks for, for a test of what the searcher does with them rather than of hnswlib."""
    catalog = Catalog.open(folder)
    videos = catalog.add_folder("/videos")
    bulk = []
    for f, vectors in enumerate(files):
        segments = [SegmentRecord(start=step * i, end=step * i + length, thumbnail=None, frame_count=1, vector=v,
                                  clip_tokens=v[None, :], frame_tokens=v[None, :], frame_mask=np.ones(1, np.uint8))
                    for i, v in enumerate(vectors)]
        duration = step * len(vectors)
        bulk.append(BulkFile(f"/videos/clip{f}.mp4", 1, 1000.0 + f, None, MediaInfo(duration, 25.0, 64, 64), segments))
    catalog.bulk_add_indexed(videos.id, bulk, FP)
    if exact:
        params = HnswParams(threads=1, ef_search=sum(len(v) for v in files))
        store = VectorIndex.open(folder / "vectors", files[0].shape[1], FP, catalog, params)
    else:
        store = open_vector_store(None, folder, files[0].shape[1], FP, catalog)
    try:
        yield Searcher(catalog, store, None, Settings(rerank_depth=rerank_depth))
    finally:
        store.close(save=False)
        catalog.close()
