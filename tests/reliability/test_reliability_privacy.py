"""Privacy: indexing and searching open no network connection, in the app's process or its workers.

Subprocesses get a sitecustomize.py (reliability_helpers.SITECUSTOMIZE) that refuses and logs
every socket connect, create_connection and DNS lookup; in-process the same calls are patched.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys

import cv2
import pytest

from engine.api.library import Library
from engine.settings import Settings
from reliability_helpers import REPO, clipseek
from videogen import ffmpeg_frames


def test_the_trap_catches_connections_in_subprocesses(network_trap):
    env, log = network_trap
    done = subprocess.run([sys.executable, "-c", "import urllib.request as u; u.urlopen('http://example.com', "
                           "timeout=2)"], env=env, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode != 0 and "network blocked by the test" in done.stderr
    assert "example.com" in log.read_text()


@pytest.mark.slow
def test_indexing_and_searching_make_no_network_connection(tmp_path, tiny_bundle, plain_videos, network_trap,
                                                           monkeypatch):
    env, log = network_trap
    folder = tmp_path / "videos"
    folder.mkdir()
    for video in sorted(plain_videos.glob("*.mp4"))[:3]:
        shutil.copy(video, folder)
    first = sorted(folder.glob("*.mp4"))[0]
    png = tmp_path / "frame.png"
    cv2.imwrite(str(png), cv2.cvtColor(ffmpeg_frames(first, 160, 120, max_frames=1)[0], cv2.COLOR_RGB2BGR))
    library = tmp_path / "library"
    for args in (["add-folder", folder], ["index", "--workers", "2"], ["search", "a red circle", "--json"],
                 ["search", "--image", png, "--json"], ["search", "--similar", f"{first}@1.0", "--json"],
                 ["status", "--json"], ["problems", "--json"]):
        done = clipseek(library, tiny_bundle, *args, env=env)
        assert done.returncode == 0, (args, done.stderr)
    assert not log.exists(), log.read_text()

    # The window's way: the Library in this process, its workers started from here.
    attempts: list[object] = []

    def refuse(*args, **_kwargs):
        attempts.append(args)
        raise OSError("network blocked by the test")

    real_connect = socket.socket.connect

    def connect(sock, address):
        if sock.family == socket.AF_UNIX:
            return real_connect(sock, address)
        refuse(address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("PYTHONPATH", env["PYTHONPATH"])      # spawned workers load the trap too
    monkeypatch.setenv("CLIPSEEK_NET_LOG", str(log))
    shutil.copy(sorted(plain_videos.glob("*.mp4"))[5], folder / "more.mp4")
    with Library.open(library, model=tiny_bundle, settings=Settings(workers=1)) as lib:
        assert lib.index().indexed == 1
        moments = lib.search("a blue square", k=3)
        assert moments and lib.similar(moments[0], k=2) is not None
    assert attempts == [] and not log.exists()


@pytest.mark.slow
def test_only_an_explicit_model_install_reaches_for_the_network(tmp_path, network_trap):
    pytest.importorskip("open_clip")
    env, log = network_trap
    env = {**env, "HF_HUB_OFFLINE": "0", "CLIPSEEK_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "engine.cli.main", "model", "install",
                           "openclip:ViT-B-32/laion2b_s34b_b79k"], env=env, capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("clipseek: ") and "Traceback" not in done.stderr
    assert "clipseek model import" in done.stderr          # what to do without internet
    assert "huggingface.co" in log.read_text()
