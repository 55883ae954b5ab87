"""Learning-rate schedule and training-config files."""
from __future__ import annotations

import json

import pytest

from engine.model.schedule import lr_factor, training_progress
from engine.model.train_config import (
    CONFIG_DIR, TrainConfig, TrainConfigError, load_train_config, resolve_config_path,
)


def test_warmup_is_linear_then_cosine_to_zero():
    assert lr_factor(0.0, 0.1) == 0.0
    assert lr_factor(0.05, 0.1) == pytest.approx(0.5)
    assert lr_factor(0.1, 0.1) == pytest.approx(1.0)
    assert lr_factor(0.55, 0.1) == pytest.approx(0.5)       # half way through the cosine
    assert lr_factor(1.0, 0.1) == pytest.approx(0.0)
    assert lr_factor(1.0, 0.1, final_factor=0.1) == pytest.approx(0.1)
    assert lr_factor(0.3, 0.0) < 1.0


def test_progress_follows_the_closer_bound():
    assert training_progress(10, 100, 0.0, None) == pytest.approx(0.1)
    assert training_progress(10, 100, 30.0, 60.0) == pytest.approx(0.5)     # the budget binds
    assert training_progress(90, 100, 30.0, 60.0) == pytest.approx(0.9)
    assert training_progress(200, 100, 0.0, None) == 1.0


def test_config_file_roundtrip_and_relative_paths(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "train_x.json"
    path.write_text(json.dumps({"comment": "a test", "stack": "plain", "steps": 5, "batch_size": 4, "seed": 7,
                                "data": {"kind": "annotations", "annotations": "../ann.json"},
                                "export_after": "../bundles/x", "init_from": "../runs/still"}))
    cfg = load_train_config(path)
    assert cfg.seed == 7 and cfg.steps == 5 and cfg.name == "train_x"
    assert cfg.data.annotations == str((tmp_path / "ann.json").resolve())
    # where the bundle goes does not depend on the folder training was started from
    assert cfg.export_after == str((tmp_path / "bundles" / "x").resolve())
    assert cfg.init_from == str((tmp_path / "runs" / "still").resolve())
    assert TrainConfig.from_dict(cfg.to_dict()).to_dict() == cfg.to_dict()
    assert cfg.total_steps(n_clips=100) == 5
    cfg.steps, cfg.epochs = None, 2
    assert cfg.total_steps(n_clips=100) == 50


@pytest.mark.parametrize("data, message", [
    ({"lr_heads": 0}, "lr_heads"),
    ({"batch_size": 1}, "batch_size"),
    ({"warmup_fraction": 1.0}, "warmup_fraction"),
    ({"learning_rate": 1e-3}, "unknown key"),
    ({"data": {"kind": "webvid"}}, "data kind"),
    ({"data": {"kind": "annotations"}}, "needs \"annotations\""),
    ({"data": {"kind": "shapes", "still": True, "order_pairs": 10}}, "still"),
    ({"data": {"kind": "shapes", "still_places": True}}, "still_places"),
])
def test_bad_configs_name_the_problem(data, message):
    with pytest.raises(TrainConfigError, match=message):
        TrainConfig.from_dict(data)


def test_bundled_configs_load():
    names = sorted(p.stem for p in CONFIG_DIR.glob("train_*.json"))
    assert {"train_shapes_full", "train_shapes_plain"} <= set(names)
    for name in names:
        cfg = load_train_config(name)
        assert cfg.time_budget_minutes is None or cfg.time_budget_minutes <= 60
    full, plain = load_train_config("shapes_full"), load_train_config("shapes_plain")
    # the demo comparison: same data, batches and schedule; only the stack differs, and the step counts,
    # fixed (so a rerun reproduces the weights) at what each stack does in the same time side by side
    assert full.stack != plain.stack
    differing = {k for k, v in full.to_dict().items() if plain.to_dict()[k] != v}
    assert differing <= {"stack", "name", "source", "export_after", "steps"}
    assert full.steps and plain.steps and plain.steps > full.steps and full.time_budget_minutes is None
    root = CONFIG_DIR.parent.parent.parent
    assert full.export_after == str((root / "assets" / "models" / "clipseek-shapes").resolve())
    # both start from `make train-layout`: the towers `make train-still` pre-trains on still frames, frozen
    # there while the frame layout learns on the same stills
    still, layout = load_train_config("shapes_still"), load_train_config("shapes_layout")
    assert still.data.still and still.export_after is None and still.init_from is None
    assert layout.data == still.data and layout.lr_backbone == 0 and layout.export_after is None
    assert layout.init_from == str((root / "build" / "train" / "still").resolve())
    assert full.init_from == str((root / "build" / "train" / "layout").resolve())


def test_unknown_config_name_lists_the_known_ones():
    with pytest.raises(TrainConfigError, match="train_shapes_full"):
        resolve_config_path("nope")
