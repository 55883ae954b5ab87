from __future__ import annotations

import numpy as np
import pytest

from engine.catalog import Catalog, MediaInfo, SegmentRecord

D, K, T = 8, 2, 4
BACKENDS = ("sqlite", "postgresql")


def make_segments(n: int, seed: int = 0, t: int = T, start: float = 0.0) -> list[SegmentRecord]:
    rng = np.random.default_rng(seed)
    return [SegmentRecord(start=start + i, end=start + i + 1, thumbnail=f"/thumbs/{seed}_{i}.jpg", frame_count=t,
                          vector=rng.standard_normal(D).astype(np.float32),
                          clip_tokens=rng.standard_normal((K, D)).astype(np.float32),
                          frame_tokens=rng.standard_normal((t, D)).astype(np.float32),
                          frame_mask=np.ones(t, np.uint8))
            for i in range(n)]


MEDIA = MediaInfo(duration=12.5, fps=25.0, width=640, height=360, rotation=90)


@pytest.fixture(params=BACKENDS)
def catalog_url(request) -> str | None:
    """Where the test's catalog lives: None for catalog.sqlite, else a fresh PostgreSQL database."""
    return request.getfixturevalue("postgres_url") if request.param == "postgresql" else None


@pytest.fixture
def open_catalog(tmp_path, catalog_url):
    """Opens the test's catalog (again: each call is another connection pool, like another process)."""
    opened: list[Catalog] = []

    def open_(**kwargs) -> Catalog:
        cat = Catalog.open(tmp_path / "lib", url=catalog_url, **kwargs)
        opened.append(cat)
        return cat

    yield open_
    for cat in opened:
        cat.close()


@pytest.fixture
def catalog(open_catalog):
    return open_catalog()


@pytest.fixture
def sqlite_catalog(tmp_path):
    cat = Catalog.open(tmp_path / "lib")
    yield cat
    cat.close()


@pytest.fixture
def folder(catalog, tmp_path):
    return catalog.add_folder(tmp_path / "videos")
