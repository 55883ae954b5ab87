"""Evaluation: scoring variants, the application-like rerank depth, the order test, table and JSON."""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from engine.model.data import ClipSet, compose_order_pairs
from engine.model.evaluate import (
    EvaluationError, evaluate, evaluate_ablations, format_table, order_accuracy, score_matrix, write_results,
)


@dataclass
class _Rows:
    index: torch.Tensor        # [N] row ids into the fixed matrices


class _FixedScorer:
    """Stage-1 and stage-2 scores read from fixed matrices (text rows x video columns)."""

    def __init__(self, stage1: np.ndarray, stage2: np.ndarray):
        self.s1, self.s2 = torch.as_tensor(stage1), torch.as_tensor(stage2)

    def eval(self):
        return self

    def stage1_scores(self, text, video):
        return self.s1[text.index]

    def stage2_scores(self, text, video, frame_mask, drop_heads=frozenset()):
        return self.s2[text.index], {}


def test_rerank_depth_reorders_only_stage1_top_k():
    stage1 = np.array([[0.9, 0.8, 0.7, 0.1]])
    stage2 = np.array([[0.2, 0.5, 0.9, 1.0]])     # video 3 would win stage 2 but is outside stage 1's top 2
    model = _FixedScorer(stage1, stage2)
    text = _Rows(torch.arange(1))
    full = score_matrix(model, text, None, None, "full")
    np.testing.assert_allclose(full, stage2)
    depth2 = score_matrix(model, text, None, None, "full", rerank_depth=2)
    assert np.argsort(-depth2[0]).tolist() == [1, 0, 2, 3]   # top 2 reranked, the rest in stage-1 order
    np.testing.assert_allclose(depth2[0, :2], [0.2, 0.5])
    np.testing.assert_allclose(score_matrix(model, text, None, None, "stage1"), stage1)


@pytest.fixture(scope="module")
def plain_model():
    from engine.model.stack import StackConfig, build_model

    torch.manual_seed(0)
    return build_model(StackConfig.from_json("stack_plain")).eval()


def _clips(model, n: int, seed: int = 0) -> ClipSet:
    spec = model.export_spec()
    rng = np.random.default_rng(seed)
    T, S = spec.frames_per_clip, spec.image_size
    pixels = rng.integers(0, 256, size=(n, T, S, S, 3), dtype=np.uint8)
    mask = np.ones((n, T), bool)
    mask[0, T // 2:] = False
    captions = [[f"a red circle number {i}", f"clip {i}"] if i % 2 else [f"a blue star {i}"] for i in range(n)]
    return ClipSet(pixels, mask, captions)


def test_evaluate_reports_both_directions_and_writes_json(plain_model, tmp_path):
    clips = _clips(plain_model, 6)
    results = evaluate(plain_model, clips, stage="stage1")
    assert results["t2v"]["queries"] == 9 and results["v2t"]["queries"] == 6
    assert set(results["t2v"]) == {"R@1", "R@5", "R@10", "MdR", "MnR", "queries"}
    assert results["settings"]["stage"] == "stage1" and results["settings"]["captions"] == 9
    with_post = evaluate(plain_model, clips, dsl=True, qbnorm=True, query_bank=["a green square", "a blue star 1"])
    assert with_post["settings"]["dsl"] and with_post["settings"]["qbnorm"]
    table = format_table({"stage1": results, "full +DSL +QB": with_post})
    assert "stage1" in table and "full +DSL +QB" in table and "t2v R@1" in table
    write_results(results, tmp_path / "eval.json")
    assert json.loads((tmp_path / "eval.json").read_text())["t2v"]["queries"] == 9


def test_ablations_drop_each_head_from_one_encoding(plain_model):
    rows = evaluate_ablations(plain_model, _clips(plain_model, 4), heads=["max_mean"])
    assert list(rows) == ["full", "stage1", "full - max_mean"]
    assert rows["full - max_mean"]["settings"]["drop_heads"] == ["max_mean"]


def test_bad_requests_name_the_problem(plain_model):
    clips = _clips(plain_model, 3)
    with pytest.raises(EvaluationError, match="unknown stage"):
        evaluate(plain_model, clips, stage="stage3")
    with pytest.raises(EvaluationError, match="stage 1 has no heads"):
        evaluate(plain_model, clips, stage="stage1", drop_heads=["max_mean"])
    with pytest.raises(EvaluationError, match="query bank"):
        evaluate(plain_model, clips, qbnorm=True)


def test_mean_pooling_model_is_exactly_at_chance_on_reversed_order(plain_model):
    """Same frames, two orders: mean pooling and token max-mean cannot tell them apart, whatever the weights."""
    single = _clips(plain_model, 6, seed=1)
    single.frame_mask[:] = True
    pairs = compose_order_pairs(single, 5, np.random.default_rng(0))
    assert order_accuracy(plain_model, pairs, stage="stage1") == 0.5
    assert order_accuracy(plain_model, pairs, stage="full") == 0.5
