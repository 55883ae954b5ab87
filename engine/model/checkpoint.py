"""Training checkpoints: one ``checkpoint.pt`` per run folder, written atomically.

A checkpoint records everything needed to rebuild the model without the run folder (the stack config
itself, not only its name), to resume exactly (optimizer, step, elapsed time, RNG states), and to know
how it was made (the training config and seed).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.errors import ClipSeekError
from engine.model.load_failure import load_failure
from engine.util.atomic import atomic_write_bytes

FORMAT = "clipseek-checkpoint"
VERSION = 1
FILE_NAME = "checkpoint.pt"


class CheckpointError(ClipSeekError):
    """A checkpoint is missing, unreadable or not a ClipSeek checkpoint."""


@dataclass
class Checkpoint:
    model_state: dict[str, torch.Tensor]
    stack_config: dict[str, Any]       # the StackConfig as a dict (rebuilds the architecture)
    train_config: dict[str, Any]       # the TrainConfig as a dict (seed included)
    step: int
    elapsed_seconds: float
    finished: bool
    caption_bank: dict[str, Any] | None = None   # VTC: {"embeddings": [M,D], "captions": [...], "video_ids": [M]}
    optimizer_state: dict[str, Any] | None = None
    rng_state: dict[str, Any] | None = None

    @property
    def seed(self) -> int:
        return int(self.train_config.get("seed", 0))

    def to_payload(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, **self.__dict__}


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    buffer = io.BytesIO()
    torch.save(checkpoint.to_payload(), buffer)
    atomic_write_bytes(Path(path), buffer.getvalue())


def load_checkpoint(path: Path) -> Checkpoint:
    path = Path(path)
    if path.is_dir():
        path = path / FILE_NAME
    if not path.exists():
        raise CheckpointError(f"{path}: no checkpoint here; train first (`clipseek train --config FILE`)")
    try:
        # weights_only: a checkpoint is data; unpickling arbitrary objects would run code from the file.
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a torn, foreign or code-carrying file
        raise CheckpointError(f"{path}: unreadable checkpoint ({load_failure(exc)})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a ClipSeek training checkpoint")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {payload.get('version')} is not {VERSION}; "
                              "retrain with this version of ClipSeek")
    payload = {k: v for k, v in payload.items() if k not in ("format", "version")}
    return Checkpoint(**payload)


def build_from_checkpoint(checkpoint: Checkpoint):
    """The trained model, in eval mode, with its caption bank restored."""
    from engine.model.stack import StackConfig, build_model

    model = build_model(StackConfig.from_dict(checkpoint.stack_config))
    if checkpoint.caption_bank is not None:
        bank = checkpoint.caption_bank
        model.set_caption_bank(bank["embeddings"], list(bank["captions"]), bank.get("video_ids"))
    model.load_state_dict(checkpoint.model_state, strict=True)
    return model.eval()


def load_trained_model(path: Path):
    """``(model, checkpoint)`` from a run folder or a checkpoint file."""
    checkpoint = load_checkpoint(path)
    return build_from_checkpoint(checkpoint), checkpoint
