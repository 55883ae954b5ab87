"""`clipseek-gui --self-test` from the source tree: what the bundle check runs, without a bundle."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def run_self_test(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(tmp_path), "CLIPSEEK_DATA_DIR": str(tmp_path / "data")}
    env.pop("QT_QPA_PLATFORM", None)           # the self-test must choose offscreen itself
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return subprocess.run([sys.executable, "-m", "desktop_app", "--self-test", *args], env=env,
                          capture_output=True, text=True, timeout=600)


def test_self_test_indexes_two_videos_and_answers_a_text_and_an_image_search(tmp_path, tiny_bundle):
    result = run_self_test(tmp_path, "--model", str(tiny_bundle))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "self-test: ok (2 videos indexed, text and image search answered" in result.stdout
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("catalog.sqlite"))


def test_self_test_fails_with_a_reason_when_there_is_no_model(tmp_path):
    result = run_self_test(tmp_path, "--model", str(tmp_path / "no-such-bundle"))
    assert result.returncode == 2
    assert "self-test: failed" in result.stderr and "no-such-bundle" in result.stderr
