from __future__ import annotations

import numpy as np
import pytest

from engine.catalog import BulkFile, Catalog, MediaInfo, SegmentRecord

DIM = 32
FP = "fp-a" * 16


def random_segments(rng: np.random.Generator, n: int) -> list[SegmentRecord]:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return [SegmentRecord(start=float(i), end=float(i + 1), thumbnail=None, frame_count=1, vector=v,
                          clip_tokens=v[None, :], frame_tokens=v[None, :], frame_mask=np.ones(1, np.uint8))
            for i, v in enumerate(vectors)]


def fill(catalog: Catalog, n_files: int, per_file: int, seed: int = 0, fingerprint: str = FP,
         prefix: str = "f") -> list[int]:
    """Bulk-insert n_files indexed files of per_file random segments; returns the segment ids."""
    rng = np.random.default_rng(seed)
    folder = catalog.add_folder("/videos")
    files = [BulkFile(f"/videos/{prefix}{i}.mp4", 1, 1.0, None, MediaInfo(10.0, 25.0, 64, 64),
                      random_segments(rng, per_file)) for i in range(n_files)]
    return catalog.bulk_add_indexed(folder.id, files, fingerprint)


def all_vectors(catalog: Catalog, fingerprint: str = FP) -> tuple[np.ndarray, np.ndarray]:
    pages = list(catalog.iter_vectors(fingerprint))
    if not pages:
        return np.zeros(0, np.int64), np.zeros((0, DIM), np.float32)
    ids = np.concatenate([p[0] for p in pages])
    vectors = np.concatenate([p[1] for p in pages])
    return ids, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def recall_at_k(catalog: Catalog, index, queries: np.ndarray, k: int = 10) -> float:
    ids, vectors = all_vectors(catalog)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    truth = ids[np.argsort(-(q @ vectors.T), axis=1)[:, :k]]
    got, _ = index.search(queries, k)
    return float(np.mean([len(set(t) & set(g)) / k for t, g in zip(truth.tolist(), got.tolist())]))


@pytest.fixture
def catalog(tmp_path):
    cat = Catalog.open(tmp_path / "lib")
    yield cat
    cat.close()
