"""The runtime loads and runs a bundle in a process where torch and open_clip cannot be imported."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

BLOCKER = '''
import sys

class _NoTorch:
    BLOCKED = ("torch", "torchvision", "open_clip", "engine.model")

    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in self.BLOCKED):
            raise ImportError(f"{name} is blocked: the runtime must not need it")
        return None

sys.meta_path.insert(0, _NoTorch())
'''

SCRIPT = '''
import sys
import numpy as np
from engine.runtime import load_model
from engine.runtime.store import import_bundle, list_bundles

model = load_model(sys.argv[1], device="auto")
frames = np.random.default_rng(0).integers(0, 256, size=(6, 40, 50, 3), dtype=np.uint8)
features = model.encode_frames(frames)
clips = model.encode_clips(features[:4].reshape(1, 4, -1), np.ones((1, 4), np.float32))
query = model.encode_text(["a person walking a dog"])
scores = model.rerank(query, clips.clip_tokens, clips.frame_tokens, np.ones((1, 4), np.float32))
assert np.isfinite(scores).all() and scores.shape == (1,)
assert [e.ok for e in list_bundles(sys.argv[2])] == []
for banned in ("torch", "open_clip", "torchvision"):
    assert banned not in sys.modules, banned
try:
    import torch  # noqa: F401
except ImportError:
    print("OK", features.shape, model.providers)
'''


def test_runtime_runs_without_torch(runtime_bundle, tmp_path):
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent(BLOCKER))
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(repo)]))
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(runtime_bundle), str(tmp_path / "models")],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK (6, 64)")
