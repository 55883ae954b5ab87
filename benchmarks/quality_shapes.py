"""End-to-end retrieval quality on held-out shapes-world renders, through the command line.

    .venv/bin/python benchmarks/quality_shapes.py [--videos 40] [--seed 7301] [--out benchmarks/out/quality]

Generates a fresh held-out library from a seed the training never used, indexes it with
`clipseek index` (decode -> segment -> encode -> hnswlib), and asks `clipseek search --batch`
for every shot caption and every two-shot temporal caption. Reports, for the full model,
the full model with stage 1 only, and the mean-pooling baseline:

  moment R@1 / R@5   a result among the top 1 / 5 is in the right file and overlaps the shot
                     with temporal IoU >= 0.5 (for temporal captions: the union of the two shots)
  file R@1           the top result is in the right file
A caption that occurs in several shots (the world has 336 events) counts a hit on any of them.

In such a library the other order of two events rarely occurs, so a model blind to order finds most
"A, then B" moments by what the two shots show. A second held-out set isolates order: --order-pairs
pairs of two-shot videos, "A, then B" and "B, then A", each drawn on its own (engine.shapes.generate.
generate_order_pairs); its temporal captions are asked over a library of those videos alone, where an
order-blind model can at best pick the right one of a pair by chance ("order-set temporal R@1").
Prints a table and writes results.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "engine.cli.main"]
MODELS = {
    "full": ROOT / "assets" / "models" / "clipseek-shapes",
    "mean-pooling": ROOT / "build" / "models" / "clipseek-shapes-meanpool",
}


def tiou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def queries_from(annotations: list[dict], root: Path) -> tuple[dict[str, list], dict[str, list]]:
    """caption -> [(absolute path, (start, end)), ...] for event and temporal captions."""
    events: dict[str, list] = {}
    temporal: dict[str, list] = {}
    for video in annotations:
        path = str((root / video["video"]).resolve())
        for shot in video["shots"]:
            events.setdefault(shot["caption"], []).append((path, (shot["start"], shot["end"])))
        for pair in video.get("temporal", []):
            temporal.setdefault(pair["caption"], []).append((path, (pair["start"], pair["end"])))
    return events, temporal


def score(results: dict[str, list], truth: dict[str, list]) -> dict[str, float]:
    r1 = r5 = f1 = 0
    for caption, targets in truth.items():
        found = results.get(caption, [])

        def hit(r) -> bool:
            return any(r["path"] == p and tiou((r["start"], r["end"]), span) >= 0.5 for p, span in targets)
        if found and hit(found[0]):
            r1 += 1
        if any(hit(r) for r in found[:5]):
            r5 += 1
        if found and any(found[0]["path"] == p for p, _ in targets):
            f1 += 1
    n = max(1, len(truth))
    return {"moment_R@1": r1 / n, "moment_R@5": r5 / n, "file_R@1": f1 / n, "queries": len(truth)}


ATTRIBUTES = ("size", "color", "shape", "motion")


def misses_by_attribute(results: dict[str, list], annotations: list[dict], root: Path) -> dict[str, int]:
    """For shot captions whose top result is wrong: which attributes the shot under it differs in.

    Keys are the differing attributes joined by '+' ("motion", "shape+motion", ...); "other" counts
    top results that overlap no shot well (a cut misplaced) or show the right event elsewhere.
    """
    from engine.shapes.language import parse_event

    shots = {}
    for video in annotations:
        path = str((root / video["video"]).resolve())
        shots[path] = [((s["start"], s["end"]), s["caption"]) for s in video["shots"]]
    events, _ = queries_from(annotations, root)
    counts: dict[str, int] = {}
    for caption, targets in events.items():
        found = results.get(caption, [])
        if not found or any(found[0]["path"] == p and tiou((found[0]["start"], found[0]["end"]), span) >= 0.5
                            for p, span in targets):
            continue
        top = found[0]
        under = max(shots.get(top["path"], []), key=lambda s: tiou((top["start"], top["end"]), s[0]), default=None)
        if under is None or under[1] == caption:
            key = "other"
        else:
            wanted, shown = parse_event(caption), parse_event(under[1])
            key = "+".join(a for a in ATTRIBUTES if getattr(wanted, a) != getattr(shown, a)) or "other"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def cli(*args, capture: bool = True) -> str:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    done = subprocess.run([*CLI, *map(str, args)], cwd=ROOT, env=env, text=True,
                          capture_output=capture, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"clipseek {' '.join(map(str, args))} failed:\n{done.stderr}")
    return done.stdout


def run_searches(library: Path, model: Path, captions: list[str], out: Path, stage1: bool) -> dict[str, list]:
    batch = out / "queries.txt"
    batch.write_text("\n".join(captions) + "\n", encoding="utf-8")
    args = ["--library", library, "--model", model, "search", "--batch", batch, "--json", "-k", "5"]
    if stage1:
        args.append("--stage1")
    lines = cli(*args).splitlines()
    return {row["query"]: row["results"] for row in map(json.loads, lines) if row.get("query")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7301, help="held-out seed (training used 1 and 2)")
    ap.add_argument("--order-pairs", type=int, default=40,
                    help="pairs of videos showing two events in both orders (0: skip that set)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "quality")
    ap.add_argument("--full-model", type=Path, default=MODELS["full"])
    ap.add_argument("--baseline-model", type=Path, default=MODELS["mean-pooling"])
    args = ap.parse_args(argv)

    from engine.shapes.generate import generate_dataset, generate_order_pairs, load_annotations

    out = args.out
    data = held_out(out / f"heldout-seed{args.seed}", lambda d: generate_dataset(d, n_videos=args.videos,
                                                                                 seed=args.seed))
    annotations = load_annotations(data)
    events, temporal = queries_from(annotations, data)
    captions = sorted(events) + sorted(temporal)
    order_temporal: dict[str, list] = {}
    if args.order_pairs > 0:
        # Another seed than the main set's, so that the two sets share no render.
        order_data = held_out(out / f"order-seed{args.seed}-{args.order_pairs}",
                              lambda d: generate_order_pairs(d, args.order_pairs, seed=args.seed + 1))
        _, order_temporal = queries_from(load_annotations(order_data), order_data)

    runs = [("full model", args.full_model, False), ("full model, stage 1 only", args.full_model, True),
            ("mean-pooling model", args.baseline_model, False)]
    table = {}
    for label, model, stage1 in runs:
        if not (model / "bundle.json").is_file():
            print(f"skipping {label}: no bundle at {model}", file=sys.stderr)
            continue
        t = time.perf_counter()
        library = indexed_library(out, "library", model, data)
        index_s = time.perf_counter() - t
        t = time.perf_counter()
        results = run_searches(library, model, captions, out, stage1)
        search_s = time.perf_counter() - t
        ev, tp = score(results, events), score(results, temporal)
        table[label] = {"events": ev, "temporal": tp, "index_seconds": round(index_s, 1),
                        "search_seconds": round(search_s, 1), "model": str(model),
                        "shot_misses_by_attribute": misses_by_attribute(results, annotations, data)}
        if order_temporal:
            order_library = indexed_library(out, "order-library", model, order_data)
            order_results = run_searches(order_library, model, sorted(order_temporal), out, stage1)
            table[label]["order_set_temporal"] = score(order_results, order_temporal)
    print_table(table)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"seed": args.seed, "videos": len(annotations), "event_queries": len(events),
               "temporal_queries": len(temporal), "order_pairs": args.order_pairs,
               "order_set_temporal_queries": len(order_temporal), "results": table}
    (out / "results.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"\nwrote {out / 'results.json'}")
    return 0


def held_out(folder: Path, generate) -> Path:
    """``folder``, generated by ``generate(folder)`` unless an earlier run left it complete."""
    if not (folder / "annotations.json").is_file():
        t = time.perf_counter()
        generate(folder)
        print(f"generated {folder.name} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return folder


def indexed_library(out: Path, prefix: str, model: Path, data: Path) -> Path:
    """A library of ``data`` indexed with ``model``: one per model *version*, so a retrained bundle at the
    same path gets a fresh index."""
    from engine.runtime.bundle import open_bundle

    library = out / f"{prefix}-{open_bundle(model).fingerprint[:12]}-{model.name}"
    if not (library / "catalog.sqlite").exists():
        cli("--library", library, "--model", model, "add-folder", data)
    cli("--library", library, "--model", model, "index", "--json-progress")
    return library


def print_table(table: dict) -> None:
    head = (f"{'model':28s} {'moment R@1':>10s} {'moment R@5':>10s} {'file R@1':>9s} {'temporal R@1':>12s} "
            f"{'order-set temporal R@1':>22s}")
    print(head)
    print("-" * len(head))
    for label, row in table.items():
        ev, tp = row["events"], row["temporal"]
        order = row.get("order_set_temporal")
        print(f"{label:28s} {ev['moment_R@1']:10.3f} {ev['moment_R@5']:10.3f} {ev['file_R@1']:9.3f} "
              f"{tp['moment_R@1']:12.3f} {order['moment_R@1'] if order else float('nan'):22.3f}")
    print("\nwrong top results of shot captions, by what the shown shot differs in")
    for label, row in table.items():
        misses = row["shot_misses_by_attribute"]
        print(f"{label:28s} " + ", ".join(f"{k} {v}" for k, v in misses.items()))


if __name__ == "__main__":
    sys.exit(main())
