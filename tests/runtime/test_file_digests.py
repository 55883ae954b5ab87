"""Loading a model hashes only the bundle files changed since they were last hashed (engine/runtime/file_digests.py);
`clipseek model verify` still reads every byte."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from engine.errors import BundleError
from engine.runtime import load_model
from engine.runtime.bundle import verify
from engine.runtime.file_digests import memo_path, sha256_file, sha256_files


def _memo() -> dict:
    return json.loads(memo_path().read_text(encoding="utf-8"))


def test_a_load_remembers_each_file_digest(bundle_copy):
    load_model(bundle_copy, device="cpu")
    graph = (bundle_copy / "clip_encoder.onnx").resolve()
    assert _memo()[str(graph)]["sha256"] == sha256_file(graph)


def test_a_remembered_digest_is_trusted_while_the_file_is_unchanged(bundle_copy):
    """A digest forged into the memo is believed by a load (so the memo is read), never by verify."""
    load_model(bundle_copy, device="cpu")
    memo = _memo()
    memo[str((bundle_copy / "clip_encoder.onnx").resolve())]["sha256"] = "0" * 64
    memo_path().write_text(json.dumps(memo), encoding="utf-8")
    with pytest.raises(BundleError, match="fingerprint"):
        load_model(bundle_copy, device="cpu")
    assert verify(bundle_copy) == []


def test_a_file_rewritten_with_its_old_times_is_hashed_again(bundle_copy):
    """Same size, same inode, modification time set back: the change time still tells."""
    load_model(bundle_copy, device="cpu")
    graph = bundle_copy / "clip_encoder.onnx"
    before = graph.stat()
    data = bytearray(graph.read_bytes())
    data[-1] ^= 0xFF
    with open(graph, "r+b") as fh:
        fh.write(data)
    os.utime(graph, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = graph.stat()
    assert (after.st_size, after.st_ino, after.st_mtime_ns) == (before.st_size, before.st_ino, before.st_mtime_ns)
    with pytest.raises(BundleError, match="fingerprint"):
        load_model(bundle_copy, device="cpu")


def test_a_damaged_memo_is_ignored_and_replaced(bundle_copy):
    memo_path().parent.mkdir(parents=True, exist_ok=True)
    memo_path().write_bytes(b"\x00{not json")
    load_model(bundle_copy, device="cpu")
    assert str((bundle_copy / "frame_encoder.onnx").resolve()) in _memo()


def test_a_memo_that_cannot_be_written_leaves_loading_alone(bundle_copy, tmp_path, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv("CLIPSEEK_DATA_DIR", str(blocker / "data"))   # its folders cannot be made
    model = load_model(bundle_copy, device="cpu")
    assert model.encode_text(["a dog"]).vector.shape[0] == 1
    assert not memo_path().exists()


def test_files_that_are_gone_leave_the_memo(runtime_bundle, bundle_copy, tmp_path):
    load_model(bundle_copy, device="cpu")
    gone = str(bundle_copy.resolve())
    shutil.rmtree(bundle_copy)
    other = shutil.copytree(runtime_bundle, tmp_path / "other")
    load_model(other, device="cpu")
    keys = _memo()
    assert keys and not [key for key in keys if key.startswith(gone + os.sep)]


def test_without_the_memo_every_file_is_read(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"abc")
    assert sha256_files([path], remembered=True) == [sha256_file(path)]
    memo = _memo()
    memo[str(path.resolve())]["sha256"] = "f" * 64
    memo_path().write_text(json.dumps(memo), encoding="utf-8")
    assert sha256_files([path], remembered=True) == ["f" * 64]
    assert sha256_files([path]) == [sha256_file(path)]
