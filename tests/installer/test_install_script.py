"""installer/linux/install.sh on a stand-in bundle: install into a home folder, update, remove."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINUX = REPO / "installer" / "linux"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="install.sh is a bash script")


def make_release(root: Path) -> Path:
    """The unpacked-archive layout with a shell script standing in for the frozen program."""
    release = root / "clipseek-0.0.0-linux-x86_64-cpu"
    app = release / "app"
    (app / "_internal").mkdir(parents=True)
    program = app / "clipseek-gui"
    program.write_text("#!/bin/sh\necho \"stand-in $(basename \"$0\") $*\"\n")
    program.chmod(0o755)
    (app / "clipseek").symlink_to("clipseek-gui")
    (app / "_internal" / "payload.txt").write_text("v1")
    shutil.copy(LINUX / "install.sh", release / "install.sh")
    shutil.copy(LINUX / "clipseek.desktop", release / "clipseek.desktop")
    for size in ("48x48", "256x256"):
        icon = release / "icons" / "hicolor" / size / "apps" / "clipseek.png"
        icon.parent.mkdir(parents=True)
        icon.write_bytes(b"\x89PNG stand-in")
    (release / "BUILD-INFO.json").write_text('{"min_glibc": "2.17"}')
    return release


def run(script: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    return subprocess.run(["bash", str(script), *args], env=env, capture_output=True, text=True, timeout=60)


def test_install_puts_program_entry_icons_and_links_in_the_users_folders(tmp_path):
    release, home = make_release(tmp_path), tmp_path / "home"
    home.mkdir()
    result = run(release / "install.sh", home)
    assert result.returncode == 0, result.stderr
    data = home / ".local" / "share"
    app = data / "clipseek-app"
    assert (app / "clipseek-gui").is_file() and (app / "_internal" / "payload.txt").read_text() == "v1"
    desktop = (data / "applications" / "clipseek.desktop").read_text()
    assert f"Exec={app / 'clipseek-gui'}\n" in desktop and "@EXEC@" not in desktop
    assert (data / "icons" / "hicolor" / "256x256" / "apps" / "clipseek.png").is_file()
    cli = home / ".local" / "bin" / "clipseek"
    assert os.readlink(cli) == str(app / "clipseek")
    assert subprocess.run([str(cli), "status"], capture_output=True, text=True).stdout.strip() == \
        "stand-in clipseek status"


def test_update_replaces_the_old_program(tmp_path):
    release, home = make_release(tmp_path), tmp_path / "home"
    home.mkdir()
    assert run(release / "install.sh", home).returncode == 0
    (release / "app" / "_internal" / "payload.txt").write_text("v2")
    (home / ".local" / "share" / "clipseek-app" / "_internal" / "stale.txt").write_text("old")
    assert run(release / "install.sh", home).returncode == 0
    internal = home / ".local" / "share" / "clipseek-app" / "_internal"
    assert (internal / "payload.txt").read_text() == "v2"
    assert not (internal / "stale.txt").exists()


def test_uninstall_removes_everything_it_installed_and_keeps_user_data(tmp_path):
    release, home = make_release(tmp_path), tmp_path / "home"
    data, bin_dir = home / ".local" / "share", home / ".local" / "bin"
    user_library = data / "ClipSeek" / "library" / "catalog.sqlite"
    user_library.parent.mkdir(parents=True)
    user_library.write_text("the user's catalog")
    bin_dir.mkdir(parents=True)
    (bin_dir / "other-tool").write_text("not ours")
    assert run(release / "install.sh", home).returncode == 0

    result = run(data / "clipseek-app" / "install.sh", home, "--uninstall")   # the installed copy
    assert result.returncode == 0, result.stderr
    left = sorted(str(p.relative_to(home)) for p in home.rglob("*") if "clipseek" in p.name.lower()
                  and "ClipSeek" not in p.parts)
    assert left == []
    assert user_library.read_text() == "the user's catalog"
    assert (bin_dir / "other-tool").read_text() == "not ours"
    again = run(release / "install.sh", home, "--uninstall")
    assert again.returncode == 0 and "nothing to remove" in again.stdout


def test_uninstall_leaves_a_foreign_clipseek_link_alone(tmp_path):
    release, home = make_release(tmp_path), tmp_path / "home"
    home.mkdir()
    assert run(release / "install.sh", home).returncode == 0
    link = home / ".local" / "bin" / "clipseek"
    link.unlink()
    link.symlink_to("/usr/bin/env")        # the user's own clipseek, installed some other way
    assert run(release / "install.sh", home, "--uninstall").returncode == 0
    assert link.is_symlink() and os.readlink(link) == "/usr/bin/env"


def test_custom_data_home_and_bin_dir(tmp_path):
    release, home = make_release(tmp_path), tmp_path / "home"
    home.mkdir()
    data, bin_dir = tmp_path / "xdg-data", tmp_path / "bin"
    result = run(release / "install.sh", home, "--data-home", str(data), "--bin-dir", str(bin_dir))
    assert result.returncode == 0, result.stderr
    assert (data / "clipseek-app" / "clipseek-gui").is_file() and (bin_dir / "clipseek-gui").is_symlink()
    assert not (home / ".local").exists()
    assert run(release / "install.sh", home, "--uninstall", "--data-home", str(data),
               "--bin-dir", str(bin_dir)).returncode == 0
    assert not (data / "clipseek-app").exists() and not (bin_dir / "clipseek-gui").exists()


def test_install_refuses_a_folder_without_the_program(tmp_path):
    release, home = make_release(tmp_path), tmp_path / "home"
    home.mkdir()
    shutil.rmtree(release / "app")
    result = run(release / "install.sh", home)
    assert result.returncode == 1 and "clipseek-gui is missing" in result.stderr
    assert not (home / ".local" / "share" / "clipseek-app").exists()


def test_desktop_entry_is_well_formed():
    lines = (LINUX / "clipseek.desktop").read_text().splitlines()
    assert lines[0] == "[Desktop Entry]"
    entries = dict(line.split("=", 1) for line in lines[1:] if line and not line.startswith("#"))
    assert entries["Type"] == "Application" and entries["Icon"] == "clipseek"
    assert entries["Exec"] == "@EXEC@" and entries["Terminal"] == "false"
    assert entries["Categories"].endswith(";")
    validator = shutil.which("desktop-file-validate")
    if validator:
        assert subprocess.run([validator, str(LINUX / "clipseek.desktop")]).returncode == 0
