"""Would querybank normalisation at search time fix the shapes model's misses? An offline check.

    .venv/bin/python benchmarks/quality_shapes.py --seed 5501 --out /tmp/q5501
    .venv/bin/python benchmarks/querybank_shapes.py --run /tmp/q5501 [--model assets/models/clipseek-shapes]

QB-Norm (Bogolin et al., CVPR 2022; engine/model/postprocess.py uses it in evaluation) rescores a
gallery item by how much more it matches this query than the queries of a bank, here the bundle's
caption bank (its training captions): the inverted softmax ``beta*s - log sum_q exp(beta*s_q)``.
A moment that every motion caption likes ("hubness") drops, one that fits only its own caption
rises. This script takes a library that quality_shapes.py indexed, scores every bank caption
against every segment once, then runs the shot and temporal captions through the engine's
searcher with its stage-2 scores so normalised (normaliser from the reranker's scores, or from
the stage-1 cosines, cheap enough to keep per segment), and prints quality_shapes' metrics for
each beta. Nothing here changes the engine.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import quality_shapes  # noqa: E402
from engine.model.postprocess import logsumexp  # noqa: E402


def bank_scores(model, embeddings) -> tuple[np.ndarray, np.ndarray]:
    """([M,G] reranker scores, [M,G] stage-1 cosines) of every bank caption against every segment."""
    bank_vectors, captions = model.caption_bank()
    reranked = []
    for i in range(0, len(captions), 64):
        text = model.encode_text(captions[i:i + 64])
        for j in range(len(text)):
            reranked.append(model.rerank(text.row(j), embeddings.clip_tokens, embeddings.frame_tokens,
                                         embeddings.frame_mask))
    cosines = bank_vectors.astype(np.float64) @ embeddings.vectors.astype(np.float64).T
    return np.asarray(reranked, np.float64), cosines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True, help="the --out folder of a quality_shapes.py run")
    ap.add_argument("--model", type=Path, default=quality_shapes.MODELS["full"])
    ap.add_argument("--betas", type=float, nargs="+", default=[3, 10, 30, 100])
    args = ap.parse_args(argv)

    from engine.api.library import Library
    from engine.runtime.bundle import open_bundle
    from engine.search.searcher import Searcher
    from engine.shapes.generate import load_annotations

    data = next(args.run.glob("heldout-seed*"), None)
    library = args.run / f"library-{open_bundle(args.model).fingerprint[:12]}-{args.model.name}"
    if data is None or not (library / "catalog.sqlite").exists():
        raise SystemExit(f"{args.run} holds no library of {args.model}; run quality_shapes.py --out {args.run} first")
    lib = Library.open(library, model=args.model)
    if lib.model.caption_bank() is None:
        raise SystemExit(f"{args.model} has no caption bank to normalise with")
    embeddings = lib.catalog.segment_embeddings(lib.catalog.segment_ids())
    started = time.perf_counter()
    reranked, cosines = bank_scores(lib.model, embeddings)
    print(f"scored {reranked.shape[0]} bank captions x {reranked.shape[1]} segments in "
          f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
    column = {int(i): j for j, i in enumerate(embeddings.ids)}
    annotations = load_annotations(data)
    events, temporal = quality_shapes.queries_from(annotations, data)
    plain_stage2 = Searcher._stage2

    def evaluate(normalise) -> tuple[dict, dict]:
        def stage2(self, text, ids):
            scores = plain_stage2(self, text, ids)
            return scores if normalise is None else normalise(scores, [column[int(i)] for i in ids])
        Searcher._stage2 = stage2
        try:
            results = {c: [{"path": str(m.path), "start": m.start, "end": m.end} for m in lib.search(c, k=5)]
                       for c in sorted(events) + sorted(temporal)}
        finally:
            Searcher._stage2 = plain_stage2
        return quality_shapes.score(results, events), quality_shapes.score(results, temporal)

    rows = [("no normalisation", None)]
    for beta in args.betas:
        fused = logsumexp(beta * reranked, axis=0)   # log sum over the bank, per segment
        stage1 = logsumexp(beta * cosines, axis=0)
        rows.append((f"reranker bank, beta {beta:g}",
                     lambda s, cols, b=beta, n=fused: (b * s - n[cols]).astype(np.float32)))
        rows.append((f"stage-1 bank, beta {beta:g}",
                     lambda s, cols, b=beta, n=stage1: (s - n[cols] / b).astype(np.float32)))
    print(f"{'normalisation':30s} {'moment R@1':>10s} {'moment R@5':>10s} {'file R@1':>9s} {'temporal R@1':>12s}")
    for label, normalise in rows:
        ev, tp = evaluate(normalise)
        print(f"{label:30s} {ev['moment_R@1']:10.3f} {ev['moment_R@5']:10.3f} {ev['file_R@1']:9.3f} "
              f"{tp['moment_R@1']:12.3f}", flush=True)
    lib.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
