"""Models: two models' embeddings never mix; checkpoints are data, never code.

Archives of model bundles are unpacked safely; tests/runtime/test_store.py proves it
(entries outside the target, symlinks, '..' and damaged archives are refused).
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from engine.api.library import Library
from engine.errors import LibraryError
from reliability_helpers import REPO, clipseek


@pytest.fixture(scope="module")
def other_bundle(tmp_path_factory):
    """A second tiny bundle whose fingerprint differs (T = 2 frames per clip)."""
    pytest.importorskip("torch")
    from engine.model.export import export_tiny_bundle

    return export_tiny_bundle(tmp_path_factory.mktemp("other-bundle") / "tiny2", frames_per_clip=2)


def _fingerprint(bundle: Path) -> str:
    return json.loads((bundle / "bundle.json").read_text())["fingerprint"]


@pytest.mark.slow
def test_two_models_never_mix_and_model_use_reindexes(tmp_path, tiny_bundle, other_bundle, plain_videos):
    assert _fingerprint(tiny_bundle) != _fingerprint(other_bundle)
    folder = tmp_path / "videos"
    folder.mkdir()
    for video in sorted(plain_videos.glob("*.mp4"))[:3]:
        shutil.copy(video, folder)
    library = tmp_path / "library"
    assert clipseek(library, tiny_bundle, "add-folder", folder).returncode == 0
    assert clipseek(library, tiny_bundle, "index", "--workers", "1").returncode == 0

    refused = clipseek(library, other_bundle, "search", "a red circle")
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1
    assert "would mix two models" in refused.stderr and "clipseek model use" in refused.stderr
    with pytest.raises(LibraryError, match="would mix two models"):
        Library.open(library, model=other_bundle)

    switched = clipseek(library, tiny_bundle, "model", "use", other_bundle, "--yes")
    assert switched.returncode == 0, switched.stderr
    assert "3 file(s) will be re-indexed" in switched.stdout
    with Library.open(library, model=other_bundle) as lib:
        assert lib.catalog.fingerprints_in_use() == {}
        assert lib.status().files["pending"] == 3 and lib.vectors.count == 0
    assert clipseek(library, other_bundle, "index", "--workers", "1").returncode == 0
    with Library.open(library, model=other_bundle) as lib:
        in_use = lib.catalog.fingerprints_in_use()
        assert list(in_use) == [_fingerprint(other_bundle)]
        assert lib.vectors.count == in_use[_fingerprint(other_bundle)]
        assert lib.search("a red circle", k=2)
    manifest = json.loads((library / "vectors" / "manifest.json").read_text())
    assert manifest["fingerprint"] == _fingerprint(other_bundle)
    with pytest.raises(LibraryError, match="would mix two models"):
        Library.open(library, model=tiny_bundle)


@pytest.mark.slow
def test_an_updated_model_of_the_same_name_reindexes_the_library_and_says_so(tmp_path, tiny_bundle, other_bundle,
                                                                             plain_videos):
    """A ClipSeek update ships new weights under the built-in model's name: the old ones are gone, so the
    library's files are indexed again with the new version instead of the library refusing to open."""
    from engine.settings import Settings

    assert json.loads((other_bundle / "bundle.json").read_text())["name"] == "clipseek-tiny-random"
    models = tmp_path / "models"
    installed = models / "clipseek-tiny-random"
    shutil.copytree(tiny_bundle, installed)
    folder = tmp_path / "videos"
    folder.mkdir()
    for video in sorted(plain_videos.glob("*.mp4"))[:2]:
        shutil.copy(video, folder)
    library = tmp_path / "library"
    with Library.open(library, model="clipseek-tiny-random", models_dir=models, settings=Settings(workers=1)) as lib:
        lib.add_folder(folder)
        assert lib.index().indexed == 2
    shutil.rmtree(installed)
    shutil.copytree(other_bundle, installed)     # the update: the same name, other weights

    with Library.open(library, models_dir=models, settings=Settings(workers=1)) as lib:
        assert lib.bundle_info.fingerprint == _fingerprint(other_bundle)
        assert any("the model clipseek-tiny-random was updated" in n and "2 indexed file(s)" in n for n in lib.notices)
        assert lib.status().files["pending"] == 2 and lib.catalog.fingerprints_in_use() == {}
        assert lib.index().indexed == 2
        assert list(lib.catalog.fingerprints_in_use()) == [_fingerprint(other_bundle)]
        assert lib.search("a red circle", k=1)
    with pytest.raises(LibraryError, match="would mix two models"):
        Library.open(library, model=tiny_bundle)    # asking for another version by path is still refused

    shutil.rmtree(installed)                         # uninstalled: said, and `model use` can still switch
    with pytest.raises(LibraryError, match="indexed with the model clipseek-tiny-random, which is not installed"):
        Library.open(library, models_dir=models)
    with Library.open(library, models_dir=models, switching_model=True, settings=Settings(workers=1)) as lib:
        assert lib.set_model(tiny_bundle) == 2
        assert lib.status().files["pending"] == 2 and lib.catalog.fingerprints_in_use() == {}
    with Library.open(library, model=tiny_bundle, settings=Settings(workers=1)) as lib:
        assert lib.index().indexed == 2


class _RunsCodeWhenUnpickled:
    """What a malicious checkpoint carries: unpickling it creates a file (it could do anything)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_checkpoint_that_carries_code_is_refused_unrun(tmp_path):
    torch = pytest.importorskip("torch")
    from engine.model.checkpoint import FORMAT, VERSION, CheckpointError, load_checkpoint

    marker = tmp_path / "pwned"
    path = tmp_path / "checkpoint.pt"
    torch.save({"format": FORMAT, "version": VERSION, "model_state": {}, "stack_config": {},
                "train_config": {}, "step": 1, "elapsed_seconds": 0.0, "finished": True,
                "caption_bank": _RunsCodeWhenUnpickled(marker)}, path)
    with pytest.raises(CheckpointError, match="unreadable checkpoint.*holds Python objects besides tensors"):
        load_checkpoint(path)
    assert not marker.exists()


def test_a_real_checkpoint_still_loads_with_weights_only(tmp_path):
    torch = pytest.importorskip("torch")
    import random

    from engine.model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint

    saved = Checkpoint(model_state={"w": torch.arange(6.0).reshape(2, 3)}, stack_config={"backbone": "x"},
                       train_config={"seed": 3, "lr": 1e-3, "eval_data": None}, step=7, elapsed_seconds=1.5,
                       finished=False,
                       caption_bank={"embeddings": torch.ones(2, 3), "captions": ["a", "b"],
                                     "video_ids": torch.tensor([0, 1])},
                       optimizer_state={"state": {0: {"step": torch.tensor(7.0)}}, "param_groups": [{"lr": 0.1}]},
                       rng_state={"torch": torch.get_rng_state(), "python": random.getstate()})
    save_checkpoint(tmp_path / "checkpoint.pt", saved)
    loaded = load_checkpoint(tmp_path)
    assert torch.equal(loaded.model_state["w"], saved.model_state["w"]) and loaded.step == 7
    random.setstate(loaded.rng_state["python"])
    assert loaded.caption_bank["captions"] == ["a", "b"]


def test_every_torch_load_in_the_engine_is_weights_only():
    calls = []
    for path in (REPO / "engine").rglob("*.py"):
        for match in re.finditer(r"torch\.load\((?:[^()]|\([^()]*\))*\)", path.read_text(encoding="utf-8")):
            calls.append((path.relative_to(REPO), match.group(0)))
    assert calls, "no torch.load found: the pattern is stale"
    assert [c for c in calls if "weights_only=True" not in c[1]] == []


def test_model_use_refuses_a_damaged_copy_of_the_model_in_use(tmp_path, tiny_bundle):
    damaged = tmp_path / "damaged"
    shutil.copytree(tiny_bundle, damaged)
    graph = damaged / json.loads((damaged / "bundle.json").read_text())["files"]["text_encoder"]
    graph.write_bytes(graph.read_bytes()[:-100])          # cut short after export: same bundle.json, same fingerprint
    library = tmp_path / "library"
    (tmp_path / "videos").mkdir()
    assert clipseek(library, tiny_bundle, "add-folder", tmp_path / "videos").returncode == 0
    used = clipseek(library, tiny_bundle, "model", "use", damaged, "--yes")
    assert used.returncode == 2 and len(used.stderr.splitlines()) == 1, used.stderr
    assert "damaged after export" in used.stderr and "now using" not in used.stdout
