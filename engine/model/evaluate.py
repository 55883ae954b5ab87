"""``clipseek eval``: text-to-video and video-to-text retrieval metrics of a trained model.

    evaluate(checkpoint_or_model, annotations, stage="full", drop_heads=(), dsl=False, qbnorm=False) -> dict
    format_table(results) -> str
    write_results(results, path)

``stage="stage1"`` scores with the indexable dual-encoder vectors alone; ``"full"`` with the fused stage-2
score; ``drop_heads`` removes heads from that fusion, so each head's contribution is the difference.
``rerank_depth=K`` mimics the application: stage 2 reorders only stage 1's top K videos of each query.
Metrics follow methods.md §10 (metrics.py); DSL and QB-Norm follow §11 (postprocess.py). QB-Norm needs a
query bank: by default the model's caption bank (the training captions), scored the same way as the queries;
it is applied to text-to-video only (the bank holds text queries).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from engine.errors import ClipSeekError
from engine.model.data import ClipSet, Sampling, iterate_chunks, load_annotations, load_clips
from engine.model.metrics import pairwise_order_accuracy, retrieval_metrics
from engine.model.postprocess import dual_softmax, qb_norm
from engine.model.tensors import Normalizer, encode_frames_batched, tokenize
from engine.util.atomic import atomic_write_text

STAGES = ("full", "stage1")


class EvaluationError(ClipSeekError):
    """An evaluation request cannot be served (unknown stage or head, no query bank...)."""


@dataclasses.dataclass
class EncodedSet:
    """A clip set run through the model once; every scoring variant reuses it."""
    video: Any                         # VideoOut for all clips
    frame_mask: torch.Tensor           # [V, T]
    text: Any                          # TextOut for all captions
    caption_video: np.ndarray          # [C] clip index of each caption


def evaluate(checkpoint_or_model, annotations: str | Path | ClipSet, stage: str = "full",
             drop_heads: Iterable[str] = (), dsl: bool = False, qbnorm: bool = False,
             split: str | None = None, cache_dir: Path | None = None, sample_fps: float = 2.0,
             rerank_depth: int | None = None, query_bank: Sequence[str] | None = None) -> dict:
    """Retrieval metrics of a checkpoint (run folder or file) or a model on an annotation file or ClipSet."""
    model, source = _model(checkpoint_or_model)
    if isinstance(annotations, ClipSet):
        clips, data_name = annotations, "clips"
    else:
        spec = model.export_spec()
        sampling = Sampling(sample_fps, spec.frames_per_clip, spec.image_size, spec.resize)
        clips = load_clips(load_annotations(Path(annotations), split), sampling, cache_dir)
        data_name = str(annotations)
    results = evaluate_clips(model, clips, stage=stage, drop_heads=drop_heads, dsl=dsl, qbnorm=qbnorm,
                             rerank_depth=rerank_depth, query_bank=query_bank)
    results["settings"].update({"model": source, "data": data_name, "split": split})
    return results


def evaluate_clips(model, clips: ClipSet, stage: str = "full", drop_heads: Iterable[str] = (),
                   dsl: bool = False, qbnorm: bool = False, rerank_depth: int | None = None,
                   query_bank: Sequence[str] | None = None, encoded: EncodedSet | None = None) -> dict:
    """The metrics of one scoring variant; pass ``encoded`` to reuse the encodings of earlier calls."""
    drop = set(drop_heads)
    if stage not in STAGES:
        raise EvaluationError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")
    if drop and stage == "stage1":
        raise EvaluationError("drop_heads applies to the full (stage-2) score; stage 1 has no heads")
    encoded = encoded or encode_set(model, clips)
    sim = score_matrix(model, encoded.text, encoded.video, encoded.frame_mask, stage, drop, rerank_depth)
    t2v_sim, v2t_sim = sim, sim
    if qbnorm:
        bank_text = _bank_text(model, query_bank)
        bank_sim = score_matrix(model, bank_text, encoded.video, encoded.frame_mask, stage, drop, rerank_depth)
        t2v_sim = qb_norm(t2v_sim, bank_sim)
    if dsl:
        t2v_sim = dual_softmax(t2v_sim, query_axis=0)
        v2t_sim = dual_softmax(v2t_sim, query_axis=1)
    results = retrieval_metrics(t2v_sim, encoded.caption_video, v2t_sim=v2t_sim)
    results["settings"] = {"stage": stage, "drop_heads": sorted(drop), "dsl": dsl, "qbnorm": qbnorm,
                           "rerank_depth": rerank_depth, "videos": len(clips),
                           "captions": int(len(encoded.caption_video))}
    return results


def evaluate_ablations(model, clips: ClipSet, heads: Sequence[str], dsl: bool = False,
                       qbnorm: bool = False) -> dict[str, dict]:
    """Full score, stage 1 alone, and the full score without each head in turn, on one encoding."""
    encoded = encode_set(model, clips)
    rows = {"full": evaluate_clips(model, clips, "full", dsl=dsl, qbnorm=qbnorm, encoded=encoded),
            "stage1": evaluate_clips(model, clips, "stage1", dsl=dsl, qbnorm=qbnorm, encoded=encoded)}
    for head in heads:
        rows[f"full - {head}"] = evaluate_clips(model, clips, "full", drop_heads=[head], dsl=dsl, qbnorm=qbnorm,
                                                encoded=encoded)
    return rows


# ---------------------------------------------------------------- encoding and scoring

@torch.no_grad()
def encode_set(model, clips: ClipSet, chunk: int = 64) -> EncodedSet:
    model.eval()
    spec = model.export_spec()
    features = encode_frames_batched(model, clips.pixels, Normalizer(spec.mean, spec.std))
    frame_mask = torch.as_tensor(clips.frame_mask)
    video = _cat([model.encode_video(features[s], frame_mask[s]) for s in iterate_chunks(len(clips), chunk)])
    texts, caption_video = clips.caption_table()
    return EncodedSet(video, frame_mask, encode_texts(model, texts, chunk), caption_video)


@torch.no_grad()
def encode_texts(model, texts: Sequence[str], chunk: int = 64):
    """The model's text side (TextOut) of ``texts``, ``chunk`` at a time."""
    tokens = tokenize(model.tokenizer_model(), texts)
    return _cat([model.encode_text(tokens[s]) for s in iterate_chunks(len(texts), chunk)])


@torch.no_grad()
def score_matrix(model, text, video, frame_mask: torch.Tensor, stage: str = "full", drop_heads: set[str] = frozenset(),
                 rerank_depth: int | None = None, chunk: int = 32) -> np.ndarray:
    """[n_texts, n_videos] scores. With ``rerank_depth`` K, stage 2 reorders each row's stage-1 top K, which
    stay above every other video (as in search); without it, every pair gets the stage-2 score."""
    model.eval()
    n_texts = _length(text)
    stage1 = torch.cat([model.stage1_scores(_take(text, s), video) for s in iterate_chunks(n_texts, chunk)])
    if stage == "stage1":
        return stage1.float().numpy()
    full = torch.cat([_stage2(model, _take(text, s), video, frame_mask, drop_heads)
                      for s in iterate_chunks(n_texts, chunk)]).float()
    if rerank_depth is None or rerank_depth >= full.shape[1]:
        return full.numpy()
    top = stage1.topk(rerank_depth, dim=1).indices
    out = torch.full_like(full, float("-inf"))
    # Below the reranked top K, videos keep stage 1's order, offset under the lowest reranked score.
    floor = full.gather(1, top).min(dim=1, keepdim=True).values - 1.0
    out.copy_(floor - (stage1.max(dim=1, keepdim=True).values - stage1) - 1e-6)
    out.scatter_(1, top, full.gather(1, top))
    return out.numpy()


def _stage2(model, text, video, frame_mask, drop_heads: set[str]) -> torch.Tensor:
    scores = model.stage2_scores(text, video, frame_mask, drop_heads=set(drop_heads))
    return scores[0] if isinstance(scores, tuple) else scores


def order_accuracy(model, pairs: ClipSet, stage: str = "full") -> float:
    """Share of "A, then B" captions that score their own clip above the same frames in the other order.

    ``pairs`` comes from ``data.compose_order_pairs``: clips 2k and 2k+1 hold the same frames in the two
    orders. Ties count one half, so an order-blind model scores exactly 0.5.
    """
    encoded = encode_set(model, pairs)
    sim = score_matrix(model, encoded.text, encoded.video, encoded.frame_mask, stage)
    own = np.arange(len(pairs))
    other = own ^ 1
    return pairwise_order_accuracy(sim[own, own], sim[own, other])


# ---------------------------------------------------------------- output

def format_table(results: dict) -> str:
    """A plain-text table: one row per result (a single ``evaluate`` result, or a dict of named ones)."""
    rows = results if "t2v" not in results else {_label(results.get("settings", {})): results}
    header = f"{'':<28}" + "".join(f"{d + ' ' + m:>10}" for d in ("t2v", "v2t")
                                     for m in ("R@1", "R@5", "R@10", "MdR", "MnR"))
    lines = [header, "-" * len(header)]
    for name, r in rows.items():
        cells = "".join(f"{r[d][m]:>10.1f}" for d in ("t2v", "v2t") for m in ("R@1", "R@5", "R@10", "MdR", "MnR"))
        lines.append(f"{name[:28]:<28}{cells}")
    first = next(iter(rows.values()))
    settings = first.get("settings", {})
    lines.append(f"{settings.get('captions', '?')} captions, {settings.get('videos', '?')} videos; "
                 "ranks 1-based, ties counted against the ground truth")
    return "\n".join(lines)


def write_results(results: dict, path: Path) -> None:
    atomic_write_text(Path(path), json.dumps(results, indent=2, sort_keys=True))


def _label(settings: dict) -> str:
    parts = [settings.get("stage", "full")]
    parts += [f"-{h}" for h in settings.get("drop_heads", [])]
    parts += [p for p, on in (("+DSL", settings.get("dsl")), ("+QB", settings.get("qbnorm"))) if on]
    return " ".join(parts)


# ---------------------------------------------------------------- helpers

def _model(checkpoint_or_model) -> tuple[Any, str]:
    if isinstance(checkpoint_or_model, (str, Path)):
        from engine.model.checkpoint import load_trained_model

        model, _ = load_trained_model(Path(checkpoint_or_model))
        return model, str(checkpoint_or_model)
    return checkpoint_or_model, type(checkpoint_or_model).__name__


def _bank_text(model, query_bank: Sequence[str] | None):
    captions = list(query_bank) if query_bank is not None else _model_bank_captions(model)
    if not captions:
        raise EvaluationError("QB-Norm needs a query bank: train a model with a caption bank, or pass "
                              "query_bank (training captions)")
    return encode_texts(model, captions)


def _model_bank_captions(model) -> list[str]:
    bank = model.caption_bank() if hasattr(model, "caption_bank") else None
    return list(bank[1]) if bank is not None else []


def _length(out) -> int:
    return next(v for v in _values(out) if torch.is_tensor(v)).shape[0]


def _values(out) -> list:
    if dataclasses.is_dataclass(out):
        return [getattr(out, f.name) for f in dataclasses.fields(out)]
    return list(out)


def _rebuild(out, values: list):
    if dataclasses.is_dataclass(out):
        return dataclasses.replace(out, **{f.name: v for f, v in zip(dataclasses.fields(out), values)})
    return type(out)(*values)


def _take(out, s: slice):
    """Rows ``s`` of every tensor field of a TextOut/VideoOut (fields that are not tensors are kept)."""
    return _rebuild(out, [v[s] if torch.is_tensor(v) else v for v in _values(out)])


def _cat(parts: list):
    first = parts[0]
    columns = zip(*[_values(p) for p in parts])
    return _rebuild(first, [torch.cat(col) if torch.is_tensor(col[0]) else col[0] for col in columns])
