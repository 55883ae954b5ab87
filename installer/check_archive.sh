#!/usr/bin/env bash
# Check a built Linux archive the way a user would meet it: unpack it into an empty folder and run the
# bundled program's self-test with no Python environment around (env -i: a minimal PATH, no
# PYTHONPATH, HOME a temporary folder), then install it into that HOME and remove it again.
#
# Usage: installer/check_archive.sh dist/clipseek-VERSION-linux-x86_64-FLAVOUR.tar.gz [--model BUNDLE_DIR]
#   --model: the model bundle for the self-test, for an archive built without a built-in model
#            (assets/models was empty); by default the self-test uses the built-in one.
# Exit status 0 when every step passed; the last lines say what failed otherwise.
set -euo pipefail
archive=${1:?usage: check_archive.sh ARCHIVE.tar.gz [--model BUNDLE_DIR]}
shift
model=()
if [ "${1:-}" = --model ]; then
  model=(--model "$(cd "${2:?--model needs a folder}" && pwd)")
fi
[ -f "$archive" ] || { echo "check_archive.sh: no archive at $archive" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/clipseek-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/unpacked" "$work/home"
tar -xzf "$archive" -C "$work/unpacked"
top=$(find "$work/unpacked" -mindepth 1 -maxdepth 1 -type d)
[ "$(printf '%s\n' "$top" | wc -l)" = 1 ] || { echo "FAIL: the archive must hold exactly one folder" >&2; exit 1; }
for part in app/clipseek-gui app/clipseek install.sh clipseek.desktop BUILD-INFO.json \
            icons/hicolor/scalable/apps/clipseek.svg icons/hicolor/256x256/apps/clipseek.png; do
  [ -e "$top/$part" ] || { echo "FAIL: $part is missing from the archive" >&2; exit 1; }
done
echo "ok: layout of $(basename "$top")"

# The bundle states its minimum glibc; this machine must meet it for the test to mean anything.
need=$(sed -n 's/.*"min_glibc": "\([0-9.]*\)".*/\1/p' "$top/BUILD-INFO.json")
have=$(getconf GNU_LIBC_VERSION | awk '{print $2}')
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
  echo "FAIL: the bundle needs glibc $need, this machine has $have" >&2; exit 1
fi
echo "ok: bundle needs glibc >= $need (this machine: $have)"
# libstdc++ is the system's too.
need_cxx=$(sed -n 's/.*"min_libstdcxx": "\(GLIBCXX_[0-9.]*\)".*/\1/p' "$top/BUILD-INFO.json")
system_cxx=$(/sbin/ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ && !found {print $NF; found=1}' \
             || true)
if [ -n "$need_cxx" ] && [ -n "$system_cxx" ]; then
  grep -aq "$need_cxx" "$system_cxx" || { echo "FAIL: the bundle needs $need_cxx, $system_cxx lacks it" >&2; exit 1; }
  echo "ok: bundle needs libstdc++ with $need_cxx ($system_cxx has it)"
fi

clean_env=(env -i "PATH=/usr/bin:/bin" "HOME=$work/home" "LANG=C.UTF-8" "TMPDIR=$work")
run_clean() { "${clean_env[@]}" timeout 600 "$@"; }

echo "running: $top/app/clipseek-gui --self-test ${model[*]:-}"
if ! run_clean "$top/app/clipseek-gui" --self-test "${model[@]}" > "$work/self-test.log" 2>&1; then
  tail -40 "$work/self-test.log" >&2
  echo "FAIL: the bundled self-test did not pass" >&2; exit 1
fi
grep "self-test: ok" "$work/self-test.log"

# The command-line name of the same program.
run_clean "$top/app/clipseek" "${model[@]}" model list > "$work/cli.log" 2>&1 \
  || { cat "$work/cli.log" >&2; echo "FAIL: 'clipseek model list' from the bundle" >&2; exit 1; }
echo "ok: clipseek model list"

# Install into the clean HOME, start the installed program, remove it again.
data=$work/home/.local/share
run_clean "$top/install.sh" > "$work/install.log"
for path in "$data/clipseek-app/clipseek-gui" "$data/applications/clipseek.desktop" \
            "$data/icons/hicolor/256x256/apps/clipseek.png" "$work/home/.local/bin/clipseek"; do
  [ -e "$path" ] || { cat "$work/install.log" >&2; echo "FAIL: install.sh did not create $path" >&2; exit 1; }
done
grep -q "^Exec=$data/clipseek-app/clipseek-gui$" "$data/applications/clipseek.desktop" \
  || { echo "FAIL: the installed desktop entry does not start the installed program" >&2; exit 1; }
run_clean "$work/home/.local/bin/clipseek" "${model[@]}" model list > /dev/null \
  || { echo "FAIL: the installed clipseek link does not run" >&2; exit 1; }
run_clean "$data/clipseek-app/install.sh" --uninstall > /dev/null
left=$(find "$data" "$work/home/.local/bin" \( -name 'clipseek*' -o -name 'clipseek-app' \) 2>/dev/null || true)
[ -z "$left" ] || { echo "FAIL: --uninstall left: $left" >&2; exit 1; }
echo "ok: install.sh installed into HOME and --uninstall removed it"
echo "PASS: $(basename "$archive")"
