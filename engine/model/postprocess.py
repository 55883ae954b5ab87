"""Score post-processing used in evaluation (methods.md §11): dual softmax (DSL) and QB-Norm.

Both work on a ``[n_queries, n_gallery]`` score matrix and return one of the same shape, to be ranked row by row.
"""
from __future__ import annotations

import numpy as np


def dual_softmax(sim: np.ndarray, query_axis: int = 0, temperature: float = 100.0) -> np.ndarray:
    """CAMoE's dual softmax: ``S * softmax(temperature * S, axis=query_axis)``.

    It renormalises each gallery item over the whole set of test queries, so it is transductive: it needs all
    queries at once and cannot score a single live query. For text-to-video on ``[captions, videos]`` the
    query axis is 0 (T-MASS ``sims * softmax(sims*100, axis=0)``); for video-to-text it is 1.
    """
    sim = np.asarray(sim, dtype=np.float64)
    return sim * _softmax(temperature * sim, axis=query_axis)


def qb_norm(sim: np.ndarray, bank_sim: np.ndarray, beta: float = 20.0, k: int = 1, theta: int = 1) -> np.ndarray:
    """Querybank normalisation with the dynamic inverted softmax (Bogolin et al., CVPR 2022).

    ``bank_sim`` [M, G] scores a bank of training queries against the same gallery. A gallery item is a hub
    when at least ``theta`` bank queries have it in their top ``k``. Rows of ``sim`` whose top-1 is a hub are
    replaced by ``beta*s_ij - log(sum_q exp(beta*s_qj))`` (the log of the inverted softmax: same order, no
    overflow); the other rows are kept as they are. Rows are ranked independently, so mixing is sound.
    """
    sim = np.asarray(sim, dtype=np.float64)
    bank_sim = np.asarray(bank_sim, dtype=np.float64)
    if bank_sim.ndim != 2 or bank_sim.shape[1] != sim.shape[1] or bank_sim.shape[0] == 0:
        raise ValueError(f"the query bank must score the same {sim.shape[1]} gallery items; got {bank_sim.shape}")
    top_k = np.argsort(-bank_sim, axis=1, kind="stable")[:, :k].reshape(-1)
    hub_counts = np.bincount(top_k, minlength=sim.shape[1])
    hubs = hub_counts >= theta
    log_normaliser = logsumexp(beta * bank_sim, axis=0)          # [G]
    out = sim.copy()
    rows = hubs[np.argmax(sim, axis=1)]
    out[rows] = beta * sim[rows] - log_normaliser[None, :]
    return out


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    peak = x.max(axis=axis, keepdims=True)
    return (peak + np.log(np.exp(x - peak).sum(axis=axis, keepdims=True))).squeeze(axis)
