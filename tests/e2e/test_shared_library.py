"""One index-and-search test, run on the embedded library (SQLite + hnswlib + local workers) and on the
shared one (PostgreSQL + Milvus + a Ray cluster on loopback), through the command line.

Both also search while another process indexes into the same library: on the shared configuration
that process is "another machine" (its own library folder, the same catalog and vectors).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_cli_end_to_end import frame_png, json_lines, run_cli
from videogen import ShotSpec, make_video

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["embedded", "shared"])
def configuration(request):
    """(catalog URL, vector store, Ray address) — all empty for the embedded library."""
    if request.param == "embedded":
        return "", "", None
    return (request.getfixturevalue("postgres_url"), request.getfixturevalue("milvus_store_url"),
            request.getfixturevalue("ray_cluster"))


def _connect(capsys, library: Path, bundle, catalog: str, vectors: str) -> None:
    if catalog or vectors:
        code, out, err = run_cli(capsys, "--library", library, "--model", bundle, "connect",
                                 "--catalog", catalog, "--vectors", vectors)
        assert code == 0, err
        assert "now uses catalog" in out


def _index_args(ray_address: str | None) -> list[str]:
    return ["index", "--json-progress"] + (["--ray", ray_address] if ray_address else [])


def _top_hit(capsys, base, png: Path) -> dict:
    code, out, err = run_cli(capsys, *base, "search", "--image", png, "-k", "3", "--json")
    assert code == 0, err
    results = json.loads(out)["results"]
    assert results, f"no results for {png}"
    return results[0]


def test_index_and_search_then_search_while_another_indexer_writes(configuration, tiny_bundle, video_folder,
                                                                   tmp_path, capsys):
    catalog, vectors, ray_address = configuration
    folder, truths = video_folder
    here = tmp_path / "library-here"
    _connect(capsys, here, tiny_bundle, catalog, vectors)
    base = ["--library", here, "--model", tiny_bundle]
    assert run_cli(capsys, *base, "add-folder", folder)[0] == 0
    code, out, err = run_cli(capsys, *base, *_index_args(ray_address))
    assert code == 0, err
    final = json_lines(out)[-1]
    assert final["state"] == "done" and final["indexed"] == len(truths) and final["failed"] == 0

    for name, t in (("forest.avi", 5.5), ("city.mkv", 1.0), ("beach.mp4", 4.2)):
        png = frame_png(folder / name, t, truths[name].size, tmp_path / f"{name}.png")
        top = _top_hit(capsys, base, png)
        assert top["path"] == str((folder / name).resolve())
        assert top["start"] <= t <= top["end"], (name, t, top)
        assert Path(top["thumbnail"]).is_file()

    # Another indexer adds a second folder while this library keeps answering searches.
    more = tmp_path / "More Videos"
    more.mkdir()
    late = make_video(more / "late.mp4", size=(320, 240), fps=25, seed=9,
                      shots=[ShotSpec(12.0, background=(250, 130, 0), shape="square", pattern="texture")])
    there = tmp_path / "library-there" if (catalog or vectors) else here
    _connect(capsys, there, tiny_bundle, catalog, vectors)
    other = ["--library", there, "--model", tiny_bundle]
    assert run_cli(capsys, *other, "add-folder", more)[0] == 0
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    indexer = subprocess.Popen([sys.executable, "-m", "engine.cli.main", *map(str, other), *_index_args(ray_address)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    png = frame_png(more / "late.mp4", 6.0, late.size, tmp_path / "late.png")
    searches = 0
    while indexer.poll() is None:
        code, out, err = run_cli(capsys, *base, "search", "a bright square", "-k", "3", "--json")
        assert code == 0, err
        searches += 1
        time.sleep(0.2)
    out, err = indexer.communicate()
    assert indexer.returncode == 0, err
    assert json_lines(out)[-1]["indexed"] == 1
    assert searches >= 1
    top = _top_hit(capsys, base, png)
    assert top["path"] == str((more / "late.mp4").resolve())
    assert top["start"] <= 6.0 <= top["end"]
    code, out, _ = run_cli(capsys, *base, "status", "--json")
    assert json.loads(out)["files"]["indexed"] == len(truths) + 1
    status = json.loads(out)
    if catalog:                          # PostgreSQL keeps its own backups
        assert (status["catalog_on_postgres"], status["catalog_copy"]) == (True, None)
        assert not list(here.glob("catalog.sqlite*"))
    else:
        assert not status["catalog_on_postgres"] and status["catalog_copy"].startswith("catalog.sqlite.copy.bak")
