"""`clipseek demo` without a display: the README's main command, through the CLI, with the built-in model."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.api.demo import demo_queries

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _clipseek(*args, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["HF_HUB_OFFLINE"] = "1"
    return subprocess.run([sys.executable, "-m", "engine.cli.main", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=600, input=stdin)


def test_demo_generates_indexes_and_prints_searches_that_find_their_videos(tmp_path):
    library = tmp_path / "demo"
    first = _clipseek("--library", library, "demo", "--videos", 4)
    assert first.returncode == 0, first.stderr
    assert "generating 4 demo videos" in first.stderr and "indexing the demo library" in first.stderr
    annotations = json.loads((library / "videos" / "annotations.json").read_text())
    assert len(annotations) == 4
    files_of: dict[str, set[str]] = {}
    for video in annotations:
        for shot in video["shots"]:
            files_of.setdefault(shot["caption"], set()).add(Path(video["video"]).name)
        for both in video["temporal"]:
            files_of.setdefault(both["caption"], set()).add(Path(video["video"]).name)
    queries = demo_queries(library)
    assert len(queries) == 4 and ", then " in queries[-1] and all(q in files_of for q in queries)
    for query in queries:     # each demo search, timed, with its top three moments
        block = first.stdout.split(f"{query!r}", 1)[1].split("\n\n", 1)[0]
        assert len([line for line in block.splitlines()[1:] if "shapes_" in line]) == 3, first.stdout
    shots = [caption for caption in files_of if ", then " not in caption]
    batch = _clipseek("--library", library, "search", "--batch", "-", "-k", 1, stdin="\n".join(shots))
    assert batch.returncode == 0, batch.stderr
    answers = [json.loads(line) for line in batch.stdout.splitlines()]
    found = sum(Path(a["results"][0]["path"]).name in files_of[a["query"]] for a in answers)
    # The built-in model finds nearly every shot's file among four (chance is about a third).
    assert len(answers) == len(shots) and found >= 0.75 * len(shots), answers

    again = _clipseek("--library", library, "demo", "--videos", 4)   # generated once, indexed incrementally
    assert again.returncode == 0 and "generating" not in again.stderr, again.stderr
    status = json.loads(_clipseek("--library", library, "status", "--json").stdout)
    assert status["files"] == {"pending": 0, "indexed": 4, "skipped": 0, "failed": 0}
    assert status["model"] == "clipseek-shapes" and status["demo"] is True
    text = _clipseek("--library", library, "status").stdout
    assert text.splitlines()[0] == f"library  {library.resolve()} (the demo library)"


def test_demo_refuses_zero_videos_before_making_anything(tmp_path):
    done = _clipseek("--library", tmp_path / "demo", "demo", "--videos", 0)
    assert done.returncode == 2 and done.stderr == "clipseek: the demo needs at least 1 video, not 0\n"
    assert not (tmp_path / "demo").exists()
