"""What a training run's frame encoder tells apart in held-out still frames, by object size.

    .venv/bin/python benchmarks/still_shapes.py build/train/still [more run folders] [--stills 600]

Renders still frames of the shapes world as the still stage's data does (engine.model.datasets
shapes_still_clips; seed 44, which no training config uses), scores each against the 48 object
captions ("a small red circle") by the run's stage-1 score, and counts how often the best caption
names the right size, colour and shape, for small and big objects apart. The rows marked "placed" score
each still against the 48 captions at its own place ("a small red circle at the top left"), as the still
stage's captions read, so that a frame vector which says where the object is does not count against it.
Small objects (radius 5-9 % of the shorter side, 10-17 pixels across at the model's 96) are where shape is
lost. It also fits a
ridge probe from the frame vector to the object's centre (found from the pixels,
engine.shapes.checks.object_masks) on 70 % of the stills and reports R^2 on the rest: a video stage
learns which way things move only from frame vectors that say where they are. A quick check of a
still-stage run before the video stage spends most of an hour on it. Prints a table and writes
benchmarks/out/still_shapes.json.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import print_table, write_json  # noqa: E402
from benchmarks.shapes_probe import ridge  # noqa: E402

SEED = 44
ATTRIBUTES = ("size", "color", "shape")


def look_at_stills(run: Path, stills: int) -> dict[str, float]:
    """Caption accuracies (see ``accuracy``) and the position probe's R^2 of one run on the held-out stills."""
    import torch

    from engine.model.checkpoint import load_trained_model
    from engine.model.datasets import shapes_still_clips
    from engine.model.evaluate import encode_set, encode_texts
    from engine.model.tensors import Normalizer, encode_frames_batched
    from engine.shapes.language import COLORS, SHAPES, SIZES

    model, _ = load_trained_model(run)
    spec = model.export_spec()
    clips = shapes_still_clips(stills, SEED, 1, spec.image_size, resize=spec.resize, places=True,
                               workers=1)
    objects = [f"a {s} {c} {h}" for s in SIZES for c in COLORS for h in SHAPES]
    truth = [c[0] for c in clips.captions]
    places = sorted({place_of(t) for t in truth})
    with torch.no_grad():
        videos = encode_set(model, clips).video
        scores = model.stage1_scores(encode_texts(model, objects), videos)
        placed = model.stage1_scores(encode_texts(model, [o + p for p in places for o in objects]), videos)
        frame_vectors = encode_frames_batched(model, clips.pixels, Normalizer(spec.mean, spec.std))[:, 0].numpy()
    best = [objects[i] for i in scores.argmax(0).tolist()]
    # each still against the 48 objects at its own place: what it is, with where already right
    placed = placed.reshape(len(places), len(objects), -1)
    rows = torch.tensor([places.index(place_of(t)) for t in truth])
    best_placed = [objects[i] for i in placed[rows, :, torch.arange(len(truth))].argmax(1).tolist()]
    at_place = {f"{k}, placed": v for k, v in accuracy(truth, best_placed).items()}
    return accuracy(truth, best) | at_place | position_r2(frame_vectors, clips.pixels[:, 0])


def place_of(caption: str) -> str:
    """The place a caption names (" at the top left"), or "" when it names none."""
    return caption[caption.index(" at the "):] if " at the " in caption else ""


def position_r2(frame_vectors: np.ndarray, frames: np.ndarray) -> dict[str, float]:
    """R^2 of a ridge probe frame vector -> object centre (x, y), fitted on 70 % of the stills."""
    from engine.shapes.checks import object_masks

    masks = object_masks(frames)
    seen = masks.any(axis=(1, 2))
    masks, x = masks[seen], frame_vectors[seen]
    height, width = masks.shape[1:]
    centres = np.stack([(masks.sum(axis=1) * np.arange(width)).sum(1) / masks.sum((1, 2)) / width,
                        (masks.sum(axis=2) * np.arange(height)).sum(1) / masks.sum((1, 2)) / height], axis=1)
    train = np.arange(len(x)) < int(len(x) * 0.7)
    predicted = ridge(x, centres, train, 1e-2)[~train]
    held = centres[~train]
    r2 = 1 - ((predicted - held) ** 2).sum(0) / ((held - held.mean(0)) ** 2).sum(0)
    return {"centre x, R^2": float(r2[0]), "centre y, R^2": float(r2[1])}


def accuracy(truth: list[str], best: list[str]) -> dict[str, float]:
    """Share of right words per attribute, for all stills and for small and big objects apart."""
    words = [dict(zip(ATTRIBUTES, t.split()[1:])) for t in truth]
    guessed = [dict(zip(ATTRIBUTES, b.split()[1:])) for b in best]
    small = np.array([w["size"] == "small" for w in words])
    out = {}
    for attribute in ATTRIBUTES + ("all",):
        right = np.array([w == g if attribute == "all" else w[attribute] == g[attribute]
                          for w, g in zip(words, guessed)])
        out[attribute] = float(right.mean())
        out[f"{attribute}, small"] = float(right[small].mean())
        out[f"{attribute}, big"] = float(right[~small].mean())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="training run folders (or checkpoint files)")
    parser.add_argument("--stills", type=int, default=600)
    parser.add_argument("--out", default="still_shapes.json")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(2)
    results = {str(run): look_at_stills(run, args.stills) for run in args.runs}
    keys = next(iter(results.values())).keys()
    print(f"{args.stills} held-out stills (seed {SEED}); best of 48 object captions: share right; "
          "position probe: R^2 on 30 %")
    print_table(["attribute"] + [Path(r).name for r in results], [[k] + [v[k] for v in results.values()]
                                                                   for k in keys])
    print(f"wrote {write_json(args.out, {'stills': args.stills, 'seed': SEED, 'runs': results})}")


if __name__ == "__main__":
    main()
