"""embed_file: encoding segments in several lanes changes nothing but the speed; a failure still surfaces."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import engine.indexer.embed_file as embed_module
from engine.indexer.embed_file import embed_file
from engine.runtime import load_model
from engine.settings import Settings
from videogen import ShotSpec, make_video


@pytest.fixture(scope="module")
def model(tiny_bundle):
    return load_model(tiny_bundle, device="cpu", intra_threads=1)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    shots = [ShotSpec(2.0, pattern="texture"), ShotSpec(2.5), ShotSpec(1.5, pattern="texture"), ShotSpec(2.0)]
    return make_video(tmp_path_factory.mktemp("embed") / "four_shots.mp4", shots=shots).path


def run(video: Path, model, thumbs: Path, lanes: int, monkeypatch):
    monkeypatch.setattr(embed_module, "ENCODER_LANES", lanes)
    seen = []
    result = embed_file(str(video), model, Settings(), thumbs, "cd" * 8, on_progress=seen.append)
    return result, seen


def test_lanes_give_the_same_segments_vectors_and_thumbnails(video, model, tmp_path, monkeypatch):
    one, progress_one = run(video, model, tmp_path / "one", 1, monkeypatch)
    two, progress_two = run(video, model, tmp_path / "two", 2, monkeypatch)
    assert len(one.segments) >= 7                 # four segments and the three pairs between them
    assert progress_one == progress_two and progress_one == sorted(progress_one)
    assert [(s.start, s.end, s.frame_count) for s in one.segments] == [(s.start, s.end, s.frame_count)
                                                                       for s in two.segments]
    for a, b in zip(one.segments, two.segments):
        np.testing.assert_array_equal(a.vector, b.vector)
        np.testing.assert_array_equal(a.frame_tokens, b.frame_tokens)
        assert Path(a.thumbnail).name == Path(b.thumbnail).name
        assert Path(a.thumbnail).read_bytes() == Path(b.thumbnail).read_bytes()
    singles = (len(one.segments) + 1) // 2        # n segments and the n - 1 pairs, which reuse a thumbnail
    assert len({s.thumbnail for s in two.segments}) == singles


class FailsOnThirdSegment:
    def __init__(self, model):
        self.model, self.info, self.calls = model, model.info, 0

    def encode_frames(self, frames):
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("the frame encoder broke")
        return self.model.encode_frames(frames)

    def encode_clips(self, feats, mask):
        return self.model.encode_clips(feats, mask)


def test_an_encoder_failure_in_a_lane_is_raised(video, model, tmp_path, monkeypatch):
    monkeypatch.setattr(embed_module, "ENCODER_LANES", 2)
    failing = FailsOnThirdSegment(model)
    with pytest.raises(RuntimeError, match="the frame encoder broke"):
        embed_file(str(video), failing, Settings(), tmp_path / "thumbs", "ef" * 8)
