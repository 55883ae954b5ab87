from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from engine.errors import ClipSeekError
from engine.shapes.checks import background_difference, detect_cuts, infer_event
from engine.shapes.cli import main as cli_main
from engine.shapes.encode import FORMATS
from engine.shapes.generate import (ANNOTATIONS, FAST_OPTIONS, MIN_CUT_CHANGE, VideoOptions, _EventDeck,
                                    generate_dataset, generate_order_pairs, generate_video, load_annotations,
                                    plan_video, video_rng)
from engine.shapes.language import Event, all_events, parse_event, parse_temporal
from engine.shapes.render import MIN_SHORT_SIDE, render_background

# Small, short videos keep encoding and decoding fast; the planning tests use the full ranges.
TINY = VideoOptions(min_size=(160, 120), max_size=(240, 180), fps=(10, 12), shots=(2, 3), shot_seconds=(2.5, 3.0))
EVENTS = (Event("big", "red", "circle", "moving right"), Event("small", "white", "star", "growing"),
          Event("big", "blue", "triangle", "moving up"))


def decode_pyav(path: Path) -> tuple[np.ndarray, Fraction, float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])
        duration = container.duration / av.time_base
        return frames, stream.average_rate, duration


def decode_opencv(path: Path) -> tuple[np.ndarray, float, float]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    fps, count = capture.get(cv2.CAP_PROP_FPS), capture.get(cv2.CAP_PROP_FRAME_COUNT)
    capture.release()
    return np.stack(frames), fps, count


def test_plans_follow_the_spec():
    options = VideoOptions()
    seen_formats, seen_counts = set(), set()
    for index in range(150):
        plan = plan_video(video_rng(1, index), options)
        assert 160 <= plan.width <= 1280 and 120 <= plan.height <= 720
        assert plan.width % 2 == 0 and plan.height % 2 == 0
        assert 10 <= plan.fps <= 30
        assert 1 <= len(plan.shots) <= 8
        seen_formats.add((plan.encode.codec, plan.encode.container))
        seen_counts.add(len(plan.shots))
        first = 0
        for a, b in zip(plan.shots, plan.shots[1:]):
            assert a.event != b.event
        for shot in plan.shots:
            assert shot.first_frame == first
            first += shot.n_frames
            assert 2.5 <= shot.n_frames / plan.fps <= 8.0
            assert shot.params.duration == pytest.approx(float(shot.n_frames / plan.fps))
            assert (shot.params.width, shot.params.height) == (plan.width, plan.height)
    assert seen_formats == set(FORMATS)
    assert seen_counts == set(range(1, 9))


def test_background_changes_at_every_cut():
    for index in range(20):
        plan = plan_video(video_rng(2, index), FAST_OPTIONS)
        images = [render_background(s.params.background, plan.width, plan.height) for s in plan.shots]
        for a, b in zip(images, images[1:]):
            assert background_difference(a, b) >= MIN_CUT_CHANGE


def test_fast_options_restrict_the_size():
    sizes = {(p.width, p.height) for p in (plan_video(video_rng(3, i), FAST_OPTIONS) for i in range(50))}
    assert all(160 <= w <= 320 and 120 <= h <= 240 for w, h in sizes)
    assert len(sizes) > 10


def test_same_seed_same_plan():
    assert plan_video(video_rng(4, 0)) == plan_video(video_rng(4, 0))
    assert plan_video(video_rng(4, 0)) != plan_video(video_rng(4, 1))
    assert plan_video(video_rng(4, 0)) != plan_video(video_rng(5, 0))


def test_dataset_is_deterministic_and_in_the_training_format(tmp_path):
    a = generate_dataset(tmp_path / "a", 2, seed=11, options=TINY)
    b = generate_dataset(tmp_path / "b", 2, seed=11, options=TINY)
    assert a == b == load_annotations(tmp_path / "a")
    for record in a:
        bytes_a = (tmp_path / "a" / record["video"]).read_bytes()
        assert hashlib.sha256(bytes_a).digest() == hashlib.sha256((tmp_path / "b" / record["video"]).read_bytes()).digest()
        assert record["video"].startswith("videos/")
        shots, temporal = record["shots"], record["temporal"]
        assert len(temporal) == len(shots) - 1
        assert record["captions"] == [s["caption"] for s in shots] + [t["caption"] for t in temporal]
        assert shots[0]["start"] == 0.0 and record["duration"] == shots[-1]["end"]
        for s, t, following in zip(shots, temporal, shots[1:]):
            assert parse_temporal(t["caption"]) == (parse_event(s["caption"]), parse_event(following["caption"]))
            assert (t["start"], t["end"]) == (s["start"], following["end"])
            assert s["end"] == following["start"]
        assert {"width", "height", "fps", "codec"} <= set(record)
    json.dumps(a)  # plain JSON types only
    c = generate_dataset(tmp_path / "c", 1, seed=12, options=TINY)
    assert c[0]["captions"] != a[0]["captions"]
    assert not list((tmp_path / "a" / "videos").glob(".*partial*"))


@pytest.mark.parametrize("codec, container", FORMATS)
def test_encoded_video_decodes_as_annotated(tmp_path, codec, container):
    options = replace(TINY, formats=((codec, container),))
    video = generate_video(tmp_path / "clip", np.random.default_rng(21), options, events=EVENTS)
    assert video.path.name == f"clip.{container}"
    record = video.annotation(tmp_path)
    assert record["codec"] == codec and record["video"] == f"clip.{container}"
    frames, rate, duration = decode_pyav(video.path)
    assert frames.shape == (record["frames"], record["height"], record["width"], 3)
    assert float(rate) == pytest.approx(record["fps"], rel=1e-6)
    assert duration == pytest.approx(record["duration"], abs=1.5 / record["fps"])
    cv_frames, cv_fps, cv_count = decode_opencv(video.path)
    assert cv_frames.shape == frames.shape and cv_fps == pytest.approx(record["fps"], rel=1e-3)
    assert cv_count == pytest.approx(record["frames"], abs=1)
    # The frames show the annotated shots, and the hard cuts sit on the annotated frames.
    starts = [round(s["start"] * record["fps"]) for s in record["shots"]]
    assert detect_cuts(frames) == starts[1:]
    for shot, start in zip(record["shots"], starts):
        shown = frames[start:start + shot["frames"]]
        assert infer_event(shown).caption == shot["caption"]


def test_path_with_a_container_limits_the_codecs(tmp_path):
    video = generate_video(tmp_path / "x.avi", np.random.default_rng(1), TINY, events=EVENTS[:1])
    assert video.path == tmp_path / "x.avi" and video.plan.encode.codec == "mpeg4"
    with pytest.raises(ClipSeekError, match="writes .avi"):
        generate_video(tmp_path / "y.avi", np.random.default_rng(1), replace(TINY, formats=(("h264", "mp4"),)))


def test_opencv_fallback_writes_a_readable_video(tmp_path):
    options = replace(TINY, formats=(("mpeg4", "avi"),), encoder="opencv")
    video = generate_video(tmp_path / "cv", np.random.default_rng(2), options, events=EVENTS[:2])
    frames, _, count = decode_opencv(video.path)
    assert len(frames) == video.plan.n_frames == count
    cut = video.plan.shots[1].first_frame
    assert detect_cuts(frames) == [cut]
    assert infer_event(frames[:cut]) == EVENTS[0]


def test_distinct_captions_deal_every_event_before_repeating(tmp_path):
    deck = _EventDeck(np.random.default_rng(0))
    dealt = deck.deal(336)
    assert sorted(dealt) == sorted(all_events())
    records = generate_dataset(tmp_path, 3, seed=5, options=TINY, distinct_captions=True)
    captions = [s["caption"] for r in records for s in r["shots"]]
    assert len(captions) == len(set(captions))


def test_order_pairs_show_the_same_two_events_in_both_orders(tmp_path):
    records = generate_order_pairs(tmp_path / "a", 2, seed=21, options=TINY)
    assert records == load_annotations(tmp_path / "a")
    assert records == generate_order_pairs(tmp_path / "b", 2, seed=21, options=TINY)
    assert len(records) == 4
    for forward, backward in zip(records[::2], records[1::2]):
        assert len(forward["shots"]) == len(backward["shots"]) == 2
        first, second = (s["caption"] for s in forward["shots"])
        assert first != second
        assert [s["caption"] for s in backward["shots"]] == [second, first]
        (there,), (back,) = forward["temporal"], backward["temporal"]
        assert parse_temporal(there["caption"]) == parse_temporal(back["caption"])[::-1]
        # Each video of a pair is drawn on its own: only the events are shared.
        assert forward["shots"][0]["render"] != backward["shots"][1]["render"]
        for record in (forward, backward):
            frames, _, _ = decode_pyav(tmp_path / "a" / record["video"])
            cut = record["shots"][1]["first_frame"]
            assert infer_event(frames[:cut]).caption == record["shots"][0]["caption"]
            assert infer_event(frames[cut:]).caption == record["shots"][1]["caption"]
    with pytest.raises(ClipSeekError, match="at least 1"):
        generate_order_pairs(tmp_path / "c", 0, seed=21)


def test_bad_requests_name_the_fix(tmp_path):
    with pytest.raises(ClipSeekError, match="at least 1"):
        generate_dataset(tmp_path, 0, seed=0)
    with pytest.raises(ClipSeekError, match=f"at least {MIN_SHORT_SIDE}"):
        generate_dataset(tmp_path, 1, seed=0, options=VideoOptions(min_size=(64, 48)))
    with pytest.raises(ClipSeekError, match="choose one of"):
        generate_dataset(tmp_path, 1, seed=0, options=VideoOptions(formats=(("h264", "avi"),)))


def test_command_line(tmp_path, capsys):
    out = tmp_path / "set"
    assert cli_main(["generate", str(out), "--videos", "1", "--seed", "3", "--max-size", "240x180",
                     "--fps", "10-12", "--shots", "2", "--format", "h264.mp4"]) == 0
    records = json.loads((out / ANNOTATIONS).read_text())
    assert len(records) == 1 and len(records[0]["shots"]) == 2 and records[0]["codec"] == "h264"
    assert (out / records[0]["video"]).is_file()
    assert "wrote 1 videos" in capsys.readouterr().err
    assert cli_main(["generate", str(out), "--videos", "0"]) == 1
    assert "at least 1" in capsys.readouterr().err
