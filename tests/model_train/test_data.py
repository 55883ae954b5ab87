"""Annotation files, frame picking, the pixel cache, batches, order pairs and rendered shapes clips."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.model.data import (
    BatchPlan, ClipRecord, ClipSet, DataError, Sampling, caption_neighbours, clip_pixels, compose_order_pairs,
    load_annotations, load_clips, pick_uniform, square_frame,
)

ROOT = Path(__file__).resolve().parents[2]


def _frames(n: int, h: int = 12, w: int = 16) -> np.ndarray:
    """Frame i is filled with value 10*i so that picks can be read back."""
    return np.stack([np.full((h, w, 3), 10 * i, np.uint8) for i in range(n)])


def test_list_format_with_captions_moments_and_splits(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"")
    np.save(tmp_path / "b.npy", _frames(3))
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps([
        {"video": "a.mp4", "captions": ["one", "two"], "split": "train"},
        {"video": "a.mp4", "moments": [{"start": 1, "end": 2, "caption": "mid"}], "split": "test"},
        {"frames": "b.npy", "caption": "frames", "id": "bee"},
    ]))
    records = load_annotations(ann)
    assert [(r.name, r.captions, r.start, r.end) for r in records] == [
        ("a", ("one", "two"), None, None), ("a#0", ("mid",), 1.0, 2.0), ("bee", ("frames",), None, None)]
    assert records[0].video == tmp_path / "a.mp4" and records[2].frames == tmp_path / "b.npy"
    assert [r.name for r in load_annotations(ann, split="test")] == ["a#0"]


def test_msrvtt_release_layout(tmp_path):
    ann = tmp_path / "msrvtt.json"
    ann.write_text(json.dumps({
        "video_root": "videos",
        "videos": [{"video_id": "video0", "split": "train"}, {"video_id": "video1", "split": "test"}],
        "sentences": [{"video_id": "video0", "caption": "x"}, {"video_id": "video1", "caption": "y"},
                      {"video_id": "video0", "caption": "z"}]}))
    records = load_annotations(ann)
    assert [(r.name, r.captions, r.split) for r in records] == [
        ("video0", ("x", "z"), "train"), ("video1", ("y",), "test")]
    assert records[0].video == tmp_path / "videos" / "video0.mp4"


@pytest.mark.parametrize("content, message", [
    ("{not json", "not readable as JSON"),
    (json.dumps([{"captions": ["x"]}]), "exactly one of"),
    (json.dumps([{"video": "a.mp4"}]), "neither captions nor moments"),
    (json.dumps({"videos": 3}), "expected a list"),
])
def test_bad_annotation_files_name_the_problem(tmp_path, content, message):
    ann = tmp_path / "ann.json"
    ann.write_text(content)
    with pytest.raises(DataError, match=message):
        load_annotations(ann)


def test_pick_uniform_spreads_frames_like_clip4clip():
    assert pick_uniform(3, 4).tolist() == [0, 1, 2]
    assert pick_uniform(9, 3).tolist() == [0, 4, 8]
    assert pick_uniform(10, 4).tolist() == [0, 3, 6, 9]


def test_short_clip_is_padded_and_masked():
    pixels, mask = clip_pixels(list(_frames(2, 8, 8)), frames_per_clip=4, size=8)
    assert mask.tolist() == [True, True, False, False]
    assert pixels[1].max() == 10 and pixels[2:].max() == 0


def test_square_frame_matches_the_runtime_preprocessing():
    from engine.runtime.model import preprocess_frames

    rgb = np.random.default_rng(0).integers(0, 256, size=(45, 80, 3), dtype=np.uint8)
    mean, std = (0.48, 0.45, 0.40), (0.26, 0.26, 0.27)
    expected = preprocess_frames(rgb[None], 32, mean, std)[0]
    ours = (square_frame(rgb, 32).astype(np.float32) / 255.0 - np.array(mean, np.float32)) / np.array(std, np.float32)
    np.testing.assert_allclose(ours.transpose(2, 0, 1), expected, atol=1e-6)


def test_frames_source_is_cached_and_cache_survives_a_torn_file(tmp_path):
    np.save(tmp_path / "v.npy", _frames(6))
    records = [ClipRecord("v", ("cap",), frames=tmp_path / "v.npy"),
               ClipRecord("v#late", ("late",), frames=tmp_path / "v.npy", start=1.0)]
    sampling = Sampling(fps=2.0, frames_per_clip=4, image_size=8)
    first = load_clips(records, sampling, tmp_path / "cache")
    # 6 frames at 2 fps: t = 0, .5, ..., 2.5; the late clip keeps t >= 1: frames 2..5
    assert first.frame_mask.tolist() == [[True] * 4, [True] * 4]
    assert [int(first.pixels[0, i, 0, 0, 0]) for i in range(4)] == [0, 20, 30, 50]
    assert [int(first.pixels[1, i, 0, 0, 0]) for i in range(4)] == [20, 30, 40, 50]
    cached = sorted((tmp_path / "cache").glob("*.npy"))
    assert len(cached) == 2
    (tmp_path / "v.npy").unlink()           # the source is gone: only the cache can answer ...
    with pytest.raises(DataError, match="not found"):
        load_clips(records, sampling, tmp_path / "cache")   # ... but the key needs the file's identity
    np.save(tmp_path / "v.npy", _frames(6))
    cached[0].write_bytes(b"torn")
    again = load_clips(records, sampling, tmp_path / "cache")
    np.testing.assert_array_equal(again.pixels, first.pixels)


def test_time_range_without_frames_is_refused(tmp_path):
    np.save(tmp_path / "v.npy", _frames(2))
    with pytest.raises(DataError, match="no frame between 5.0"):
        load_clips([ClipRecord("v", ("c",), frames=tmp_path / "v.npy", start=5.0)], Sampling(2.0, 4, 8))


def _clipset(n: int, t: int = 4, captions=None) -> ClipSet:
    pixels = np.zeros((n, t, 4, 4, 3), np.uint8)
    for i in range(n):
        for j in range(t):
            pixels[i, j] = i * 16 + j      # clip i frame j is identifiable
    caps = captions or [[f"c{i}"] for i in range(n)]
    return ClipSet(pixels, np.ones((n, t), bool), caps)


def test_caption_table_lists_every_caption_with_its_clip():
    clips = _clipset(2, captions=[["a", "b"], ["c"]])
    texts, owner = clips.caption_table()
    assert texts == ["a", "b", "c"] and owner.tolist() == [0, 0, 1]


def test_order_pairs_hold_the_same_frames_in_both_orders():
    single = _clipset(5)
    pairs = compose_order_pairs(single, 6, np.random.default_rng(0))
    assert len(pairs) == 12
    for k in range(6):
        ab, ba = pairs.pixels[2 * k], pairs.pixels[2 * k + 1]
        np.testing.assert_array_equal(ab[:2], ba[2:])
        np.testing.assert_array_equal(ab[2:], ba[:2])
        a, b = pairs.captions[2 * k][0].split(", then ")
        assert pairs.captions[2 * k + 1] == [f"{b}, then {a}"] and a != b
        np.testing.assert_array_equal(np.sort(ab.reshape(4, -1), axis=0), np.sort(ba.reshape(4, -1), axis=0))


def test_batch_plan_is_deterministic_covers_each_epoch_and_skips_duplicate_captions():
    captions = [["same"]] * 3 + [[f"c{i}"] for i in range(7)]
    plan = BatchPlan(n_clips=10, batch_size=5, seed=3)
    assert plan.steps_per_epoch == 2
    seen = []
    for step in range(2):
        clips, which = plan.batch(step, captions)
        texts = [captions[c][j] for c, j in zip(clips, which)]
        assert len(set(texts)) == len(texts)
        seen += clips.tolist()
        again, _ = plan.batch(step, captions)
        assert again.tolist() == clips.tolist()
    assert len(set(seen)) == len(seen) and len(seen) >= 8      # at most two "same" clips dropped
    assert plan.batch(2, captions)[0].tolist() != plan.batch(0, captions)[0].tolist()


def test_caption_neighbours_differ_by_one_attribute_or_by_order():
    captions = [["a big red circle moving left"], ["a big red circle moving right"], ["a big red circle growing"],
                ["a small blue star staying still"], ["a big red circle moving left"],
                ["a big red circle moving left, then a small blue star growing"],
                ["a small blue star growing, then a big red circle moving left"]]
    near = caption_neighbours(captions)
    assert near[0].tolist() == [1, 2]                 # same sentence (clip 4) is not a negative
    assert near[4].tolist() == [1, 2]
    assert near[2].tolist() == [0, 1, 4]              # "moving left" -> "growing": 3 words differ
    assert near[3].tolist() == []                     # four attributes differ
    assert near[5].tolist() == [6] and near[6].tolist() == [5]


def test_hard_groups_put_caption_neighbours_in_the_same_batch():
    captions = [[f"a {s} {c} circle moving {m}"] for s in ("big", "small") for c in ("red", "blue", "green")
                for m in ("left", "right", "up", "down")] * 2
    near = caption_neighbours(captions)
    plan = BatchPlan(n_clips=len(captions), batch_size=12, seed=5, neighbours=near, hard_groups=2, group_size=4)
    plain = BatchPlan(n_clips=len(captions), batch_size=12, seed=5)
    for step in range(plan.steps_per_epoch):
        clips, which = plan.batch(step, captions)
        texts = [captions[c][j] for c, j in zip(clips, which)]
        assert len(set(texts)) == len(texts) and len(clips) >= 8
        anchors = plain.batch(step, captions)[0][:2]
        for anchor in anchors:                        # each anchor arrives with neighbours of its own
            assert sum(int(c) in set(near[anchor].tolist()) for c in clips) >= 2
        assert plan.batch(step, captions)[0].tolist() == clips.tolist()


def test_still_frames_are_captioned_with_the_object_alone():
    from engine.model.datasets import shapes_still_clips
    from engine.shapes.language import COLORS, SHAPES, SIZES

    clips = shapes_still_clips(60, seed=4, frames_per_clip=1, image_size=32)
    again = shapes_still_clips(60, seed=4, frames_per_clip=1, image_size=32)
    assert clips.pixels.shape == (60, 1, 32, 32, 3) and np.array_equal(clips.pixels, again.pixels)
    assert clips.captions == again.captions
    for (caption,) in clips.captions:
        article, size, color, shape = caption.split()
        assert article == "a" and size in SIZES and color in COLORS and shape in SHAPES
    assert len({c[0] for c in clips.captions}) > 20
    other = shapes_still_clips(60, seed=5, frames_per_clip=1, image_size=32)
    assert not np.array_equal(clips.pixels, other.pixels)


def test_still_frames_with_places_say_which_third_the_object_is_in():
    from engine.model.datasets import shapes_still_clips

    plain = shapes_still_clips(40, seed=4, frames_per_clip=1, image_size=32)
    placed = shapes_still_clips(40, seed=4, frames_per_clip=1, image_size=32, places=True)
    assert np.array_equal(plain.pixels, placed.pixels)              # the same pictures, longer captions
    places = set()
    for (short,), (long,) in zip(plain.captions, placed.captions):
        assert long.startswith(short + " at the ")
        row, column = long[len(short) + len(" at the "):].split()
        assert row in ("top", "middle", "bottom") and column in ("left", "centre", "right")
        places.add((row, column))
    assert len(places) >= 5


def test_shapes_clips_say_where_order_matters_and_the_flags_follow_subsets_and_pairs():
    from engine.model.datasets import shapes_clips

    clips = shapes_clips(60, seed=4, frames_per_clip=4, image_size=16, temporal_fraction=0.3)
    for (caption,), matters in zip(clips.captions, clips.order_matters):
        # only one shot of an object staying still looks the same played backwards
        assert matters == (", then " in caption or not caption.endswith("staying still")), caption
    assert clips.order_matters.any() and not clips.order_matters.all()
    picked = clips.subset([5, 0, 7])
    assert picked.order_matters.tolist() == clips.order_matters[[5, 0, 7]].tolist()
    pairs = compose_order_pairs(_clipset(4), 3, np.random.default_rng(0))
    assert pairs.order_matters.tolist() == [True] * 6
    joined = ClipSet.concat([_clipset(2), pairs])       # a part that does not know counts as False
    assert joined.order_matters.tolist() == [False, False] + [True] * 6
    assert ClipSet.concat([_clipset(2), _clipset(3)]).order_matters is None


def test_order_flags_of_the_wrong_length_are_refused():
    with pytest.raises(DataError, match="order_matters"):
        ClipSet(np.zeros((2, 1, 4, 4, 3), np.uint8), np.ones((2, 1), bool), [["a"], ["b"]],
                order_matters=np.ones(3, bool))


def test_clips_rendered_by_several_processes_are_the_clips_one_process_renders():
    from engine.model.datasets import _plan_shot, render_clips
    from engine.shapes.language import random_event

    rng = np.random.default_rng(11)
    plans = [(_plan_shot(random_event(rng), rng, 160, 120, 2), _plan_shot(random_event(rng), rng, 160, 120, 2))
             for _ in range(12)]
    alone = render_clips(plans, 4, 24, "squash", workers=1)
    shared = render_clips(plans, 4, 24, "squash", workers=2)
    assert alone.shape == (12, 4, 24, 24, 3) and alone.any()
    assert np.array_equal(alone, shared)


def test_a_script_without_a_main_guard_still_gets_its_clips_from_one_process(tmp_path):
    # spawned workers import the caller's main module again; without the guard they cannot start
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import numpy as np\n"
        "from engine.model.datasets import _plan_shot, render_clips\n"
        "from engine.shapes.language import random_event\n"
        "rng = np.random.default_rng(3)\n"
        "plans = [(_plan_shot(random_event(rng), rng, 160, 120, 2),) for _ in range(6)]\n"
        "shared = render_clips(plans, 2, 16, 'squash', workers=2)\n"
        "assert np.array_equal(shared, render_clips(plans, 2, 16, 'squash', workers=1))\n"
        "print('rendered', shared.shape)\n")
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "rendered (6, 2, 16, 16, 3)" in done.stdout
    assert "could not start" in done.stderr
