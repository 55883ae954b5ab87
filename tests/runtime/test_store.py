"""Importing, listing and resolving bundles; archives that try to escape are refused."""
from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from engine.errors import BundleError
from engine.runtime import store
from engine.runtime.store import import_bundle, list_bundles, resolve_bundle


def zip_bundle(bundle: Path, archive: Path, prefix: str = "clipseek-tiny-random/") -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for file in sorted(bundle.iterdir()):
            zf.write(file, prefix + file.name)
    return archive


def test_default_models_dir_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("CLIPSEEK_DATA_DIR", str(tmp_path))
    assert store.default_models_dir() == tmp_path / "models"
    monkeypatch.delenv("CLIPSEEK_DATA_DIR")
    assert store.default_models_dir().name == "models" and "ClipSeek" in str(store.default_models_dir())


def test_import_folder_then_list_and_resolve(runtime_bundle, tmp_path):
    models = tmp_path / "models"
    target = import_bundle(runtime_bundle, models)
    assert target == models / "clipseek-tiny-random"
    assert store.verify_bundle(target) == []
    assert import_bundle(runtime_bundle, models) == target  # same fingerprint: nothing to do
    entries = list_bundles(models)
    assert [(e.path.name, e.ok) for e in entries] == [("clipseek-tiny-random", True)]
    assert entries[0].info.fingerprint == json.loads((runtime_bundle / "bundle.json").read_text())["fingerprint"]
    assert resolve_bundle("clipseek-tiny-random", models) == target
    assert resolve_bundle(str(target)) == target
    with pytest.raises(BundleError, match="installed: clipseek-tiny-random"):
        resolve_bundle("nope", models)
    assert not [p for p in models.iterdir() if p.name.startswith(".")], "staging folders are cleaned up"


def test_import_zip_with_top_folder(runtime_bundle, tmp_path):
    target = import_bundle(zip_bundle(runtime_bundle, tmp_path / "b.zip"), tmp_path / "models")
    assert store.verify_bundle(target) == []


def test_import_tar_gz_flat(runtime_bundle, tmp_path):
    archive = tmp_path / "b.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for file in sorted(runtime_bundle.iterdir()):
            tf.add(file, file.name)
    assert store.verify_bundle(import_bundle(archive, tmp_path / "models")) == []


def test_corrupt_bundle_is_not_imported(bundle_copy, tmp_path):
    (bundle_copy / "text_encoder.onnx").write_bytes(b"garbage")
    models = tmp_path / "models"
    with pytest.raises(BundleError, match="fingerprint") as caught:
        import_bundle(bundle_copy, models)
    assert list(models.iterdir()) == []
    assert ".import-" not in str(caught.value) and f"imported: {bundle_copy}: fingerprint" in str(caught.value)


def test_partial_bundle_is_not_imported(bundle_copy, tmp_path):
    (bundle_copy / "tokenizer.json").unlink()
    with pytest.raises(BundleError, match="tokenizer.json") as caught:
        import_bundle(zip_bundle(bundle_copy, tmp_path / "b.zip"), tmp_path / "models")
    assert ".import-" not in str(caught.value) and str(tmp_path / "b.zip") in str(caught.value)
    assert list((tmp_path / "models").iterdir()) == []


def test_another_bundle_of_the_same_name_is_not_replaced_silently(bundle_copy, runtime_bundle, tmp_path):
    from engine.runtime.bundle import compute_fingerprint, open_bundle

    models = tmp_path / "models"
    import_bundle(runtime_bundle, models)
    (bundle_copy / "tokenizer.json").write_text((bundle_copy / "tokenizer.json").read_text() + "\n")
    data = json.loads((bundle_copy / "bundle.json").read_text())
    data["fingerprint"] = compute_fingerprint(bundle_copy, data["files"])
    (bundle_copy / "bundle.json").write_text(json.dumps(data))
    with pytest.raises(BundleError, match="already holds another bundle"):
        import_bundle(bundle_copy, models)
    target = import_bundle(bundle_copy, models, replace=True)
    assert open_bundle(target).fingerprint == data["fingerprint"]


@pytest.mark.parametrize("evil", ["../escape.txt", "/abs/escape.txt", "bundle/../../escape.txt"])
def test_zip_entries_outside_the_target_are_refused(runtime_bundle, tmp_path, evil):
    archive = zip_bundle(runtime_bundle, tmp_path / "evil.zip", prefix="")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(evil, "pwned")
    with pytest.raises(BundleError, match="outside the bundle folder"):
        import_bundle(archive, tmp_path / "models" / "inner")
    assert not list(tmp_path.rglob("escape.txt"))


def test_tar_symlink_entry_is_refused(runtime_bundle, tmp_path):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tf:
        for file in sorted(runtime_bundle.iterdir()):
            tf.add(file, file.name)
        link = tarfile.TarInfo("reranker2.onnx")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tf.addfile(link)
    with pytest.raises(BundleError, match="link"):
        import_bundle(archive, tmp_path / "models")


def test_tar_dotdot_entry_is_refused(tmp_path):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tf:
        data = b"pwned"
        info = tarfile.TarInfo("../escape.txt")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    with pytest.raises(BundleError, match="outside the bundle folder"):
        import_bundle(archive, tmp_path / "models")
    assert not (tmp_path / "escape.txt").exists()


def test_folder_with_symlink_is_refused(bundle_copy, tmp_path):
    (bundle_copy / "tokenizer.json").unlink()
    os.symlink(tmp_path / "elsewhere.json", bundle_copy / "tokenizer.json")
    with pytest.raises(BundleError, match="symbolic link"):
        import_bundle(bundle_copy, tmp_path / "models")


@pytest.mark.parametrize("name", ["b.zip", "b.tar.gz"])
def test_damaged_archive_is_one_sentence(tmp_path, name):
    archive = tmp_path / name
    archive.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(BundleError, match="not a readable .tar.gz or .zip model archive") as refused:
        import_bundle(archive, tmp_path / "models")
    assert len(str(refused.value).splitlines()) == 1   # tarfile lists each compression it tried on its own line


def test_list_reports_broken_bundles(runtime_bundle, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(runtime_bundle, models / "good")
    (models / "broken").mkdir()
    (models / "broken" / "bundle.json").write_text("{")
    (models / "not-a-bundle").mkdir()
    entries = {e.path.name: e for e in list_bundles(models)}
    assert set(entries) == {"good", "broken"}
    assert entries["good"].ok and not entries["broken"].ok and entries["broken"].info is None
    assert list_bundles(tmp_path / "missing") == []
