"""What a training run's frame encoder tells apart in held-out still frames, by object size.

    .venv/bin/python benchmarks/still_shapes.py build/train/still [more run folders] [--stills 600]

Renders still frames of the shapes world as the still stage's data does (engine.model.datasets
shapes_still_clips; seed 44, which no training config uses), scores each against the 48 object
captions ("a small red circle") by the run's stage-1 score, and counts how often the best caption
names the right size, colour and shape, for small and big objects apart. Small objects (radius 5-9 %
of the shorter side, 10-17 pixels across at the model's 96) are where shape is lost. A quick check of
a still-stage run before the video stage spends most of an hour on it. Prints a table and writes
benchmarks/out/still_shapes.json.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import print_table, write_json  # noqa: E402

SEED = 44
ATTRIBUTES = ("size", "color", "shape")


def best_captions(run: Path, stills: int) -> tuple[list[str], list[str]]:
    """(true caption, best-scoring object caption) of each held-out still."""
    import torch

    from engine.model.checkpoint import load_trained_model
    from engine.model.datasets import shapes_still_clips
    from engine.model.evaluate import encode_set, encode_texts
    from engine.shapes.language import COLORS, SHAPES, SIZES

    model, _ = load_trained_model(run)
    spec = model.export_spec()
    clips = shapes_still_clips(stills, SEED, 1, spec.image_size, resize=spec.resize, workers=1)
    captions = [f"a {s} {c} {h}" for s in SIZES for c in COLORS for h in SHAPES]
    with torch.no_grad():
        scores = model.stage1_scores(encode_texts(model, captions), encode_set(model, clips).video)
    return [c[0] for c in clips.captions], [captions[i] for i in scores.argmax(0).tolist()]


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
    results = {str(run): accuracy(*best_captions(run, args.stills)) for run in args.runs}
    keys = next(iter(results.values())).keys()
    print(f"{args.stills} held-out stills (seed {SEED}); best of 48 object captions: share right")
    print_table(["attribute"] + [Path(r).name for r in results], [[k] + [v[k] for v in results.values()]
                                                                   for k in keys])
    print(f"wrote {write_json(args.out, {'stills': args.stills, 'seed': SEED, 'runs': results})}")


if __name__ == "__main__":
    main()
