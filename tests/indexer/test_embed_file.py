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
    # Progress after every segment, not every clip-encoder batch: the worker's time limit counts the silence.
    assert progress_one == sorted({s.end for s in one.segments})
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


def test_decoded_is_reported_once_every_segment_is_decoded(video, model, tmp_path):
    events = []

    def progress(seconds):
        events.append(("progress", seconds))

    result = embed_file(str(video), model, Settings(), tmp_path, "ef" * 8, on_progress=progress,
                        on_decoded=lambda: events.append(("decoded", None)))
    assert [kind for kind, _ in events].count("decoded") == 1
    # The last segments are still with the model when decoding ends: progress to the end comes after.
    assert events[-1] == ("progress", result.segments[-1].end) and events.index(("decoded", None)) < len(events) - 1


def test_two_files_sharing_lanes_get_what_each_gets_alone(video, model, tmp_path, monkeypatch):
    """A worker embeds its next file while the last one's final segments are encoded, through the same lanes."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    other = make_video(tmp_path / "other.mp4", shots=[ShotSpec(1.5, pattern="texture"), ShotSpec(2.0)]).path
    alone = [run(path, model, tmp_path / f"alone{n}", 2, monkeypatch)[0] for n, path in enumerate((video, other))]
    together: list = [None, None]
    with ThreadPoolExecutor(2) as lanes:
        def index(n, path, decoded=None):
            together[n] = embed_file(str(path), model, Settings(), tmp_path / f"together{n}", "ab" * 8,
                                     lanes=lanes, on_decoded=decoded)

        first_decoded = threading.Event()
        first = threading.Thread(target=index, args=(0, video, first_decoded.set))
        first.start()
        assert first_decoded.wait(60)
        index(1, other)
        first.join(60)
    for a, b in zip(alone, together):
        assert [(s.start, s.end) for s in a.segments] == [(s.start, s.end) for s in b.segments]
        for x, y in zip(a.segments, b.segments):
            np.testing.assert_array_equal(x.vector, y.vector)
