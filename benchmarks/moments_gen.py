"""Synthetic CLIP-like moment embeddings for the search benchmark.

Real CLIP ViT-B-32 image embeddings of video moments are not spread evenly over the sphere:
  * they sit in a narrow cone: a shared mean direction, so two unrelated moments still have a
    cosine of about 0.4-0.5;
  * most of their variance lives in a few dozen directions (low intrinsic dimension), and is
    clustered by subject (beaches, kitchens, faces, screens, ...);
  * moments of one video are near each other and drift slowly along the video;
  * text queries sit in their own cone (the modality gap): query-moment cosines of a good match
    are only ~0.3-0.45, so a query is never close to any stored vector.
The generator below has each of these, with seeds per chunk so that any chunk can be made
again on its own (the catalog writer and the hnswlib builder run in two processes):

  vector = normalise(mu_image + centre[c] + video[v] + walk[v, s] + noise)
    mu_image     fixed unit vector (the cone): unrelated moments have a cosine of ~0.43
    centre[c]    one of CLUSTERS centres in an R=48-dimensional subspace, power-law spectrum, norm ~0.9
    video[v]     per video, in the same subspace, VIDEO_SPREAD x the centres' spread
    walk[v, s]   AR(1) drift along the video's segments (neighbours ~0.93 cosine, 50 apart ~0.83)
    noise        isotropic in all D dimensions, norm NOISE
  query = normalise(mu_text + QUERY_CONTENT x (centre + video + walk) + noise of norm QUERY_NOISE)
    for a random moment; mu_text has a cosine of TEXT_GAP with mu_image. The best match of a query
    scores ~0.44 (top 100 within ~0.06 of it), like CLIP's text-to-image scores.
Frame tokens are the moment's vector plus per-frame noise (T of them, fp16); the clip token
(K=1) is the vector; sizes are the real ViT-B-32 bundle's (T=12, K=1, D=512).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

D = 512
R = 48                 # intrinsic dimension of the content subspace
CLUSTERS = 2000
SEGMENTS_PER_VIDEO = 100
CHUNK = 10_000         # moments per generated chunk (a multiple of SEGMENTS_PER_VIDEO)
VIDEO_SPREAD = 0.5     # a video's offset from its cluster centre, relative to the centres' spread
WALK_SPREAD = 0.6      # how far a moment drifts from its video's mean, relative to the same
WALK_CORRELATION = 0.9 # between neighbouring moments of a video
NOISE = 0.35           # norm of the isotropic noise on a moment vector (content has norm ~1)
QUERY_NOISE = 0.8      # on a query
TEXT_GAP = 0.35        # cosine between the text cone's and the image cone's mean directions
QUERY_CONTENT = 0.7    # a caption describes part of what is on screen


@dataclass(frozen=True)
class Space:
    basis: np.ndarray      # [R, D] orthonormal rows
    scale: np.ndarray      # [R] power-law standard deviations
    centres: np.ndarray    # [CLUSTERS, R]
    mu_image: np.ndarray   # [D]
    mu_text: np.ndarray    # [D]


def make_space(seed: int = 0) -> Space:
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((D, R + 2)))
    basis = q[:, :R].T.astype(np.float32)
    scale = (1.0 / np.sqrt(np.arange(1, R + 1))).astype(np.float32)
    scale *= 0.9 / np.sqrt((scale ** 2).sum())
    centres = (rng.standard_normal((CLUSTERS, R)) * scale).astype(np.float32)
    mu_image = q[:, R].astype(np.float32)
    mu_text = q[:, R + 1].astype(np.float32) * np.sqrt(1 - TEXT_GAP ** 2) + mu_image * TEXT_GAP
    return Space(basis, scale, centres, mu_image, mu_text)


def _latent(space: Space, rng: np.random.Generator, n: int) -> np.ndarray:
    """[n, R] content coordinates of n moments in n / SEGMENTS_PER_VIDEO videos."""
    videos = n // SEGMENTS_PER_VIDEO
    cluster = rng.integers(0, CLUSTERS, videos)
    video = rng.standard_normal((videos, R)).astype(np.float32) * space.scale * VIDEO_SPREAD
    # The drift along a video: AR(1), neighbours correlate by WALK_CORRELATION, far segments less.
    steps = rng.standard_normal((videos, SEGMENTS_PER_VIDEO, R)).astype(np.float32) * space.scale * WALK_SPREAD
    walk = np.empty_like(steps)
    walk[:, 0] = steps[:, 0]
    keep = np.sqrt(1 - WALK_CORRELATION ** 2)
    for s in range(1, SEGMENTS_PER_VIDEO):
        walk[:, s] = WALK_CORRELATION * walk[:, s - 1] + keep * steps[:, s]
    latent = space.centres[cluster][:, None, :] + video[:, None, :] + walk
    return latent.reshape(n, R)


def _normalise(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def vectors(space: Space, chunk: int) -> np.ndarray:
    """[CHUNK, D] float32 unit moment vectors of chunk number ``chunk``."""
    rng = np.random.default_rng(1_000_003 + chunk)
    latent = _latent(space, rng, CHUNK)
    noise = rng.standard_normal((CHUNK, D)).astype(np.float32) * (NOISE / np.sqrt(D))
    return _normalise(space.mu_image + latent @ space.basis + noise)


def frame_tokens(vecs: np.ndarray, chunk: int, t: int = 12) -> np.ndarray:
    """[n, T, D] float16: each moment's vector plus per-frame noise."""
    rng = np.random.default_rng(7_000_001 + chunk)
    bank = rng.standard_normal((4096, D)).astype(np.float32) * (0.25 / np.sqrt(D))
    picks = rng.integers(0, len(bank), (len(vecs), t))
    return (vecs[:, None, :] + bank[picks]).astype(np.float16)


def queries(space: Space, n: int, seed: int = 99) -> np.ndarray:
    """[n, D] text-like query vectors: a random moment's content seen from the text cone."""
    rng = np.random.default_rng(seed)
    latent = _latent(space, rng, SEGMENTS_PER_VIDEO * n)[::SEGMENTS_PER_VIDEO][:n]
    noise = rng.standard_normal((n, D)).astype(np.float32) * (QUERY_NOISE / np.sqrt(D))
    return _normalise(space.mu_text + QUERY_CONTENT * latent @ space.basis + noise)
