"""Retrieval metrics over a similarity matrix: R@K, median and mean rank, text-to-video and video-to-text.

Pure numpy, no torch. Conventions (methods.md §10):

* ``sim`` is ``[n_captions, n_videos]``; ``caption_video[i]`` is the video that caption ``i`` describes.
  A test set may hold several captions per video.
* Text-to-video: every caption is a query, ranked against all videos.
* Video-to-text: a video's score against a caption *group* (all captions of one video) is the max over the
  group, as in CLIP4Clip's ``tensor_video_to_text_sim``; the ranking is then over groups.
* Ranks are 1-based. Ties are counted against the ground truth (pessimistic): the ground truth's rank is
  the number of candidates scoring >= it. A collapsed model that scores everything equally therefore gets
  the worst rank, never R@1 = 100.
"""
from __future__ import annotations

import numpy as np

RECALL_AT = (1, 5, 10)


def ranks_of_targets(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1-based rank of ``targets[i]`` in row ``i`` of ``scores`` [Q, G] (higher is better), ties pessimistic."""
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    if scores.ndim != 2 or targets.shape != (scores.shape[0],):
        raise ValueError(f"scores must be [Q,G] and targets [Q]; got {scores.shape} and {targets.shape}")
    target_scores = scores[np.arange(len(targets)), targets][:, None]
    if np.isnan(target_scores).any():
        raise ValueError("a ground-truth score is NaN")
    return (scores >= target_scores).sum(axis=1)


def summarize_ranks(ranks: np.ndarray) -> dict[str, float]:
    """R@1/5/10 in percent, median rank (MdR) and mean rank (MnR), plus the query count."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.size == 0:
        raise ValueError("no queries to score")
    out = {f"R@{k}": float(100.0 * np.mean(ranks <= k)) for k in RECALL_AT}
    out["MdR"] = float(np.median(ranks))
    out["MnR"] = float(np.mean(ranks))
    out["queries"] = int(ranks.size)
    return out


def text_to_video_ranks(sim: np.ndarray, caption_video: np.ndarray) -> np.ndarray:
    return ranks_of_targets(sim, caption_video)


def video_to_caption_group_sim(sim: np.ndarray, caption_video: np.ndarray, n_videos: int | None = None) -> np.ndarray:
    """[V, V]: entry (v, w) = max over the captions of video w of sim[caption, v]."""
    sim = np.asarray(sim, dtype=np.float64)
    caption_video = np.asarray(caption_video, dtype=np.int64)
    n_videos = sim.shape[1] if n_videos is None else n_videos
    grouped = np.full((sim.shape[1], n_videos), -np.inf)
    for w in range(n_videos):
        members = np.flatnonzero(caption_video == w)
        if members.size == 0:
            raise ValueError(f"video {w} has no caption; video-to-text needs at least one per video")
        grouped[:, w] = sim[members].max(axis=0)
    return grouped


def video_to_text_ranks(sim: np.ndarray, caption_video: np.ndarray) -> np.ndarray:
    grouped = video_to_caption_group_sim(sim, caption_video)
    return ranks_of_targets(grouped, np.arange(grouped.shape[0]))


def retrieval_metrics(sim: np.ndarray, caption_video: np.ndarray,
                      v2t_sim: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """``{"t2v": {...}, "v2t": {...}}``. ``v2t_sim`` ([n_captions, n_videos], same layout as ``sim``) lets
    post-processing that depends on the query direction (DSL) give video-to-text its own matrix."""
    caption_video = np.asarray(caption_video, dtype=np.int64)
    _check_layout(sim, caption_video)
    v2t_source = sim if v2t_sim is None else v2t_sim
    _check_layout(v2t_source, caption_video)
    return {
        "t2v": summarize_ranks(text_to_video_ranks(sim, caption_video)),
        "v2t": summarize_ranks(video_to_text_ranks(v2t_source, caption_video)),
    }


def pairwise_order_accuracy(score_right: np.ndarray, score_wrong: np.ndarray, tie_tolerance: float = 1e-5) -> float:
    """Fraction of pairs where the right candidate outscores the wrong one; a tie counts one half.

    Scores closer than ``tie_tolerance`` are a tie: an order-blind model computes the same number in a
    different summation order, which differs only in the last bits. Such a model gets exactly 0.5.
    """
    right = np.asarray(score_right, dtype=np.float64)
    wrong = np.asarray(score_wrong, dtype=np.float64)
    if right.shape != wrong.shape or right.size == 0:
        raise ValueError(f"need two equal, non-empty score arrays; got {right.shape} and {wrong.shape}")
    tie = np.abs(right - wrong) <= tie_tolerance
    return float(np.mean(np.where(tie, 0.5, (right > wrong).astype(np.float64))))


def _check_layout(sim: np.ndarray, caption_video: np.ndarray) -> None:
    if sim.ndim != 2 or sim.shape[0] != caption_video.shape[0]:
        raise ValueError(f"sim must be [n_captions, n_videos] with one video per caption; "
                         f"got sim {sim.shape}, caption_video {caption_video.shape}")
    if caption_video.min(initial=0) < 0 or caption_video.max(initial=0) >= sim.shape[1]:
        raise ValueError("caption_video holds a video index outside the similarity matrix")
