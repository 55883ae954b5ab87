"""Retrieval metrics against rankings computed by hand on small matrices."""
from __future__ import annotations

import numpy as np
import pytest

from engine.model.metrics import (
    pairwise_order_accuracy, ranks_of_targets, retrieval_metrics, summarize_ranks, video_to_caption_group_sim,
)


def test_ranks_one_caption_per_video():
    sim = np.array([
        [0.9, 0.1, 0.2],   # caption 0 -> video 0 ranked 1st
        [0.8, 0.3, 0.1],   # caption 1 -> video 1: 0.8 beats it -> 2nd
        [0.5, 0.6, 0.4],   # caption 2 -> video 2: last -> 3rd
    ])
    assert ranks_of_targets(sim, np.array([0, 1, 2])).tolist() == [1, 2, 3]


def test_ties_count_against_the_ground_truth():
    sim = np.array([
        [0.5, 0.5, 0.5],   # all tied: worst rank 3
        [0.2, 0.7, 0.7],   # tied with one other: rank 2
        [0.1, 0.2, 0.9],   # clear: rank 1
    ])
    assert ranks_of_targets(sim, np.array([0, 1, 2])).tolist() == [3, 2, 1]


def test_summary_numbers_by_hand():
    ranks = np.array([1, 2, 6, 11, 1])
    out = summarize_ranks(ranks)
    assert out["R@1"] == pytest.approx(40.0)
    assert out["R@5"] == pytest.approx(60.0)
    assert out["R@10"] == pytest.approx(80.0)
    assert out["MdR"] == 2.0
    assert out["MnR"] == pytest.approx(21 / 5)
    assert out["queries"] == 5


def test_several_captions_per_video_t2v_and_v2t():
    # 3 videos; captions 0,1 -> video 0; caption 2 -> video 1; captions 3,4 -> video 2
    caption_video = np.array([0, 0, 1, 2, 2])
    sim = np.array([
        #  v0   v1   v2
        [0.9, 0.2, 0.1],   # c0 (v0): rank 1
        [0.3, 0.4, 0.2],   # c1 (v0): rank 2
        [0.6, 0.5, 0.7],   # c2 (v1): rank 3
        [0.1, 0.8, 0.3],   # c3 (v2): rank 2
        [0.2, 0.1, 0.6],   # c4 (v2): rank 1
    ])
    # video-to-text: group score = max over a video's captions, per query video
    # query v0: group0 = max(.9,.3)=.9, group1 = .6, group2 = max(.1,.2)=.2 -> rank 1
    # query v1: group0 = max(.2,.4)=.4, group1 = .5, group2 = max(.8,.1)=.8 -> rank 2
    # query v2: group0 = max(.1,.2)=.2, group1 = .7, group2 = max(.3,.6)=.6 -> rank 2
    grouped = video_to_caption_group_sim(sim, caption_video)
    np.testing.assert_allclose(grouped, [[0.9, 0.6, 0.2], [0.4, 0.5, 0.8], [0.2, 0.7, 0.6]])
    out = retrieval_metrics(sim, caption_video)
    assert out["t2v"]["queries"] == 5
    assert out["t2v"]["R@1"] == pytest.approx(40.0)          # ranks 1,2,3,2,1
    assert out["t2v"]["MdR"] == 2.0
    assert out["t2v"]["MnR"] == pytest.approx(9 / 5)
    assert out["v2t"]["queries"] == 3
    assert out["v2t"]["R@1"] == pytest.approx(100 / 3)       # ranks 1,2,2
    assert out["v2t"]["MnR"] == pytest.approx(5 / 3)
    assert out["v2t"]["R@5"] == 100.0


def test_video_without_caption_is_refused():
    with pytest.raises(ValueError, match="video 1 has no caption"):
        retrieval_metrics(np.zeros((2, 2)), np.array([0, 0]))


def test_layout_mismatch_is_refused():
    with pytest.raises(ValueError, match="n_captions"):
        retrieval_metrics(np.zeros((3, 2)), np.array([0, 1]))


def test_order_accuracy_counts_ties_as_half():
    assert pairwise_order_accuracy(np.array([1.0, 0.2, 0.5, 0.3]), np.array([0.0, 0.4, 0.5, 0.3])) == 0.5
    assert pairwise_order_accuracy(np.array([2.0, 3.0]), np.array([1.0, 1.0])) == 1.0


def test_order_accuracy_treats_last_bit_differences_as_ties():
    assert pairwise_order_accuracy(np.array([0.3 + 1e-9, 0.7]), np.array([0.3, 0.7 + 1e-9])) == 0.5
