"""The indexing parent reads what workers send back without importing what only workers need."""
from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.indexer.results import FileResult, SegmentResult
from videogen import make_video

ROOT = Path(__file__).resolve().parents[2]
WORKER_ONLY = ("av", "cv2", "onnxruntime", "engine.indexer.embed_file", "engine.media.decode")

# Run in a fresh interpreter: this test process has long since imported everything.
UNPICKLE = """
import pickle, sys, json
pickle.loads(sys.stdin.buffer.read())
print(json.dumps(sorted(m for m in sys.argv[1:] if m in sys.modules)))
"""

INDEX = """
import json, sys
from engine.cli.main import main
code = main(["--library", sys.argv[1], "--model", sys.argv[2], "index"])
print(json.dumps([code, sorted(m for m in sys.argv[3:] if m in sys.modules)]))
"""


def _python(code: str, *args: str, stdin: bytes = b"") -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], input=stdin, capture_output=True, cwd=ROOT,
                          timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode().strip().splitlines()[-1]


def test_a_file_result_unpickles_with_numpy_alone():
    v = np.ones(4, np.float32)
    result = FileResult(2.0, 25.0, 64, 48, 0, [SegmentResult(0.0, 2.0, 3, "t.jpg", v, v[None], v[None], np.ones(1))],
                        ["a warning"])
    assert pickle.loads(pickle.dumps(result)).segments[0].thumbnail == "t.jpg"
    assert json.loads(_python(UNPICKLE, *WORKER_ONLY, stdin=pickle.dumps(result))) == []


@pytest.mark.slow
def test_clipseek_index_leaves_decoding_and_the_model_to_its_workers(tmp_path, tiny_bundle):
    videos = tmp_path / "videos"
    videos.mkdir()
    make_video(videos / "a.mp4")
    make_video(videos / "b.mp4", seed=1)
    library = tmp_path / "library"
    subprocess.run([sys.executable, "-m", "engine.cli.main", "--library", str(library), "--model", str(tiny_bundle),
                    "add-folder", str(videos)], check=True, capture_output=True, cwd=ROOT, timeout=120)
    code, imported = json.loads(_python(INDEX, str(library), str(tiny_bundle), *WORKER_ONLY))
    assert code == 0 and imported == []
    assert sorted(p.name for p in (library / "thumbs").rglob("*.jpg"))   # the files really were indexed
