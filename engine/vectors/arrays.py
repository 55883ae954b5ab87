"""Shaping and normalising vectors on their way into and out of a vector store."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from engine.errors import DimensionMismatch


def as_matrix(values: np.ndarray, dim: int, what: str) -> np.ndarray:
    matrix = np.asarray(values, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2 or (matrix.shape[0] and matrix.shape[1] != dim):
        raise DimensionMismatch(f"{what} of shape {matrix.shape} offered to a {dim}-dimensional index; "
                                "the model and the index disagree: re-open the library with its model")
    return matrix


def normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / np.where(norms > 0, norms, 1.0), dtype=np.float32)


def label_set(ids: Iterable[int] | np.ndarray) -> set[int]:
    if isinstance(ids, np.ndarray):
        return set(ids.astype(np.int64).reshape(-1).tolist())
    return {int(i) for i in ids}


def no_hits(queries: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((queries, 0), np.int64), np.zeros((queries, 0), np.float32)
