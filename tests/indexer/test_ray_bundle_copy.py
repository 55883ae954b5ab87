"""BundleCopy: the model bundle shipped to Ray nodes that lack the bundle folder, cached per node."""
from __future__ import annotations

import json
import os

from engine.indexer.ray_pool import BundleCopy
from engine.runtime.bundle import open_bundle, verify


def _copy_of(bundle) -> BundleCopy:
    return BundleCopy.of(bundle, open_bundle(bundle).fingerprint)


def test_a_copy_becomes_a_good_bundle_folder_in_the_cache(tiny_bundle, tmp_path):
    target = _copy_of(tiny_bundle).materialise(tmp_path / "cache")
    assert target.parent == tmp_path / "cache" and verify(target) == []
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in tiny_bundle.iterdir())


def test_a_good_cached_copy_is_used_as_it_is(tiny_bundle, tmp_path):
    copy = _copy_of(tiny_bundle)
    target = copy.materialise(tmp_path / "cache")
    os.utime(target / "bundle.json", (1, 1))
    assert copy.materialise(tmp_path / "cache") == target
    assert (target / "bundle.json").stat().st_mtime == 1     # not written again


def test_a_damaged_cached_copy_is_written_again_from_the_shipped_files(tiny_bundle, tmp_path):
    copy = _copy_of(tiny_bundle)
    target = copy.materialise(tmp_path / "cache")
    graph = json.loads((target / "bundle.json").read_text())["files"]["frame_encoder"]
    (target / graph).write_bytes(b"damaged")      # e.g. shipped from a bundle that was damaged then
    assert verify(target) != []
    assert copy.materialise(tmp_path / "cache") == target and verify(target) == []
