"""Dual softmax and QB-Norm on small matrices."""
from __future__ import annotations

import numpy as np
import pytest

from engine.model.metrics import text_to_video_ranks
from engine.model.postprocess import dual_softmax, qb_norm


def test_dual_softmax_formula_and_effect():
    sim = np.array([[0.5, 0.6], [0.1, 0.7]])   # video 1 is a hub: both captions rank it first
    out = dual_softmax(sim, query_axis=0, temperature=10.0)
    col = np.exp(10 * sim) / np.exp(10 * sim).sum(axis=0, keepdims=True)
    np.testing.assert_allclose(out, sim * col)
    assert text_to_video_ranks(sim, np.array([0, 1])).tolist() == [2, 1]
    assert text_to_video_ranks(out, np.array([0, 1])).tolist() == [1, 1]


def test_dual_softmax_query_axis_one_is_the_transpose():
    sim = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_allclose(dual_softmax(sim, query_axis=1), dual_softmax(sim.T, query_axis=0).T)


def test_qb_norm_rescores_rows_whose_top1_is_a_hub():
    sim = np.array([[0.5, 0.6],     # top-1 is video 1, a hub -> normalised
                    [0.9, 0.2]])    # top-1 is video 0, not a hub -> kept
    bank = np.array([[0.1, 0.8], [0.2, 0.9], [0.3, 0.7]])   # every bank query picks video 1
    out = qb_norm(sim, bank, beta=5.0, k=1, theta=2)
    lse = np.log(np.exp(5.0 * bank).sum(axis=0))
    np.testing.assert_allclose(out[0], 5.0 * sim[0] - lse)
    np.testing.assert_allclose(out[1], sim[1])
    # the hub loses its pull: caption 0 (of video 0) now ranks video 0 first
    assert text_to_video_ranks(sim, np.array([0, 0])).tolist() == [2, 1]
    assert text_to_video_ranks(out, np.array([0, 0])).tolist() == [1, 1]


def test_qb_norm_theta_above_hub_count_changes_nothing():
    sim = np.array([[0.5, 0.6], [0.9, 0.2]])
    bank = np.array([[0.1, 0.8], [0.2, 0.9]])
    np.testing.assert_allclose(qb_norm(sim, bank, theta=3), sim)


def test_qb_norm_refuses_a_bank_of_another_gallery():
    with pytest.raises(ValueError, match="same 2 gallery items"):
        qb_norm(np.zeros((1, 2)), np.zeros((3, 4)))
