"""settings.json: what the app writes loads back; a wrong type or value is one sentence naming it."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, fields

import pytest

from engine.errors import LibraryError
from engine.settings import GPU_WORKERS, Settings, max_local_workers


def write(tmp_path, data) -> os.PathLike:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_what_the_app_saves_loads_back(tmp_path):
    path = tmp_path / "settings.json"
    saved = Settings(sample_fps=4.0, max_segment_seconds=6.0, device="cpu", workers=3, thumbnail_width=480,
                     exclude=["@eaDir", "Work/raw"])
    saved.save(path)
    assert Settings.load(path) == saved
    assert Settings.load(tmp_path / "missing.json") == Settings()
    assert "@eaDir" in Settings().exclude and Settings().exclude is not Settings().exclude


def test_unknown_keys_are_ignored_and_harmless_spellings_accepted(tmp_path):
    path = write(tmp_path, {"sample_fps": 3, "thumbnail_width": 256.0, "from_a_newer_version": [1, 2]})
    loaded = Settings.load(path)
    assert loaded.sample_fps == 3 and loaded.thumbnail_width == 256 and isinstance(loaded.thumbnail_width, int)


@pytest.mark.parametrize("data, named", [
    ({"sample_fps": "abc"}, 'sample_fps must be a number between 0.1 and 30, not "abc"'),
    ({"sample_fps": 0}, "sample_fps must be a number between 0.1 and 30, not 0"),
    ({"max_segment_seconds": None}, "max_segment_seconds must be a number between 1 and 600, not null"),
    ({"min_segment_seconds": -1}, "min_segment_seconds must be a number between 0 and 600, not -1"),
    ({"shot_threshold": "hi"}, 'shot_threshold must be a number between 0.01 and 1, not "hi"'),
    ({"shot_threshold": 1.5}, "shot_threshold must be a number between 0.01 and 1, not 1.5"),
    ({"thumbnail_width": 0}, "thumbnail_width must be a whole number between 16 and 1920, not 0"),
    ({"thumbnail_width": 320.5}, "thumbnail_width must be a whole number between 16 and 1920, not 320.5"),
    ({"thumbnail_width": True}, "thumbnail_width must be a whole number between 16 and 1920, not true"),
    ({"workers": "x"}, 'workers must be a whole number between 0 and 1024 (0: one per two cores), not "x"'),
    ({"workers": -1}, "workers must be a whole number between 0 and 1024 (0: one per two cores), not -1"),
    ({"file_timeout_seconds": -1}, "file_timeout_seconds must be a number between 1 and 86400, not -1"),
    ({"file_timeout_seconds": float("inf")}, "file_timeout_seconds must be a number between 1 and 86400, "
                                             "not Infinity"),
    ({"rerank_depth": 0}, "rerank_depth must be a whole number between 1 and 10000, not 0"),
    ({"watch_debounce_seconds": [2]}, "watch_debounce_seconds must be a number between 0 and 600, not [2]"),
    ({"watch_folders": "yes"}, 'watch_folders must be true or false, not "yes"'),
    ({"watch_folders": 1}, "watch_folders must be true or false, not 1"),
    ({"keep_catalog_copy": "no"}, 'keep_catalog_copy must be true or false, not "no"'),
    ({"device": 1}, 'device must be one of "auto", "cpu", "gpu", not 1'),
    ({"catalog_url": 5}, "catalog_url must be text"),
    ({"vector_store": None}, "vector_store must be text"),
    ({"exclude": "@eaDir"}, 'exclude must be a list of names or paths such as ["@eaDir", "Work/raw"], not "@eaDir"'),
    ({"exclude": ["ok", ""]}, "exclude must be a list of names or paths"),
    ({"exclude": [3]}, "exclude must be a list of names or paths"),
])
def test_a_wrong_setting_is_one_sentence_naming_it_and_the_file(tmp_path, data, named):
    path = write(tmp_path, data)
    with pytest.raises(LibraryError) as caught:
        Settings.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {named}"), message
    assert "\n" not in message and "default" in message


def test_every_setting_is_checked():
    checked = {f.name for f in fields(Settings)}
    for name in checked:
        with pytest.raises(LibraryError, match=f"^{name} must be"):
            Settings(**{name: object()}).validate()


def test_a_file_that_is_not_an_object_is_one_sentence(tmp_path):
    for data in ([], "text", 3):
        path = write(tmp_path, data)
        with pytest.raises(LibraryError, match=r"settings\.json must hold a JSON object"):
            Settings.load(path)


def test_workers_that_run_here_stay_within_what_the_computer_can_use():
    assert max_local_workers() == 2 * (os.cpu_count() or 1)
    assert Settings(workers=1000).resolved_workers() == max_local_workers()
    assert Settings(workers=1).resolved_workers() == 1
    assert Settings(device="cpu").resolved_workers() == max(1, (os.cpu_count() or 2) // 2)
    assert asdict(Settings(workers=1000))["workers"] == 1000    # a Ray cluster may use them all


@pytest.mark.parametrize("gpu, device, cores, expected", [
    (False, "auto", 16, 8), (True, "auto", 16, GPU_WORKERS), (True, "gpu", 16, GPU_WORKERS),
    (True, "cpu", 16, 8), (True, "auto", 2, 1)])
def test_default_workers_are_fewer_when_the_model_will_run_on_a_gpu(monkeypatch, gpu, device, cores, expected):
    from engine.runtime import gpu as gpu_module

    monkeypatch.setattr(gpu_module, "gpu_likely", lambda: gpu)
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert Settings(device=device).resolved_workers() == expected
    assert Settings(device=device, workers=3).resolved_workers() == 3   # a number the user chose is kept
