"""Numpy arrays to and from the embeddings table's blobs.

Shapes are not stored: D comes from the float32 vector, T from the uint8 mask,
K from the clip-token blob's length over D.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from engine.catalog.records import SegmentLike
from engine.errors import DimensionMismatch


def pack_embedding(seg: SegmentLike) -> tuple[bytes, bytes, bytes, bytes]:
    """(vector, clip_tokens, frame_tokens, frame_mask) blobs of one segment, shapes checked."""
    vector = np.ascontiguousarray(seg.vector, dtype=np.float32)
    clip_tokens = np.ascontiguousarray(seg.clip_tokens, dtype=np.float16)
    frame_tokens = np.ascontiguousarray(seg.frame_tokens, dtype=np.float16)
    frame_mask = np.ascontiguousarray(seg.frame_mask).astype(np.uint8)
    if vector.ndim != 1 or clip_tokens.ndim != 2 or frame_tokens.ndim != 2 or frame_mask.ndim != 1:
        raise DimensionMismatch(
            f"segment {seg.start:.2f}-{seg.end:.2f}s: expected vector [D], clip_tokens [K,D], frame_tokens "
            f"[T,D], frame_mask [T]; got {vector.shape}, {clip_tokens.shape}, {frame_tokens.shape}, "
            f"{frame_mask.shape}")
    d = vector.shape[0]
    if clip_tokens.shape[1] != d or frame_tokens.shape[1] != d or frame_tokens.shape[0] != frame_mask.shape[0]:
        raise DimensionMismatch(
            f"segment {seg.start:.2f}-{seg.end:.2f}s: vector has D={d} but clip_tokens {clip_tokens.shape}, "
            f"frame_tokens {frame_tokens.shape}, frame_mask {frame_mask.shape}; re-export the model bundle")
    return vector.tobytes(), clip_tokens.tobytes(), frame_tokens.tobytes(), frame_mask.tobytes()


def unpack_vectors(blobs: Sequence[bytes]) -> np.ndarray:
    """[N, D] float32 from N vector blobs of equal length."""
    if not blobs:
        return np.zeros((0, 0), np.float32)
    flat = np.frombuffer(bytearray(b"".join(blobs)), dtype=np.float32)   # writable copy
    return flat.reshape(len(blobs), -1)


def unpack_tokens(rows: Sequence[tuple[bytes, bytes, bytes, bytes]]) -> tuple[np.ndarray, ...]:
    """(vectors [N,D], clip_tokens [N,K,D], frame_tokens [N,T,D], frame_mask [N,T]) as float32.

    Rows with fewer frame tokens than the longest are padded with zeros and mask 0.
    """
    n = len(rows)
    if n == 0:
        empty = np.zeros((0,), np.float32)
        return empty.reshape(0, 0), empty.reshape(0, 0, 0), empty.reshape(0, 0, 0), empty.reshape(0, 0)
    vectors = unpack_vectors([r[0] for r in rows])
    d = vectors.shape[1]
    k = len(rows[0][1]) // (2 * d)
    t_max = max(len(r[3]) for r in rows)
    clip_tokens = np.empty((n, k, d), np.float32)
    frame_tokens = np.zeros((n, t_max, d), np.float32)
    frame_mask = np.zeros((n, t_max), np.float32)
    for i, (_vector, clip_blob, frame_blob, mask_blob) in enumerate(rows):
        if len(clip_blob) != 2 * k * d:
            raise DimensionMismatch(f"stored clip tokens of {len(clip_blob) // 2} values do not match K={k}, "
                                    f"D={d}; the catalog mixes two models: re-index the library")
        t = len(mask_blob)
        clip_tokens[i] = np.frombuffer(clip_blob, np.float16).reshape(k, d)
        frame_tokens[i, :t] = np.frombuffer(frame_blob, np.float16).reshape(t, d)
        frame_mask[i, :t] = np.frombuffer(mask_blob, np.uint8)
    return vectors, clip_tokens, frame_tokens, frame_mask
