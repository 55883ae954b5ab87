"""How long the built-in model's training recipe takes on this machine, stage by stage.

    .venv/bin/python benchmarks/training_time.py [--steps 40] [--runs build/train] [--out training_time.json]

The recipe (`make train-demo-model`, issue: at most 60 minutes on 2 cores) is three runs: the still-frame stage
(train_shapes_still), the frame layout on the same stills with the towers frozen (train_shapes_layout), and the
full stack (train_shapes_full, which starts from the layout run and exports the bundle). For each config this
script measures:

  data        rendering the config's training clips and finding every clip's caption neighbours (the hard
              negatives), with the clips rendered by one process per core (as training does) and, beside
              it in the same run, by one process (as before)
  step        median seconds per optimisation step: a run of --steps steps on the config's model, batch and
              losses (600 clips, no init_from: the time of a step does not depend on either)
  eval+export rendering and scoring the config's evaluation clips, and exporting the bundle (that short
              run does both when the config does)
  estimate    data + steps x step + eval+export
Where a finished run of the config is found under --runs (build/train/still, build/train/layout, build/train/full,
as the Makefile writes them) with the config's step count, its own optimisation time (loss_log.jsonl) is shown
beside the estimate. Prints a table and writes benchmarks/out/<--out>.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, print_table, write_json  # noqa: E402

CONFIGS = ROOT / "engine" / "model" / "configs"
# run folder -> config, in order
RECIPE = {"still": "train_shapes_still", "layout": "train_shapes_layout", "full": "train_shapes_full"}
WARM_UP_STEPS = 5
SHORT_RUN_CLIPS = 600


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40, help="steps of each short run (after 5 warm-up steps)")
    ap.add_argument("--runs", type=Path, default=ROOT / "build" / "train", help="folder of finished runs")
    ap.add_argument("--no-sequential", action="store_true", help="skip rendering with one process")
    ap.add_argument("--out", default="training_time.json")
    args = ap.parse_args(argv)

    import torch

    from engine.model.train_config import load_train_config

    stages = []
    for folder, name in RECIPE.items():
        cfg = load_train_config(CONFIGS / f"{name}.json")
        torch.set_num_threads(cfg.threads)
        stage = {"config": name, "steps": cfg.steps, "clips": cfg.data.clips}
        stage.update(time_data(cfg, sequential=not args.no_sequential))
        stage.update(time_short_run(cfg, args.steps))
        stage["estimate_s"] = (stage["data_s"] + stage["steps"] * stage["step_s"] + stage["eval_s"]
                               + stage["export_s"])
        stage["measured_run"] = run = measured_run(args.runs / folder, cfg)
        stage["with_measured_run_s"] = (stage["estimate_s"] - stage["steps"] * stage["step_s"] + run["seconds"]
                                        if run else None)
        stages.append(stage)
        print(f"{name}: {json.dumps(stage)}", flush=True)

    rows = []
    for s in stages:
        run = s["measured_run"]
        rows.append([s["config"], s["clips"], _min(s["data_s"]), _min(s.get("data_one_process_s")),
                     f"{s['step_s']:.3f}", s["steps"], _min(s["steps"] * s["step_s"]),
                     _min(run["seconds"] if run else None), _min(s["eval_s"] + s["export_s"]), _min(s["estimate_s"]),
                     _min(s["with_measured_run_s"])])
    total = sum(s["estimate_s"] for s in stages)
    measured_total = (sum(s["with_measured_run_s"] for s in stages)
                      if all(s["measured_run"] for s in stages) else None)
    rows.append(["recipe", "", "", "", "", "", "", "", "", _min(total), _min(measured_total)])
    print()
    print_table(["config", "clips", "data min", "data, 1 process", "s/step", "steps", "steps min",
                 "measured run min", "eval+export min", "estimate min", "with measured run min"], rows)
    path = write_json(args.out, {"stages": stages, "recipe_estimate_s": total,
                                 "recipe_with_measured_runs_s": measured_total})
    print(f"\nwrote {path}")
    return 0


def time_data(cfg, sequential: bool) -> dict:
    """Seconds to render the config's clips (per core, and with one process) and find their neighbours."""
    from engine.model.data import caption_neighbours
    from engine.model.datasets import clips_for_source
    from engine.model.stack import StackConfig, build_model

    spec = build_model(StackConfig.from_json(cfg.stack)).export_spec()
    out: dict = {}
    passes = [("data_render_s", None)] + ([("data_one_process_render_s", 1)] if sequential else [])
    for key, workers in passes:
        with tempfile.TemporaryDirectory() as cache:
            start = time.perf_counter()
            clips = clips_for_source(cfg.data, spec.frames_per_clip, spec.image_size, cfg.sample_fps,
                                     cache_dir=Path(cache), resize=spec.resize, workers=workers)
            out[key] = time.perf_counter() - start
    start = time.perf_counter()
    if cfg.hard_negative_groups:
        caption_neighbours(clips.captions)
    out["neighbours_s"] = time.perf_counter() - start
    out["data_s"] = out["data_render_s"] + out["neighbours_s"]
    if sequential:
        out["data_one_process_s"] = out["data_one_process_render_s"] + out["neighbours_s"]
    return out


def time_short_run(cfg, steps: int) -> dict:
    """A short run of the config through ``train``: step time from its log, eval and export from its phases."""
    from engine.model.train import LOG_NAME, train

    phases: dict[str, float] = {}

    def progress(p) -> None:
        if p.phase not in phases:
            phases[p.phase] = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        short = replace(cfg, data=replace(cfg.data, clips=SHORT_RUN_CLIPS,
                                          order_pairs=min(cfg.data.order_pairs, SHORT_RUN_CLIPS // 4)),
                        steps=steps + WARM_UP_STEPS, epochs=None, time_budget_minutes=None, log_every=1,
                        checkpoint_every=10 ** 9, init_from=None,
                        export_after=str(Path(tmp) / "bundle") if cfg.export_after else None)
        train(None, Path(tmp) / "run", config=short, progress=progress)
        done = time.perf_counter()
        seconds = [json.loads(line)["seconds"] for line in (Path(tmp) / "run" / LOG_NAME).read_text().splitlines()]
    per_step = [b - a for a, b in zip(seconds[WARM_UP_STEPS:], seconds[WARM_UP_STEPS + 1:])]
    eval_start, export_start = phases.get("eval"), phases.get("export")
    return {"step_s": statistics.median(per_step),
            "eval_s": ((export_start or phases["done"]) - eval_start) if eval_start else 0.0,
            "export_s": (phases["done"] - export_start) if export_start else 0.0,
            "short_run_s": done - phases["data"]}


def measured_run(folder: Path, cfg) -> dict | None:
    """The optimisation time of a finished run of this config (same step count), or None."""
    log, config = folder / "loss_log.jsonl", folder / "config.json"
    if not (log.is_file() and config.is_file()):
        return None
    ran = json.loads(config.read_text())
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    if not lines or ran.get("steps") != cfg.steps or lines[-1]["step"] != cfg.steps:
        return None
    return {"folder": str(folder), "steps": lines[-1]["step"], "seconds": lines[-1]["seconds"]}


def _min(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f}"


if __name__ == "__main__":
    raise SystemExit(main())
