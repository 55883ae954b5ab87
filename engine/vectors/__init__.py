"""The ANN index over segment vectors (hnswlib): a cache rebuilt and repaired from the catalog."""
from __future__ import annotations

from engine.vectors.index import INDEX_FILE, MANIFEST_FILE, HnswParams, VectorIndex, VectorSource
from engine.vectors.manifest import Manifest

__all__ = ["INDEX_FILE", "MANIFEST_FILE", "HnswParams", "Manifest", "VectorIndex", "VectorSource"]
