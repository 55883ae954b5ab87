"""Segment vector stores: caches of the catalog, rebuilt and repaired from it.

The built-in one is an hnswlib index in the library folder (VectorIndex); a shared one is a
Milvus collection (MilvusStore) that several processes use at once.
"""
from __future__ import annotations

from pathlib import Path

from engine.vectors.index import INDEX_FILE, MANIFEST_FILE, HnswParams, VectorIndex, VectorSource
from engine.vectors.manifest import Manifest
from engine.vectors.store import VectorStore

BUILT_IN = ("", "hnswlib")

__all__ = ["BUILT_IN", "INDEX_FILE", "MANIFEST_FILE", "HnswParams", "Manifest", "VectorIndex", "VectorSource",
           "VectorStore", "open_vector_store"]


def open_vector_store(spec: str | None, library_dir: Path, dim: int, fingerprint: str, catalog,
                      collection_prefix: str = "clipseek") -> VectorStore:
    """The vector store ``spec`` names: None, "" or "hnswlib" for the index in ``library_dir/vectors``;
    ``milvus://host:port``, ``http://host:port`` or a path ending in ``.db`` (Milvus Lite) for Milvus."""
    if spec is None or spec.strip().lower() in BUILT_IN:
        return VectorIndex.open(Path(library_dir) / "vectors", dim, fingerprint, catalog)
    from engine.vectors.milvus_store import MilvusStore

    return MilvusStore.open(spec, dim, fingerprint, catalog, collection_prefix=collection_prefix)
