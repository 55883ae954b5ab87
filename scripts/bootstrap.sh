#!/usr/bin/env bash
# Create or update .venv with everything ClipSeek needs; safe to run again.
# Usage: scripts/bootstrap.sh [runtime|full]   (full adds the train, dev and shared extras)
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:-full}"

# binutils: the installer build (make test builds the Linux archive) reads ELF files with readelf and objdump.
debian_packages=(ffmpeg xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
                 libxcb-xinerama0 libxcb-xkb1 libxcb-randr0 libxcb-shape0 libxcb-cursor0 libxkbcommon-x11-0
                 libxkbcommon0 libegl1 libgl1 libfontconfig1 libdbus-1-3 libglib2.0-0 libpulse0
                 fonts-dejavu-core postgresql binutils)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${debian_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
# hnswlib builds from source; build it for any x86-64-v3 CPU, not just this one.
export HNSWLIB_NO_NATIVE=1
export CPPFLAGS="${CPPFLAGS:-} -march=x86-64-v3"
stamp=.venv/.clipseek-$flavour-$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  # The full set (a CUDA build of torch among it) takes about 7.5 GB, the runtime set about 1.5 GB.
  # Say so up front rather than let pip stop half way with "No space left on device".
  if [ "$flavour" = full ]; then need_mb=7800; else need_mb=1600; fi
  have_mb=$(du -sm .venv | cut -f1)
  free_mb=$(df -Pm .venv | awk 'NR==2 {print $4}')
  if [ $((need_mb - have_mb)) -gt "$free_mb" ]; then
    echo "bootstrap: the $flavour environment needs about $((need_mb - have_mb)) MB more in $(pwd)/.venv," \
         "but its disk has only $free_mb MB free." >&2
    exit 1
  fi
  .venv/bin/python -m pip install -q --upgrade pip wheel setuptools
  if [ "$flavour" = full ]; then
    .venv/bin/python -m pip install -q -e ".[train,dev,shared]"
  else
    .venv/bin/python -m pip install -q -e .
  fi
  touch "$stamp"
fi
