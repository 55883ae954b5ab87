#!/usr/bin/env bash
# Build the Linux desktop bundle of ClipSeek and pack it as dist/clipseek-VERSION-linux-x86_64-FLAVOUR.tar.gz.
#
# Usage: installer/build.sh [cpu|gpu|all]      (default: cpu)
#
# Each flavour gets its own virtual environment, build/installer-venv-FLAVOUR, made here from PyPI
# with the runtime dependencies only (no torch) plus PyInstaller; .venv is never touched.
# hnswlib is compiled from source for a generic x86-64 CPU (HNSWLIB_MARCH, default x86-64) so the
# bundle runs on any 64-bit PC, not only on the one that built it.
# Environment: PYTHON (default python3), HNSWLIB_MARCH, NICE (default 19: builds are CPU heavy).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python=${PYTHON:-python3}
march=${HNSWLIB_MARCH:-x86-64}
hnswlib_flags="-march=$march -mtune=generic -g0"     # -g0: no debug symbols (8 MB of the module's 9)
nice_level=${NICE:-19}

flavours=("${1:-cpu}")
[ "${flavours[0]}" = all ] && flavours=(cpu gpu)
for f in "${flavours[@]}"; do
  case "$f" in cpu|gpu) ;; *) echo "build.sh: unknown flavour '$f'; use cpu, gpu or all" >&2; exit 2 ;; esac
done

version=$("$python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
run() { nice -n "$nice_level" "$@"; }

build_flavour() {
  local flavour=$1
  local venv=build/installer-venv-$flavour
  local work=build/installer-$flavour
  local name=clipseek-$version-linux-x86_64-$flavour
  local stage=$work/stage/$name
  mkdir -p "$work" dist

  # -- the build environment -----------------------------------------------------------------
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$python" installer/requirements.py "$flavour" > "$work/requirements.txt"
  cat installer/requirements-build.txt >> "$work/requirements.txt"
  # Prefer the versions .venv was tested with, where it has them.
  : > "$work/constraints.txt"
  if [ -x .venv/bin/python ]; then
    .venv/bin/python -m pip freeze --exclude-editable 2>/dev/null | grep -E '^[A-Za-z0-9_.-]+==' \
      | grep -viE '^(onnxruntime|onnxruntime-gpu|hnswlib|pyinstaller|pyinstaller-hooks-contrib)==' \
      > "$work/constraints.txt" || true
  fi
  local stamp=$venv/.stamp-$( (cat "$work/requirements.txt" "$work/constraints.txt"; echo "$hnswlib_flags") \
                               | sha256sum | cut -c1-16)
  if [ ! -f "$stamp" ]; then
    echo "build.sh [$flavour]: installing the runtime dependencies and PyInstaller into $venv"
    run "$venv/bin/python" -m pip install -q --upgrade pip wheel setuptools
    run "$venv/bin/python" -m pip install -q -r "$work/requirements.txt" -c "$work/constraints.txt"
    echo "build.sh [$flavour]: compiling hnswlib for -march=$march (no -march=native)"
    # --no-cache-dir: a wheel cached from another build (say .venv's, for x86-64-v3) must not come back.
    HNSWLIB_NO_NATIVE=1 CPPFLAGS="$hnswlib_flags" CFLAGS="$hnswlib_flags" \
      run "$venv/bin/python" -m pip install -q --no-cache-dir --no-binary hnswlib --force-reinstall --no-deps \
      $("$python" installer/requirements.py source)
    touch "$stamp"
  fi

  # -- the one-folder bundle -------------------------------------------------------------------
  echo "build.sh [$flavour]: running PyInstaller"
  CLIPSEEK_FLAVOUR=$flavour run "$venv/bin/pyinstaller" --noconfirm --log-level WARN \
    --distpath "$work/dist" --workpath "$work/pyinstaller" installer/clipseek.spec
  local app=$work/dist/clipseek

  # -- the archive: bundle + desktop integration + install script -----------------------------
  rm -rf "$work/stage"
  mkdir -p "$stage"
  cp -a "$app" "$stage/app"
  # PyInstaller links each Qt library into _internal/ as well; for those the spec left out with their plugins the
  # link points at nothing.
  find "$stage/app" -xtype l -delete
  ln -s clipseek-gui "$stage/app/clipseek"          # one program, two names: the window and the CLI
  cp installer/linux/install.sh "$stage/install.sh"
  cp installer/linux/clipseek.desktop "$stage/clipseek.desktop"
  QT_QPA_PLATFORM=offscreen run "$venv/bin/python" installer/linux/render_icons.py \
    desktop_app/resources/logo.svg "$stage/icons"
  run "$venv/bin/python" installer/bundle_report.py "$stage/app" --flavour "$flavour" --version "$version" \
    --hnswlib-march "$march" --out "$stage/BUILD-INFO.json"
  local archive=dist/$name.tar.gz
  echo "build.sh [$flavour]: packing $archive"
  # BUILD-INFO.json first, so a reader finds it without unpacking the rest.
  (cd "$work/stage" && run tar -czf "$root/$archive.partial" "$name/BUILD-INFO.json" \
     $(cd "$name" && ls -A | grep -vx BUILD-INFO.json | sed "s|^|$name/|"))
  mv "$archive.partial" "$archive"
  "$python" - "$stage" "$archive" <<'PY'
import json, os, sys
stage, archive = sys.argv[1], sys.argv[2]
unpacked = sum(os.lstat(os.path.join(d, f)).st_size for d, _, fs in os.walk(stage) for f in fs)
info_path = os.path.join(stage, "BUILD-INFO.json")
info = json.load(open(info_path))
print(f"{archive}: packed {os.path.getsize(archive) / 1e6:.1f} MB, unpacked {unpacked / 1e6:.1f} MB, "
      f"minimum glibc {info['min_glibc']}, hnswlib {info['hnswlib']['vector_isa']}")
PY
}

for f in "${flavours[@]}"; do
  build_flavour "$f"
done
