"""The trainer: loss log, checkpoint with config and seed, exact resume, refusals, budget."""
from __future__ import annotations

import json

import pytest
import torch

from engine.model.checkpoint import load_checkpoint, load_trained_model
from engine.model.train import TrainError, format_progress, train, training_record
from engine.model.train_config import TrainConfig

pytestmark = pytest.mark.slow


def _config(**overrides) -> TrainConfig:
    values = {"stack": "stack_plain", "steps": 4, "batch_size": 4, "seed": 5, "log_every": 1,
              "checkpoint_every": 2, "lr_backbone": 1e-3, "lr_heads": 1e-3,
              "data": {"kind": "shapes", "clips": 10, "seed": 3, "order_pairs": 2}}
    values.update(overrides)
    return TrainConfig.from_dict(values)


class _Stop(Exception):
    pass


def test_interrupted_run_resumes_to_the_same_weights(tmp_path):
    straight = train("", tmp_path / "straight", config=_config())
    lines = [json.loads(line) for line in straight.log.read_text().splitlines()]
    assert [line["step"] for line in lines] == [1, 2, 3, 4]
    assert {"total", "stage1_nce", "grad_norm", "lr_backbone", "seconds"} <= set(lines[0])

    def stop_after_three(progress):
        if progress.step == 3:
            raise _Stop

    with pytest.raises(_Stop):
        train("", tmp_path / "cut", config=_config(), progress=stop_after_three)
    partial = load_checkpoint(tmp_path / "cut")
    assert partial.step == 2 and not partial.finished
    with pytest.raises(TrainError, match="resume"):
        train("", tmp_path / "cut", config=_config())
    resumed = train("", tmp_path / "cut", config=_config(), resume=True)
    assert resumed.steps == 4
    assert [json.loads(line)["step"] for line in resumed.log.read_text().splitlines()] == [1, 2, 3, 4]

    a, b = load_checkpoint(straight.checkpoint), load_checkpoint(resumed.checkpoint)
    assert a.finished and b.finished and a.seed == 5 and a.train_config["stack"] == "stack_plain"
    assert a.stack_config["name"] == "clipseek-plain"
    for key, value in a.model_state.items():
        torch.testing.assert_close(value, b.model_state[key], msg=key)
    with pytest.raises(TrainError, match="already finished"):
        train("", tmp_path / "cut", config=_config(), resume=True)
    model, _ = load_trained_model(tmp_path / "straight")
    assert not model.training


def test_wall_clock_budget_stops_the_run_and_says_so(tmp_path):
    seen = []
    result = train("", tmp_path / "run", config=_config(steps=10_000, time_budget_minutes=0.05),
                   progress=lambda p: seen.append(format_progress(p)))
    assert result.stopped_by_budget and 0 < result.steps < 10_000
    assert load_checkpoint(result.checkpoint).finished
    assert seen[0].startswith("[data]") and seen[-1].startswith("[done]")
    assert any(line.startswith("[#") or line.startswith("[-") for line in seen)


def test_a_run_can_start_from_an_earlier_runs_backbone(tmp_path):
    from engine.model.stack import StackConfig, build_model
    from engine.model.train import _start_from

    still = _config(steps=2, data={"kind": "shapes", "clips": 12, "seed": 3, "still": True})
    first = train("", tmp_path / "still", config=still)
    model = build_model(StackConfig.from_json("stack_plain"))
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    assert _start_from(model, tmp_path / "still") == first.checkpoint
    earlier = load_checkpoint(first.checkpoint).model_state
    backbone = [k for k in fresh if k.startswith("clip.")]
    assert backbone
    for key in backbone:
        torch.testing.assert_close(model.state_dict()[key], earlier[key], msg=key)
    assert any(not torch.equal(fresh[k], earlier[k]) for k in backbone)   # training moved them

    second = train("", tmp_path / "video", config=_config(init_from=str(tmp_path / "still")))
    assert json.loads((second.out_dir / "config.json").read_text())["init_from"] == str(tmp_path / "still")
    record = training_record(load_checkpoint(second.checkpoint))      # what bundle.json will say
    assert record["steps"] == 4 and record["started_from"]["steps"] == 2
    assert record["started_from"]["config"]["data"]["still"] is True

    # the optimiser held the rows of the token table that the captions use, not the whole table
    table = next(v for k, v in earlier.items() if k.endswith("token_embedding.weight"))
    moments = [s["exp_avg"] for s in load_checkpoint(second.checkpoint).optimizer_state["state"].values()]
    assert moments and all(m.shape != table.shape for m in moments)
    assert any(m.shape[1:] == table.shape[1:] and m.shape[0] < 200 for m in moments)


def test_the_layout_stage_trains_the_layout_alone_and_init_from_hands_on_both(tmp_path):
    from engine.model.stack import StackConfig, build_model
    from engine.model.train import _start_from

    assert StackConfig.from_json("stack_shapes_still_layout").layout == StackConfig.from_json("stack_shapes").layout
    assert not StackConfig.from_json("stack_shapes_still").layout.enabled
    data = {"kind": "shapes", "clips": 12, "seed": 3, "still": True, "still_places": True}
    still = train("", tmp_path / "still", config=_config(stack="stack_shapes_still", steps=2, data=data))
    with_layout = train("", tmp_path / "layout", config=_config(
        stack="stack_shapes_still_layout", steps=2, lr_backbone=0.0, lr_heads=1e-2, data=data,
        init_from=str(tmp_path / "still")))
    before = load_checkpoint(still.checkpoint).model_state
    after = load_checkpoint(with_layout.checkpoint).model_state
    towers = [k for k in before if k.startswith("clip.")]
    assert towers and all(torch.equal(before[k], after[k]) for k in towers)   # lr_backbone 0: frozen
    layout = [k for k in after if k.startswith("layout.")]
    assert layout and not any(k.startswith("layout.") for k in before)
    lines = [json.loads(line) for line in with_layout.log.read_text().splitlines()]
    assert all(line["grad_norm"] > 0 for line in lines)                      # the layout alone learned

    video = build_model(StackConfig.from_json("stack_shapes"))
    fresh = {k: v.clone() for k, v in video.state_dict().items()}
    _start_from(video, tmp_path / "layout")
    for key in towers + layout:
        torch.testing.assert_close(video.state_dict()[key], after[key], msg=key)
    heads = [k for k in fresh if k.startswith("temporal.")]
    assert heads and all(torch.equal(video.state_dict()[k], fresh[k]) for k in heads)   # heads start fresh


def test_a_run_with_nothing_to_train_is_refused_in_a_sentence(tmp_path):
    data = {"kind": "shapes", "clips": 8, "seed": 3, "still": True}
    with pytest.raises(TrainError, match="nothing to train"):
        train("", tmp_path / "frozen", config=_config(stack="stack_shapes_still", lr_backbone=0.0, data=data))


def test_init_from_refuses_an_unfinished_run_and_another_backbone(tmp_path):
    from engine.model.stack import StackConfig, build_model
    from engine.model.train import _start_from

    def stop_after_three(progress):
        if progress.step == 3:
            raise _Stop

    with pytest.raises(_Stop):
        train("", tmp_path / "cut", config=_config(), progress=stop_after_three)
    model = build_model(StackConfig.from_json("stack_plain"))
    with pytest.raises(TrainError, match="not finished"):
        _start_from(model, tmp_path / "cut")
    with pytest.raises(TrainError, match="no checkpoint"):
        _start_from(model, tmp_path / "nowhere")
    other = train("", tmp_path / "other", config=_config(stack="stack_shapes_still", steps=1,
                                                          data={"kind": "shapes", "clips": 8, "seed": 3, "still": True}))
    with pytest.raises(TrainError, match="clipseek-shapes"):
        _start_from(model, other.out_dir)


def test_time_reversal_negatives_reach_the_loss_log_from_the_shapes_data(tmp_path):
    from engine.model.stack import StackConfig

    stack = StackConfig.from_json("stack_full").to_dict()
    stack.update(frames_per_clip=4, reversal={"enabled": True, "weight": 1.0})
    (tmp_path / "stack.json").write_text(json.dumps(stack))
    result = train("", tmp_path / "run", config=_config(stack=str(tmp_path / "stack.json"), steps=2))
    lines = [json.loads(line) for line in result.log.read_text().splitlines()]
    # shapes clips mark which captions their reversal contradicts; the order pairs all do
    assert all(line["reversal"] > 0 for line in lines)


def test_symmetry_augmented_runs_train_and_resume_to_the_same_weights(tmp_path):
    config = _config(mirror_probability=0.5, reverse_probability=0.5, steps=4)
    straight = train("", tmp_path / "straight", config=config)
    assert load_checkpoint(straight.checkpoint).train_config["mirror_probability"] == 0.5

    def stop_after_three(progress):
        if progress.step == 3:
            raise _Stop

    with pytest.raises(_Stop):
        train("", tmp_path / "cut", config=config, progress=stop_after_three)
    resumed = train("", tmp_path / "cut", config=config, resume=True)
    a, b = load_checkpoint(straight.checkpoint), load_checkpoint(resumed.checkpoint)
    for key, value in a.model_state.items():
        torch.testing.assert_close(value, b.model_state[key], msg=key)
    with pytest.raises(TrainError, match="frozen"):
        train("", tmp_path / "frozen", config=_config(mirror_probability=0.5, lr_backbone=0.0))


def test_optimiser_state_of_another_shape_is_refused_in_a_sentence(tmp_path):
    from engine.model.train import _check_optimizer_shapes

    table = torch.nn.Parameter(torch.zeros(10, 4))
    older = torch.optim.AdamW([table])
    table.grad = torch.ones_like(table)
    older.step()
    rows = torch.nn.Parameter(torch.zeros(3, 4))
    newer = torch.optim.AdamW([rows])
    newer.load_state_dict(older.state_dict())
    with pytest.raises(TrainError, match="older version of the trainer"):
        _check_optimizer_shapes(newer, tmp_path)
    _check_optimizer_shapes(older, tmp_path)
