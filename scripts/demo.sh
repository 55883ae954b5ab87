#!/usr/bin/env bash
# The main job: build (once) the demo library of generated videos, index it, and open the window on it
# (or, without a display, print a few searches and their results).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
model_args=()
if [ ! -f assets/models/clipseek-shapes/bundle.json ]; then
  # No built-in trained model in this checkout: export one now so the pipeline has a model to run.
  if [ ! -f build/models/clipseek-tiny/bundle.json ]; then
    echo "demo: exporting a small model bundle into build/models/clipseek-tiny ..." >&2
    .venv/bin/clipseek model export clipseek-tiny --random-weights --bundle-name clipseek-tiny \
      --out build/models/clipseek-tiny
  fi
  model_args=(--model build/models/clipseek-tiny)
fi
gui_args=()
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then gui_args=(--no-gui); fi
library_args=()   # default: the demo library in the user's ClipSeek data folder
if [ -n "${CLIPSEEK_DEMO_LIBRARY:-}" ]; then library_args=(--library "$CLIPSEEK_DEMO_LIBRARY"); fi
exec .venv/bin/clipseek "${library_args[@]}" "${model_args[@]}" demo "${gui_args[@]}" "$@"
