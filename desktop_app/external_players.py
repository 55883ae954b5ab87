"""Video players installed on this computer that can start a file at a given second.

The system's default player (what a double-click opens) always starts at the beginning: there is
no portable way to hand it a time. VLC, mpv and MPC-HC take one on their command line, so when one
of them is installed the window can open a moment where it starts.
"""
from __future__ import annotations

import ntpath
import os
import posixpath
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable

SYSTEM_DEFAULT = "system"


@dataclass(frozen=True)
class ExternalPlayer:
    key: str            # what the preference stores: "vlc", "mpv", "mpc-hc"
    name: str           # what the user reads: "VLC"
    executable: str

    def command(self, path: str, start: float) -> list[str]:
        start = max(0.0, start)
        if self.key == "vlc":
            return [self.executable, f"--start-time={start:.3f}", path]
        if self.key == "mpv":
            return [self.executable, f"--start={start:.3f}", path]
        return [self.executable, path, "/start", str(int(start * 1000))]    # MPC-HC counts milliseconds

    def open(self, path: str, start: float) -> None:
        """Start the player on its own (it outlives ClipSeek); OSError when it cannot be run."""
        options: dict = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        if sys.platform == "win32":
            options["creationflags"] = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
        else:
            options["start_new_session"] = True
        subprocess.Popen(self.command(path, start), **options)


# key, name, program names on PATH, and where installers put it when PATH does not say: pairs of an
# environment variable naming a folder and the path under it, or None and an absolute path. On Linux,
# Flatpak's launchers (which take the same arguments) are outside PATH until the next login.
_FLATPAK = ((None, "/var/lib/flatpak/exports/bin/{}"), ("HOME", ".local/share/flatpak/exports/bin/{}"))
_KNOWN = (
    ("vlc", "VLC", ("vlc",), {
        "win32": (("ProgramFiles", r"VideoLAN\VLC\vlc.exe"), ("ProgramFiles(x86)", r"VideoLAN\VLC\vlc.exe")),
        "darwin": ((None, "/Applications/VLC.app/Contents/MacOS/VLC"),),
        "linux": tuple((variable, place.format("org.videolan.VLC")) for variable, place in _FLATPAK)}),
    ("mpv", "mpv", ("mpv",), {
        "darwin": ((None, "/Applications/mpv.app/Contents/MacOS/mpv"),),
        "linux": tuple((variable, place.format("io.mpv.Mpv")) for variable, place in _FLATPAK)}),
    ("mpc-hc", "MPC-HC", ("mpc-hc64", "mpc-hc"), {
        "win32": (("ProgramFiles", r"MPC-HC\mpc-hc64.exe"), ("ProgramFiles(x86)", r"MPC-HC\mpc-hc.exe"))}),
)


def find_players(which: Callable[[str], str | None] = shutil.which, platform: str = sys.platform,
                 environ: dict[str, str] | None = None,
                 is_file: Callable[[str], bool] = os.path.isfile) -> list[ExternalPlayer]:
    """The known players found on PATH or in their usual install folder, in a fixed order."""
    environ = dict(os.environ if environ is None else environ)
    found: list[ExternalPlayer] = []
    for key, name, programs, usual_places in _KNOWN:
        executable = next((hit for hit in map(which, programs) if hit), None)
        if executable is None:
            for folder_variable, place in usual_places.get(platform, ()):
                if folder_variable is None:
                    candidate = place
                elif environ.get(folder_variable):
                    join = ntpath.join if platform == "win32" else posixpath.join
                    candidate = join(environ[folder_variable], place)
                else:
                    continue
                if is_file(candidate):
                    executable = candidate
                    break
        if executable:
            found.append(ExternalPlayer(key, name, executable))
    return found


def chosen_player(key: str, players: list[ExternalPlayer]) -> ExternalPlayer | None:
    """The player a preference names, or None for the system default (also when it was uninstalled)."""
    return next((player for player in players if player.key == key), None)
