"""The training recipe as data: ``TrainConfig`` read from ``engine/model/configs/train_*.json``.

Defaults follow the CLIP4Clip-family recipe (methods.md §2.2): warm-up 0.1, weight decay 0.2, separate
learning rates for the backbone and the new heads. Paths inside a config file are relative to that file.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from engine.errors import ClipSeekError

CONFIG_DIR = Path(__file__).parent / "configs"
DATA_KINDS = ("shapes", "annotations")


class TrainConfigError(ClipSeekError):
    """A training configuration file is missing, unreadable or holds a bad value."""


@dataclass
class DataSource:
    kind: str = "shapes"               # "shapes" (rendered on the fly) or "annotations" (a JSON file, data.py)
    annotations: str | None = None     # annotations: path of the file
    split: str | None = None           # annotations: keep only entries with this "split"
    seed: int = 0                      # shapes: generator seed (train and eval use different seeds)
    clips: int = 1000                  # shapes: number of clips rendered
    temporal_fraction: float = 0.3     # shapes: share of clips that are two shots with an "A, then B" caption
    order_pairs: int = 0               # extra "A, then B" / "B, then A" pairs built from the same frames
    still: bool = False                # shapes: still frames captioned "a {size} {color} {shape}" (pre-training)
    still_places: bool = False         # still: the caption also says where, in thirds ("... at the top left")
    cache_dir: str | None = None       # pixel cache; default: <out_dir>/cache

    def validate(self, where: str) -> DataSource:
        if self.kind not in DATA_KINDS:
            raise TrainConfigError(f"{where}: data kind {self.kind!r} is unknown; choose one of {DATA_KINDS}")
        if self.kind == "annotations" and not self.annotations:
            raise TrainConfigError(f"{where}: kind \"annotations\" needs \"annotations\": the path of the file")
        if self.kind == "shapes" and self.clips < 2:
            raise TrainConfigError(f"{where}: shapes data needs at least 2 clips, not {self.clips}")
        if self.still_places and not self.still:
            raise TrainConfigError(f"{where}: \"still_places\" needs \"still\": true")
        if self.still and (self.kind != "shapes" or self.order_pairs):
            raise TrainConfigError(f"{where}: \"still\" is for shapes data without order_pairs")
        if not 0.0 <= self.temporal_fraction <= 1.0:
            raise TrainConfigError(f"{where}: temporal_fraction must be within 0..1, not {self.temporal_fraction}")
        return self


@dataclass
class TrainConfig:
    stack: str = "full"                # StackConfig name (engine/model/configs) or path of its JSON
    data: DataSource = field(default_factory=DataSource)
    eval_data: DataSource | None = None  # scored after training (eval.json); None = no evaluation
    epochs: float | None = None        # length of the run in passes over the data ...
    steps: int | None = None           # ... or in optimizer steps (steps wins when both are set)
    batch_size: int = 32
    hard_negative_groups: int = 0      # per batch: clips that each bring caption neighbours (data.caption_neighbours)
    hard_negative_group_size: int = 4  # clips per such group, the anchor included
    mirror_probability: float = 0.0    # shapes data: share of batches flipped left to right (model/augment.py)
    reverse_probability: float = 0.0   # shapes data: share of batches played backwards where the world allows
    lr_backbone: float = 1e-4          # open_clip towers (0 freezes them; frame features are then cached)
    lr_heads: float = 1e-3             # method heads, prompts, logit scale
    warmup_fraction: float = 0.1       # of the run, linear from 0; cosine decay after
    head_warmup_fraction: float = 0.0  # of the run: every loss but stage 1's ramps in from 0 over this part
    weight_decay: float = 0.2          # on matrices only; biases, norms and scales get none
    clip_norm: float = 1.0             # gradient clipping (global L2 norm); 0 disables
    seed: int = 0
    time_budget_minutes: float | None = None  # stop (and decay the learning rate) by this wall-clock budget
    checkpoint_every: int = 200        # steps between checkpoints; one is always written at the end
    log_every: int = 10                # steps between loss-log lines
    caption_bank_every: int = 100      # steps between refreshes of the VTC caption bank (training captions)
    sample_fps: float = 2.0            # frames per second taken from videos, as indexing does
    threads: int = 0                   # torch CPU threads; 0 = torch's default
    export_after: str | None = None    # write a model bundle here when training ends
    init_from: str | None = None       # checkpoint.pt (or run folder) of an earlier run: its backbone starts this one
    name: str = ""                     # bundle / run name; default: the config file's stem
    source: str = ""                   # the file this was read from (filled in by load)

    def total_steps(self, n_clips: int) -> int:
        if self.steps:
            return int(self.steps)
        per_epoch = max(1, n_clips // self.batch_size)
        return max(1, round(float(self.epochs or 1.0) * per_epoch))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "config") -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TrainConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}")
        values = dict(data)
        values["data"] = _data_source(values.get("data", {}), f"{where} data")
        if values.get("eval_data") is not None:
            values["eval_data"] = _data_source(values["eval_data"], f"{where} eval_data")
        try:
            cfg = cls(**values)
        except TypeError as exc:
            raise TrainConfigError(f"{where}: {exc}") from exc
        return cfg.validate(where)

    def validate(self, where: str = "config") -> TrainConfig:
        checks = [
            (self.batch_size >= 2, f"batch_size must be at least 2 (contrastive needs negatives), not {self.batch_size}"),
            (self.lr_backbone >= 0 and self.lr_heads > 0, "lr_heads must be > 0 and lr_backbone >= 0"),
            (0 <= self.warmup_fraction < 1, f"warmup_fraction must be within [0, 1), not {self.warmup_fraction}"),
            (0 <= self.head_warmup_fraction < 1,
             f"head_warmup_fraction must be within [0, 1), not {self.head_warmup_fraction}"),
            (self.weight_decay >= 0 and self.clip_norm >= 0, "weight_decay and clip_norm must be >= 0"),
            (0 <= self.hard_negative_groups * self.hard_negative_group_size <= self.batch_size
             and self.hard_negative_group_size >= 2,
             "hard_negative_groups x hard_negative_group_size must fit in batch_size, and groups hold at least 2"),
            (0 <= self.mirror_probability <= 1 and 0 <= self.reverse_probability <= 1,
             "mirror_probability and reverse_probability must be within 0..1"),
            (self.data.kind == "shapes" or not (self.mirror_probability or self.reverse_probability),
             "mirror_probability and reverse_probability rewrite shapes-world captions; "
             "they need data of kind \"shapes\""),
            (self.steps is None or self.steps > 0, f"steps must be positive, not {self.steps}"),
            (self.epochs is None or self.epochs > 0, f"epochs must be positive, not {self.epochs}"),
            (self.time_budget_minutes is None or self.time_budget_minutes > 0, "time_budget_minutes must be > 0"),
            (min(self.checkpoint_every, self.log_every, self.caption_bank_every) > 0,
             "checkpoint_every, log_every and caption_bank_every must be > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise TrainConfigError(f"{where}: {message}")
        return self


def _data_source(value: Any, where: str) -> DataSource:
    if isinstance(value, DataSource):
        return value.validate(where)
    if not isinstance(value, dict):
        raise TrainConfigError(f"{where}: expected an object, got {type(value).__name__}")
    known = {f.name for f in fields(DataSource)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise TrainConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}")
    return DataSource(**value).validate(where)


def resolve_config_path(name_or_path: str | Path) -> Path:
    """A path, or the name of a bundled config: "shapes_full" or "train_shapes_full" -> configs/train_shapes_full.json."""
    path = Path(name_or_path)
    if path.suffix == ".json" or path.exists():
        return path
    stem = str(name_or_path)
    candidate = CONFIG_DIR / f"{stem if stem.startswith('train_') else 'train_' + stem}.json"
    if candidate.exists():
        return candidate
    known = sorted(p.stem for p in CONFIG_DIR.glob("train_*.json"))
    raise TrainConfigError(f"no training config {name_or_path!r}; give a JSON file or one of: {', '.join(known)}")


def load_train_config(name_or_path: str | Path) -> TrainConfig:
    """Read a config file; relative data and export paths become absolute against the file's folder."""
    path = resolve_config_path(name_or_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TrainConfigError(f"{path}: training config not found") from exc
    except (OSError, ValueError) as exc:
        raise TrainConfigError(f"{path}: not readable as JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise TrainConfigError(f"{path}: expected a JSON object")
    data.pop("comment", None)
    cfg = TrainConfig.from_dict(data, str(path))
    for source in (cfg.data, cfg.eval_data):
        if source is None:
            continue
        for key in ("annotations", "cache_dir"):
            value = getattr(source, key)
            if value and not Path(value).expanduser().is_absolute():
                setattr(source, key, str((path.parent / value).resolve()))
    for key in ("export_after", "init_from"):
        value = getattr(cfg, key)
        if value and not Path(value).expanduser().is_absolute():
            setattr(cfg, key, str((path.parent / value).resolve()))
    cfg.name = cfg.name or path.stem
    cfg.source = str(path.resolve())
    return cfg
