"""What a shapes-world model's vectors know: linear probes on held-out renders.

    .venv/bin/python benchmarks/shapes_probe.py [--model assets/models/clipseek-shapes] [--clips 600]

Renders single-shot clips of as many frames as the bundle's clip encoder takes (seed 11, 128x128), finds the object in every frame from its
pixels (engine.shapes.checks.object_masks), and fits ridge regressions on 70 % of the clips:
- frame vector -> the object's centre (x, y): R^2 on the other 30 %. Motion direction can only be
  read from a clip if its frame vectors say where the object is.
- motion (7 classes) from the last minus the first frame vector, from all frame vectors, and from
  the clip vector (the ANN vector): held-out accuracy (chance 1/7); shape (4 classes) from the clip
  vector likewise. A probe that reads an attribute the captions miss means the video side holds it
  and the text side or the alignment loses it.
- captions: every clip scored against all 336 event captions by the stage-1 score (clip vector . query
  vector, what the ANN ranks by); how often the best caption names the right size, colour, shape,
  motion, and all four.
Prints a table and writes benchmarks/out/shapes_probe.json.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, print_table, write_json  # noqa: E402

SIZE, SEED = 128, 11
ATTRIBUTES = ("size", "color", "shape", "motion")


def render(model, n: int):
    from engine.shapes.checks import object_masks
    from engine.shapes.clips import ClipOptions, generate_training_clips

    frames_per_clip = model.info.frames_per_clip
    features, centres, events, clips = [], [], [], []
    options = ClipOptions(width=SIZE, height=SIZE, frames=frames_per_clip)
    for clip in generate_training_clips(np.random.default_rng(SEED), n, options):
        masks = object_masks(clip.frames)
        if not masks.any(axis=(1, 2)).all():
            continue                                  # an object outside a frame has no centre
        ys, xs = zip(*(np.nonzero(m) for m in masks))
        centres.append(np.stack([[x.mean() / SIZE for x in xs], [y.mean() / SIZE for y in ys]], axis=1))
        frames = model.encode_frames(clip.frames)
        features.append(frames)
        clips.append(model.encode_clips(frames[None], np.ones((1, frames_per_clip), np.float32)).vector[0])
        events.append(clip.events[0])
    return np.array(features), np.array(centres), events, np.array(clips)


def caption_accuracy(model, events: list, clip_vectors: np.ndarray) -> dict[str, float]:
    """Fraction of clips whose best-scoring event caption (stage 1) gets each attribute right."""
    from engine.shapes.language import all_events, format_event

    vocabulary = all_events()
    queries = model.encode_text([format_event(e) for e in vocabulary]).vector
    best = [vocabulary[i] for i in (clip_vectors @ queries.T).argmax(1)]
    right = {a: float(np.mean([getattr(b, a) == getattr(e, a) for b, e in zip(best, events)]))
             for a in ATTRIBUTES}
    right["all four"] = float(np.mean([b == e for b, e in zip(best, events)]))
    return right


def ridge(x: np.ndarray, y: np.ndarray, train: np.ndarray, lam: float) -> np.ndarray:
    """Predictions for every row from a ridge fit (with bias) on the ``train`` rows."""
    a = np.c_[x, np.ones(len(x))]
    w = np.linalg.solve(a[train].T @ a[train] + lam * np.eye(a.shape[1]), a[train].T @ y[train])
    return a @ w


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "assets" / "models" / "clipseek-shapes"))
    parser.add_argument("--clips", type=int, default=600)
    parser.add_argument("--out", default="shapes_probe.json")
    args = parser.parse_args()
    from engine.runtime import load_model

    model = load_model(args.model, device="cpu", graphs=("frame_encoder", "clip_encoder", "text_encoder"))
    features, centres, events, clip_vectors = render(model, args.clips)
    n, frames = features.shape[:2]
    train = np.arange(n) < int(n * 0.7)

    frames_train = np.repeat(train, frames)
    flat, where = features.reshape(n * frames, -1), centres.reshape(n * frames, 2)
    held = ~frames_train
    predicted = ridge(flat, where, frames_train, 1e-2)[held]
    r2 = 1 - ((predicted - where[held]) ** 2).sum(0) / ((where[held] - where[held].mean(0)) ** 2).sum(0)

    def probe_accuracy(x: np.ndarray, attribute: str) -> float:
        labels = [getattr(e, attribute) for e in events]
        onehot = np.array([[v == c for c in sorted(set(labels))] for v in labels], float)
        return float((ridge(x, onehot, train, 1e-1)[~train].argmax(1) == onehot[~train].argmax(1)).mean())

    def motion_accuracy(x: np.ndarray) -> float:
        return probe_accuracy(x, "motion")

    rows = [["frame vector -> object centre x, R^2", float(r2[0])],
            ["frame vector -> object centre y, R^2", float(r2[1])],
            ["last - first frame vector -> motion, accuracy", motion_accuracy(features[:, -1] - features[:, 0])],
            [f"{frames} frame vectors -> motion, accuracy", motion_accuracy(features.reshape(n, -1))],
            ["clip vector -> motion, accuracy", motion_accuracy(clip_vectors)],
            ["chance (motion)", 1 / 7],
            ["clip vector -> shape, accuracy", probe_accuracy(clip_vectors, "shape")],
            ["chance (shape)", 1 / 4]]
    rows += [[f"best of 336 captions: {a} right", v]
             for a, v in caption_accuracy(model, events, clip_vectors).items()]
    print(f"{Path(args.model).name}: {n} clips of {frames} frames (seed {SEED}), 70/30 split")
    print_table(["probe", "held-out"], rows)
    path = write_json(args.out, {"model": args.model, "clips": n,
                                 "probes": {name: value for name, value in rows}})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
