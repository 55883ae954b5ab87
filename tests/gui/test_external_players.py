"""Finding VLC, mpv or MPC-HC and starting them at a moment, with a stand-in program that records its arguments."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from desktop_app.external_players import SYSTEM_DEFAULT, ExternalPlayer, chosen_player, find_players


def recording_program(folder: Path) -> tuple[Path, Path]:
    """An executable that writes the arguments it was given to a JSON file, as a player would receive them."""
    record = folder / "arguments.json"
    program = folder / "fake-player"
    program.write_text(f"#!{sys.executable}\nimport json, sys\n"
                       f"open({str(record)!r}, 'w').write(json.dumps(sys.argv[1:]))\n")
    program.chmod(0o755)
    return program, record


def test_players_on_the_path_are_found_in_a_fixed_order():
    on_path = {"mpv": "/usr/bin/mpv", "vlc": "/usr/bin/vlc"}
    found = find_players(which=on_path.get, platform="linux", environ={}, is_file=lambda _p: False)
    assert [(p.key, p.name, p.executable) for p in found] == [("vlc", "VLC", "/usr/bin/vlc"),
                                                              ("mpv", "mpv", "/usr/bin/mpv")]
    assert find_players(which=lambda _n: None, platform="linux", environ={}, is_file=lambda _p: False) == []


def test_players_outside_the_path_are_found_where_their_installers_put_them():
    installed = {r"C:\Program Files\VideoLAN\VLC\vlc.exe", r"D:\Apps (x86)\MPC-HC\mpc-hc.exe"}
    found = find_players(which=lambda _n: None, platform="win32",
                         environ={"ProgramFiles": r"C:\Program Files", "ProgramFiles(x86)": r"D:\Apps (x86)"},
                         is_file=installed.__contains__)
    assert [(p.key, p.executable) for p in found] == [("vlc", r"C:\Program Files\VideoLAN\VLC\vlc.exe"),
                                                      ("mpc-hc", r"D:\Apps (x86)\MPC-HC\mpc-hc.exe")]
    # without the variables, no folder is guessed
    assert find_players(which=lambda _n: None, platform="win32", environ={}, is_file=lambda _p: True) == []
    mac = find_players(which=lambda _n: None, platform="darwin", environ={},
                       is_file=lambda p: p == "/Applications/mpv.app/Contents/MacOS/mpv")
    assert [(p.key, p.executable) for p in mac] == [("mpv", "/Applications/mpv.app/Contents/MacOS/mpv")]
    flatpaks = {"/var/lib/flatpak/exports/bin/org.videolan.VLC", "/home/u/.local/share/flatpak/exports/bin/io.mpv.Mpv"}
    linux = find_players(which=lambda _n: None, platform="linux", environ={"HOME": "/home/u"},
                         is_file=flatpaks.__contains__)
    assert sorted(p.executable for p in linux) == sorted(flatpaks)


def test_each_player_is_told_the_start_its_own_way():
    path = "/videos/a b.mp4"
    assert ExternalPlayer("vlc", "VLC", "vlc").command(path, 12.5) == ["vlc", "--start-time=12.500", path]
    assert ExternalPlayer("mpv", "mpv", "mpv").command(path, 12.5) == ["mpv", "--start=12.500", path]
    assert ExternalPlayer("mpc-hc", "MPC-HC", "mpc").command(path, 12.5) == ["mpc", path, "/start", "12500"]
    assert ExternalPlayer("mpv", "mpv", "mpv").command(path, -0.2) == ["mpv", "--start=0.000", path]


def test_a_chosen_player_that_is_gone_means_the_system_default():
    players = [ExternalPlayer("vlc", "VLC", "/usr/bin/vlc")]
    assert chosen_player("vlc", players) is players[0]
    assert chosen_player("mpv", players) is None and chosen_player(SYSTEM_DEFAULT, players) is None


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in program is a script with a #! line")
def test_open_starts_the_program_with_the_file_and_time(tmp_path):
    program, record = recording_program(tmp_path)
    ExternalPlayer("vlc", "VLC", str(program)).open("/videos/ünï code.mkv", 63.25)
    deadline = time.monotonic() + 10
    while not record.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert json.loads(record.read_text()) == ["--start-time=63.250", "/videos/ünï code.mkv"]
    with pytest.raises(OSError):
        ExternalPlayer("vlc", "VLC", str(tmp_path / "not installed")).open("/videos/x.mp4", 1.0)
