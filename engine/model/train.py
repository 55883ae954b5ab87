"""``clipseek train``: fit a VideoTextModel to captioned clips.

    train(config_path, out_dir, resume=False, progress=None) -> TrainResult

AdamW with separate learning rates for the backbone and the heads, linear warm-up then cosine decay
(schedule.py), gradient clipping, seeds, a JSON-lines loss log, atomic checkpoints and exact resume. A
wall-clock budget ends the run early; the schedule then follows elapsed time, so the learning rate still
decays to zero by the end of the budget.

The run folder holds:
    checkpoint.pt     latest state (model, optimizer, step, elapsed time, RNG, train + stack config, seed)
    loss_log.jsonl    one JSON object per logged step: step, epoch, lr, loss terms, grad norm, seconds
    config.json       the training config as run (paths resolved)
    eval.json         retrieval metrics on eval_data, when the config has one
    cache/            uint8 pixel cache of sampled clips (unless the config names another folder)
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from engine.errors import ClipSeekError
from engine.model.augment import BatchVariant, SymmetryAugmenter
from engine.model.checkpoint import FILE_NAME, Checkpoint, load_checkpoint, load_trained_model, save_checkpoint
from engine.model.data import BatchPlan, ClipSet, caption_neighbours
from engine.model.datasets import clips_for_source
from engine.model.heads.reversal import reverse_frames
from engine.model.schedule import lr_factor, training_progress
from engine.model.tensors import Normalizer, encode_frames_batched, tokenize
from engine.model.token_rows import UsedTokenRows
from engine.model.train_config import TrainConfig, load_train_config
from engine.shapes.language import CaptionError
from engine.util.atomic import atomic_write_text

LOG_NAME = "loss_log.jsonl"


class TrainError(ClipSeekError):
    """Training cannot start or continue (a run folder in use, a diverged loss...)."""


@dataclass
class TrainProgress:
    """Reported to the ``progress`` callback: once per phase change and after every step."""
    phase: str                         # "data", "train", "eval", "export", "done"
    step: int = 0
    total_steps: int = 0
    epoch: float = 0.0
    loss: float | None = None
    lr_heads: float = 0.0
    elapsed_seconds: float = 0.0
    eta_seconds: float | None = None
    message: str = ""


@dataclass
class TrainResult:
    out_dir: Path
    checkpoint: Path
    steps: int
    elapsed_seconds: float
    stopped_by_budget: bool
    final_loss: float | None
    eval: dict | None = None
    bundle: Path | None = None
    log: Path = field(default=Path())


ProgressCallback = Callable[[TrainProgress], None]


def train(config_path: str | Path, out_dir: str | Path, resume: bool = False,
          progress: ProgressCallback | None = None, config: TrainConfig | None = None) -> TrainResult:
    """Train by the config file (or ``config``, already loaded) into ``out_dir``.

    ``resume=True`` continues from ``out_dir/checkpoint.pt`` (a fresh start when there is none yet);
    without it an out_dir that already holds a checkpoint is refused, so no run is overwritten by accident.
    """
    cfg = config if config is not None else load_train_config(config_path)
    out = Path(out_dir)
    report = progress or (lambda _p: None)
    previous = _previous_run(out, resume)
    if previous is not None and previous.finished:
        raise TrainError(f"{out}: this run already finished at step {previous.step}; "
                         "choose a new folder to train again")
    if previous is not None:
        cfg = TrainConfig.from_dict({k: v for k, v in previous.train_config.items()}, f"{out / FILE_NAME}")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "config.json", json.dumps(cfg.to_dict(), indent=2))

    _seed_everything(cfg.seed)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    from engine.model.stack import StackConfig, build_model

    stack_cfg = StackConfig.from_dict(previous.stack_config) if previous else StackConfig.from_json(cfg.stack)
    model = build_model(stack_cfg)
    if cfg.init_from:
        start = _start_from(model, Path(cfg.init_from)) if previous is None else _checkpoint_file(Path(cfg.init_from))
        model.weights_source = f"checkpoint:{start}"
    spec = model.export_spec()

    report(TrainProgress("data", message="preparing training clips"))
    clips = clips_for_source(cfg.data, spec.frames_per_clip, spec.image_size, cfg.sample_fps, resize=spec.resize,
                             cache_dir=_cache_dir(cfg.data.cache_dir, out))
    if len(clips) < cfg.batch_size:
        raise TrainError(f"{len(clips)} training clips are fewer than batch_size {cfg.batch_size}; "
                         "add data or lower batch_size")
    run = _Run(cfg, model, clips, out, report)
    if previous is not None:
        run.restore(previous)
    run.loop()
    result = run.finish()
    if cfg.eval_data is not None:
        report(TrainProgress("eval", step=run.step, total_steps=run.total_steps, message="evaluating"))
        result.eval = _evaluate_after(model, cfg, spec, out)
    if cfg.export_after:
        report(TrainProgress("export", step=run.step, total_steps=run.total_steps, message="exporting bundle"))
        result.bundle = _export(model, Path(cfg.export_after), training_record(load_checkpoint(result.checkpoint)))
    report(TrainProgress("done", step=run.step, total_steps=run.total_steps,
                         elapsed_seconds=run.elapsed(), loss=result.final_loss))
    return result


class _Run:
    """The optimisation loop and its state; one instance per call of ``train``."""

    def __init__(self, cfg: TrainConfig, model, clips: ClipSet, out: Path, report: ProgressCallback):
        self.cfg, self.model, self.clips, self.out, self.report = cfg, model, clips, out, report
        spec = model.export_spec()
        self.normalizer = Normalizer(spec.mean, spec.std)
        self.plan = BatchPlan(len(clips), cfg.batch_size, cfg.seed,
                              neighbours=caption_neighbours(clips.captions) if cfg.hard_negative_groups else None,
                              hard_groups=cfg.hard_negative_groups, group_size=cfg.hard_negative_group_size)
        self.total_steps = cfg.total_steps(len(clips))
        self.budget = cfg.time_budget_minutes * 60.0 if cfg.time_budget_minutes else None
        self.step = 0
        self.elapsed_before = 0.0
        self.started = time.monotonic()
        self.stopped_by_budget = False
        self.last_loss: float | None = None

        texts = sorted({c for caps in clips.captions for c in caps})
        self.augmenter = _augmenter(cfg, texts)
        self.bank_size = len(texts)          # the caption bank holds training captions, not rewritten ones
        texts += self.augmenter.variants() if self.augmenter else []
        self.caption_row = {c: i for i, c in enumerate(texts)}
        self.token_table = tokenize(model.tokenizer_model(), texts)

        groups = model.param_groups(cfg.lr_backbone, cfg.lr_heads)
        self.token_rows = UsedTokenRows.of(model, self.token_table)
        if self.token_rows is not None:
            groups = self.token_rows.substitute(groups)
        self.optimizer = torch.optim.AdamW(_decay_split(groups, cfg.weight_decay), betas=(0.9, 0.98), eps=1e-6)
        for group in self.optimizer.param_groups:
            group["base_lr"] = group["lr"]
        self.trainable = [p for g in self.optimizer.param_groups for p in g["params"]]

        owner = {}
        for clip, caps in enumerate(clips.captions):
            for c in caps:
                owner.setdefault(c, clip)
        self.caption_owner = torch.as_tensor([owner[c] for c in texts[:self.bank_size]])
        self.bank: dict | None = None          # VTC caption bank, refreshed as the text tower learns
        self.frame_features = self._frozen_frame_features()
        if not any(p.requires_grad for p in self.trainable):
            raise TrainError(f"nothing to train: lr_backbone is 0 and stack {cfg.stack!r} has no head, layout or "
                             "prompt of its own; give lr_backbone a value or enable a head")
        if self.token_rows is not None and not self.token_rows.rows.requires_grad:
            self.token_rows.table.requires_grad_(False)     # the backbone's learning rate is 0
            self.token_rows = None

    # -- state

    def elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self.started

    def restore(self, previous: Checkpoint) -> None:
        self.model.load_state_dict(previous.model_state, strict=True)
        if self.token_rows is not None:
            self.token_rows.pull()
        if previous.optimizer_state is not None:
            self.optimizer.load_state_dict(previous.optimizer_state)
            _check_optimizer_shapes(self.optimizer, self.out)
        self.step = previous.step
        self.elapsed_before = previous.elapsed_seconds
        self.started = time.monotonic()
        if previous.rng_state:
            torch.set_rng_state(previous.rng_state["torch"])
            random.setstate(previous.rng_state["python"])
        if previous.caption_bank is not None:
            self.bank = previous.caption_bank
            self.model.set_caption_bank(self.bank["embeddings"], self.bank["captions"], self.bank.get("video_ids"))
        _truncate_log(self.out / LOG_NAME, self.step)

    def refresh_bank(self) -> None:
        if not self.model.cfg.vtc.enabled:
            return
        captions = list(self.caption_row)[:self.bank_size]
        self.bank = _caption_bank(self.model, captions, self.token_table[:self.bank_size], self.caption_owner)
        self.model.set_caption_bank(self.bank["embeddings"], self.bank["captions"], self.bank["video_ids"])

    def checkpoint(self, finished: bool) -> Path:
        path = self.out / FILE_NAME
        if self.token_rows is not None:
            self.token_rows.settle()
        save_checkpoint(path, Checkpoint(
            model_state=self.model.state_dict(), stack_config=_stack_dict(self.model),
            train_config=self.cfg.to_dict(), step=self.step, elapsed_seconds=self.elapsed(), finished=finished,
            caption_bank=self.bank,
            optimizer_state=self.optimizer.state_dict(),
            rng_state={"torch": torch.get_rng_state(), "python": random.getstate()}))
        return path

    # -- loop

    def loop(self) -> None:
        cfg = self.cfg
        self.started = time.monotonic()        # the budget counts optimisation time, not data preparation
        log = (self.out / LOG_NAME).open("a", encoding="utf-8")
        try:
            while self.step < self.total_steps:
                if self.budget is not None and self.elapsed() >= self.budget:
                    self.stopped_by_budget = True
                    break
                if self.bank is None or self.step % cfg.caption_bank_every == 0:
                    self.refresh_bank()
                progress = training_progress(self.step + 1, self.total_steps, self.elapsed(), self.budget)
                factor = lr_factor(progress, cfg.warmup_fraction)
                self.head_ramp = min(1.0, progress / cfg.head_warmup_fraction) if cfg.head_warmup_fraction else 1.0
                for group in self.optimizer.param_groups:
                    group["lr"] = group["base_lr"] * factor
                terms, grad_norm = self._one_step()
                self.step += 1
                self.last_loss = terms["total"]
                if self.step % cfg.log_every == 0 or self.step == 1 or self.step == self.total_steps:
                    log.write(json.dumps(self._log_line(terms, grad_norm)) + "\n")
                    log.flush()
                if self.step % cfg.checkpoint_every == 0:
                    self.checkpoint(finished=False)
                self.report(self._progress(terms["total"]))
        finally:
            log.close()

    head_ramp = 1.0

    def _one_step(self) -> tuple[dict[str, float], float]:
        clip_idx, caption_idx = self.plan.batch(self.step, self.clips.captions)
        batch = self._batch(self.step, clip_idx, caption_idx)
        self.model.train()
        losses = self.model.losses(batch)
        total = losses["total"]
        if self.head_ramp < 1.0:
            # Heads trained from scratch on a backbone trained from scratch pull every embedding to one point
            # (all contrastive losses stuck at log(batch)); stage 1 alone first gives them something to read.
            stage1 = losses["stage1_nce"] * self.model.cfg.stage1_weight
            total = stage1 + self.head_ramp * (total - stage1)
        if not torch.isfinite(total):
            raise TrainError(f"the loss became {float(total)} at step {self.step}; lower lr_heads/lr_backbone "
                             f"(now {self.cfg.lr_heads}/{self.cfg.lr_backbone}) or resume from the last checkpoint")
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        if self.token_rows is not None:
            self.token_rows.gather_grad()
        if self.cfg.clip_norm > 0:
            grad_norm = float(torch.nn.utils.clip_grad_norm_(self.trainable, self.cfg.clip_norm))
        else:
            grad_norm = float(torch.norm(torch.stack([p.grad.norm() for p in self.trainable if p.grad is not None])))
        self.optimizer.step()
        if self.token_rows is not None:
            self.token_rows.write_back(self.optimizer)
        return {k: float(v.detach()) for k, v in losses.items() if torch.is_tensor(v) and v.numel() == 1}, grad_norm

    def _batch(self, step: int, clip_idx: np.ndarray, caption_idx: list[int]) -> dict[str, torch.Tensor]:
        texts = [self.clips.captions[c][j] for c, j in zip(clip_idx, caption_idx)]
        mask = self.clips.frame_mask[clip_idx]
        variant = None
        if self.augmenter is not None:
            variant, texts = self.augmenter.draw(step, texts)
        rows = torch.as_tensor([self.caption_row[t] for t in texts])
        # BatchPlan keeps clips and captions distinct within a batch: only the diagonal is positive. A
        # rewritten clip is another video than the one the caption bank names (VTC's Sweeper labels).
        video_ids = clip_idx if variant is None else clip_idx + len(self.clips) * variant.codes
        batch = {
            "frame_mask": torch.as_tensor(mask),
            "token_ids": self.token_table[rows],
            "video_ids": torch.as_tensor(video_ids),
        }
        if self.clips.order_matters is not None:
            batch["order_matters"] = torch.as_tensor(self.clips.order_matters[clip_idx])
        if self.frame_features is not None:
            features = self.frame_features[torch.as_tensor(clip_idx)]
            batch["frame_features"] = features if variant is None else _reverse_features(features, mask, variant)
        else:
            pixels = self.clips.pixels[clip_idx]
            batch["pixels"] = self.normalizer(pixels if variant is None else self.augmenter.apply(pixels, mask, variant))
        return batch

    def _frozen_frame_features(self) -> torch.Tensor | None:
        """[N,T,D] features of every clip when no trainable weight reaches the frame encoder, else None."""
        for group in self.optimizer.param_groups:
            if group["base_lr"] == 0:
                for p in group["params"]:
                    p.requires_grad_(False)
        probe = self.normalizer(self.clips.pixels[:1, :1])[0]
        with torch.enable_grad():
            if self.model.encode_frames(probe).requires_grad:
                return None
        return encode_frames_batched(self.model, self.clips.pixels, self.normalizer)

    def _log_line(self, terms: dict[str, float], grad_norm: float) -> dict:
        lrs = {f"lr_{g.get('name', i)}": g["lr"] for i, g in enumerate(self.optimizer.param_groups)}
        return {"step": self.step, "epoch": round(self.step / self.plan.steps_per_epoch, 4),
                "seconds": round(self.elapsed(), 2), **{k: round(v, 6) for k, v in terms.items()},
                "grad_norm": round(grad_norm, 4), **lrs}

    def _progress(self, loss: float) -> TrainProgress:
        elapsed = self.elapsed()
        done = training_progress(self.step, self.total_steps, elapsed, self.budget)
        eta = elapsed * (1 - done) / done if done > 0 else None
        heads_lr = max(g["lr"] for g in self.optimizer.param_groups)
        return TrainProgress("train", step=self.step, total_steps=self.total_steps,
                             epoch=self.step / self.plan.steps_per_epoch, loss=loss, lr_heads=heads_lr,
                             elapsed_seconds=elapsed, eta_seconds=eta)

    def finish(self) -> TrainResult:
        """Fill the caption bank from the final text tower, write the final checkpoint."""
        self.refresh_bank()
        path = self.checkpoint(finished=True)
        self.model.eval()
        return TrainResult(out_dir=self.out, checkpoint=path, steps=self.step, elapsed_seconds=self.elapsed(),
                           stopped_by_budget=self.stopped_by_budget, final_loss=self.last_loss,
                           log=self.out / LOG_NAME)


# ---------------------------------------------------------------- helpers

def _augmenter(cfg: TrainConfig, captions: list[str]) -> SymmetryAugmenter | None:
    if not (cfg.mirror_probability or cfg.reverse_probability):
        return None
    if cfg.mirror_probability and cfg.lr_backbone == 0:
        raise TrainError("mirror_probability needs a trainable frame encoder (lr_backbone > 0): with a frozen "
                         "one, frame features are computed once, unflipped")
    try:
        return SymmetryAugmenter(captions, cfg.mirror_probability, cfg.reverse_probability, cfg.seed)
    except CaptionError as exc:
        raise TrainError(f"mirror_probability and reverse_probability need shapes-world captions: {exc}") from exc


def _reverse_features(features: torch.Tensor, mask: np.ndarray, variant: BatchVariant) -> torch.Tensor:
    """Cached [B,T,D] frame features in the variant's frame order (only reversal reaches here)."""
    backward = reverse_frames(features, torch.as_tensor(mask))
    return torch.where(torch.as_tensor(variant.reversed)[:, None, None], backward, features)


def _previous_run(out: Path, resume: bool) -> Checkpoint | None:
    path = out / FILE_NAME
    if not path.exists():
        return None
    if not resume:
        raise TrainError(f"{out} already holds a training run; resume it (--resume) or choose another folder")
    return load_checkpoint(path)


FRAME_ENCODER_PREFIXES = ("clip.", "layout.")      # what init_from carries over


def _start_from(model, source: Path) -> Path:
    """Copy the backbone weights of an earlier run (e.g. still-frame pre-training) into ``model``.

    The open_clip towers ("clip.*") are taken, by name and shape, and the frame layout ("layout.*") when
    both runs have one: it is part of the frame encoder, and the still stage's captions that name places
    teach its maps where the object is. The method heads start fresh. Returns the checkpoint file read.
    """
    path = _checkpoint_file(source)
    try:
        earlier = load_checkpoint(path)
    except ClipSeekError as exc:
        raise TrainError(f"init_from: {exc}") from exc
    if not earlier.finished:
        raise TrainError(f"init_from: {path} is a run that has not finished; finish it first (--resume)")
    theirs = earlier.stack_config.get("backbone")
    if theirs != model.cfg.backbone:
        raise TrainError(f"init_from: {path} trained backbone {theirs!r}, this stack uses {model.cfg.backbone!r}")
    own = model.state_dict()
    taken = {k: v for k, v in earlier.model_state.items()
             if k.startswith(FRAME_ENCODER_PREFIXES) and k in own and own[k].shape == v.shape}
    untouched = [k for k in own if k.startswith("clip.") and k not in taken]
    if not taken or len(untouched) > len(taken):
        raise TrainError(f"init_from: {path} fits only {len(taken)} of this model's backbone tensors "
                         f"({len(untouched)} do not); was it trained with another architecture?")
    model.load_state_dict(taken, strict=False)
    return path


def _checkpoint_file(source: Path) -> Path:
    return source / FILE_NAME if source.is_dir() else source


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _cache_dir(configured: str | None, out: Path) -> Path:
    return Path(configured) if configured else out / "cache"


def _stack_dict(model) -> dict:
    return model.cfg.to_dict()


def _check_optimizer_shapes(optimizer: torch.optim.Optimizer, out: Path) -> None:
    """A checkpoint written before the optimiser held only the used token rows cannot be resumed."""
    for param, state in optimizer.state.items():
        moment = state.get("exp_avg")
        if moment is not None and moment.shape != param.shape:
            raise TrainError(f"{out}: its optimiser state was written by an older version of the trainer "
                             "and cannot be resumed; start the run again in a new folder")


def _decay_split(groups: list[dict], weight_decay: float) -> list[dict]:
    """Each group twice: matrices with weight decay, vectors and scalars (biases, norms, scales) without."""
    out = []
    for i, group in enumerate(groups):
        params = [p for p in group["params"] if p.requires_grad]
        name = group.get("name", f"group{i}")
        decay = [p for p in params if p.ndim >= 2]
        plain = [p for p in params if p.ndim < 2]
        extra = {k: v for k, v in group.items() if k not in ("params", "name", "weight_decay")}
        if decay:
            out.append({"params": decay, "weight_decay": weight_decay, "name": name, **extra})
        if plain:
            out.append({"params": plain, "weight_decay": 0.0, "name": f"{name}_no_decay", **extra})
    if not out:
        raise TrainError("the model has no trainable parameter; check the stack config and the learning rates")
    return out


def _truncate_log(path: Path, step: int) -> None:
    """Drop log lines written after the checkpoint we resume from, so the log reads as one run."""
    if not path.exists():
        return
    kept = [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step]
    atomic_write_text(path, "".join(line + "\n" for line in kept))


@torch.no_grad()
def _caption_bank(model, captions: list[str], token_table: torch.Tensor, owners: torch.Tensor,
                  chunk: int = 256) -> dict:
    """Raw (unexpanded) sentence vectors of every training caption, with the clip each belongs to."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        vectors = [model.sentence_vectors(token_table[i:i + chunk]) for i in range(0, len(captions), chunk)]
    model.train(was_training)
    return {"embeddings": torch.cat(vectors).float(), "captions": captions, "video_ids": owners}


def _evaluate_after(model, cfg: TrainConfig, spec, out: Path) -> dict:
    from engine.model.evaluate import encode_set, evaluate_clips, write_results

    clips = clips_for_source(cfg.eval_data, spec.frames_per_clip, spec.image_size, cfg.sample_fps,
                             resize=spec.resize, cache_dir=_cache_dir(cfg.eval_data.cache_dir, out))
    encoded = encode_set(model, clips)
    results = {"full": evaluate_clips(model, clips, stage="full", encoded=encoded),
               "stage1": evaluate_clips(model, clips, stage="stage1", encoded=encoded)}
    write_results(results, out / "eval.json")
    return results


def _export(model, bundle: Path, record: dict | None = None) -> Path:
    from engine.model.export import export_model

    extra = None
    if record:
        # "weights" names where the backbone started; after training the weights are this run's.
        extra = {"training": record, "weights": f"trained from {model.weights_source} initialisation"}
    return Path(export_model(model, bundle, extra_config=extra))


def training_record(checkpoint: Checkpoint) -> dict:
    """What bundle.json says about how the model was trained: the whole config, its seed, steps, time,
    and the same of the run its backbone started from (``init_from``), when there was one."""
    record = {"config": checkpoint.train_config, "seed": checkpoint.seed, "steps": checkpoint.step,
              "elapsed_seconds": round(checkpoint.elapsed_seconds, 1)}
    start = checkpoint.train_config.get("init_from")
    if start:
        path = _checkpoint_file(Path(start))
        try:
            record["started_from"] = training_record(load_checkpoint(path))
        except ClipSeekError:
            record["started_from"] = {"checkpoint": str(path), "note": "not on disk when this bundle was exported"}
    return record


def export_checkpoint(checkpoint_path: Path, bundle: Path) -> Path:
    """Export a trained checkpoint as a bundle, recording its training config and seed."""
    model, checkpoint = load_trained_model(Path(checkpoint_path))
    if checkpoint.train_config.get("init_from"):
        model.weights_source = f"checkpoint:{_checkpoint_file(Path(checkpoint.train_config['init_from']))}"
    return _export(model, Path(bundle), training_record(checkpoint))


def format_progress(p: TrainProgress, width: int = 30) -> str:
    """One terminal line: a bar, step counts, loss, learning rate, elapsed and remaining time."""
    if p.phase != "train":
        return f"[{p.phase}] {p.message}".rstrip()
    done = min(1.0, p.step / max(p.total_steps, 1))
    bar = "#" * int(done * width) + "-" * (width - int(done * width))
    eta = "?" if p.eta_seconds is None else _clock(p.eta_seconds)
    loss = "?" if p.loss is None or math.isnan(p.loss) else f"{p.loss:.4f}"
    return (f"[{bar}] {p.step}/{p.total_steps} ep {p.epoch:.2f} loss {loss} lr {p.lr_heads:.2e} "
            f"{_clock(p.elapsed_seconds)} < {eta}")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:d}:{secs:02d}"
