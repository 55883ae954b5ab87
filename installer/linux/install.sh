#!/usr/bin/env bash
# Install ClipSeek for the current user from an unpacked release archive, or remove it again.
#
#   ./install.sh               install (or update) into your home folder; no root needed
#   ./install.sh --uninstall   remove the program, its menu entry, icons and command links
#
# Options: --data-home DIR (default: $XDG_DATA_HOME, else ~/.local/share)
#          --bin-dir DIR   (default: ~/.local/bin; where the `clipseek` and `clipseek-gui` links go)
# What goes where:
#   DATA_HOME/clipseek-app/                    the program (this archive's app/ folder)
#   DATA_HOME/applications/clipseek.desktop    the menu entry
#   DATA_HOME/icons/hicolor/*/apps/clipseek.*  the icon, several sizes
#   BIN_DIR/clipseek, BIN_DIR/clipseek-gui     links to the program
# Your libraries, settings and models (DATA_HOME/ClipSeek) are never touched, not even by --uninstall.
set -euo pipefail

APP_ID=clipseek
here=$(cd "$(dirname "$0")" && pwd)
data_home=${XDG_DATA_HOME:-$HOME/.local/share}
bin_dir=$HOME/.local/bin
action=install

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --uninstall) action=uninstall ;;
    --data-home) data_home=${2:?--data-home needs a folder}; shift ;;
    --bin-dir) bin_dir=${2:?--bin-dir needs a folder}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

app_dir=$data_home/$APP_ID-app
desktop_file=$data_home/applications/$APP_ID.desktop
icon_root=$data_home/icons/hicolor
manifest=$app_dir/INSTALLED-FILES

refresh_caches() {
  if command -v update-desktop-database >/dev/null; then
    update-desktop-database -q "$data_home/applications" 2>/dev/null || true
  fi
  if command -v gtk-update-icon-cache >/dev/null && [ -d "$icon_root" ]; then
    gtk-update-icon-cache -q -f -t "$icon_root" 2>/dev/null || true
  fi
}

# A path is ours to delete only if it is a link into app_dir or a file this installer wrote.
remove_installed() {
  local listed=()
  if [ -f "$manifest" ]; then
    mapfile -t listed < "$manifest"
  else   # an install without a manifest: the fixed names
    listed=("$desktop_file" "$bin_dir/clipseek" "$bin_dir/clipseek-gui")
    for icon in "$icon_root"/*/apps/$APP_ID.png "$icon_root"/*/apps/$APP_ID.svg; do
      [ -e "$icon" ] && listed+=("$icon")
    done
  fi
  for path in "${listed[@]}"; do
    [ -n "$path" ] || continue
    if [ -L "$path" ]; then
      case "$(readlink "$path")" in "$app_dir"/*) rm -f "$path" ;; esac
    elif [ -f "$path" ]; then
      rm -f "$path"
    fi
  done
  rm -rf "$app_dir"
}

if [ "$action" = uninstall ]; then
  if [ ! -d "$app_dir" ] && [ ! -e "$desktop_file" ]; then
    echo "ClipSeek is not installed in $data_home; nothing to remove."
    exit 0
  fi
  remove_installed
  refresh_caches
  echo "ClipSeek removed from $data_home. Your libraries and settings in $data_home/ClipSeek are kept."
  exit 0
fi

[ -x "$here/app/clipseek-gui" ] || { echo "install.sh: $here/app/clipseek-gui is missing; run this script" \
                                          "from the unpacked ClipSeek archive" >&2; exit 1; }

# The program: copied beside its destination first, then swapped in, so an update never leaves half
# of two versions.
mkdir -p "$data_home" "$data_home/applications" "$bin_dir"
staging=$(mktemp -d "$data_home/.$APP_ID-app.XXXXXX")
trap 'rm -rf "$staging"' EXIT
cp -a "$here/app/." "$staging/"
cp "$0" "$staging/install.sh"
[ -f "$here/BUILD-INFO.json" ] && cp "$here/BUILD-INFO.json" "$staging/"
[ -d "$app_dir" ] && remove_installed
mv "$staging" "$app_dir"
trap - EXIT
chmod 755 "$app_dir"

installed=()
exe=$app_dir/clipseek-gui
sed "s|@EXEC@|$exe|g" "$here/clipseek.desktop" > "$desktop_file"
chmod 644 "$desktop_file"
installed+=("$desktop_file")
for icon in "$here"/icons/hicolor/*/apps/$APP_ID.*; do
  [ -f "$icon" ] || continue
  target=$icon_root/${icon#"$here/icons/hicolor/"}
  mkdir -p "$(dirname "$target")"
  cp "$icon" "$target"
  installed+=("$target")
done
for name in clipseek clipseek-gui; do
  ln -sfn "$app_dir/$name" "$bin_dir/$name"
  installed+=("$bin_dir/$name")
done
printf '%s\n' "${installed[@]}" > "$manifest"
refresh_caches

echo "ClipSeek installed in $app_dir."
echo "Open it from your applications menu, or run: $bin_dir/clipseek-gui"
case ":$PATH:" in *":$bin_dir:"*) ;; *) echo "(add $bin_dir to your PATH to type just 'clipseek')" ;; esac
echo "Check it works: $bin_dir/clipseek-gui --self-test"
echo "Remove it with: $app_dir/install.sh --uninstall"
