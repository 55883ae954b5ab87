"""The command line end to end: add a folder of real videos, index, search, move, delete."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from engine.cli.main import main
from videogen import ShotSpec, ffmpeg_frames, make_video

pytestmark = pytest.mark.slow


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def empty_library(path: Path, bundle: Path) -> Path:
    """A library with no folders yet (what `add-folder` would start), for commands that need one."""
    from engine.api.library import Library

    Library.open(path, model=bundle).close()
    return path


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


def frame_png(video: Path, t: float, size: tuple[int, int], out: Path) -> Path:
    """Cut the frame shown at time ``t`` out of ``video`` and save it as PNG."""
    frames = ffmpeg_frames(video, size[0], size[1])
    fps = len(frames) / float(subprocess.check_output(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(video)]).strip())
    rgb = frames[min(len(frames) - 1, int(t * fps))]
    cv2.imwrite(str(out), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return out


@pytest.fixture
def indexed(tmp_path, tiny_bundle, video_folder, capsys):
    folder, truths = video_folder
    lib = tmp_path / "library"
    base = ["--library", lib, "--model", tiny_bundle]
    assert run_cli(capsys, *base, "add-folder", folder)[0] == 0
    code, out, _err = run_cli(capsys, *base, "index", "--json-progress")
    assert code == 0
    final = json_lines(out)[-1]
    assert final["state"] == "done" and final["indexed"] == len(truths) and final["failed"] == 0
    assert final["total_is_estimate"] is False   # every file's length is known once it is indexed
    return base, folder, truths, lib


def test_image_query_finds_its_own_file_and_time(indexed, capsys, tmp_path):
    base, folder, truths, _lib = indexed
    for name, t in (("forest.avi", 5.5), ("city.mkv", 1.0), ("beach.mp4", 4.2)):
        png = frame_png(folder / name, t, truths[name].size, tmp_path / f"{name}.png")
        code, out, err = run_cli(capsys, *base, "search", "--image", png, "-k", "5", "--json")
        assert code == 0, err
        result = json.loads(out)
        assert result["query"] == str(png)
        top = result["results"][0]
        assert set(top) == {"path", "start", "end", "score", "thumbnail"}
        assert top["path"] == str((folder / name).resolve())
        assert top["start"] <= t <= top["end"], (name, t, top)
        assert Path(top["thumbnail"]).is_file()


def test_a_clip_cut_from_a_video_finds_where_it_came_from(indexed, capsys, tmp_path):
    """A short video as the query, not itself in the library (a clip someone sent: where is it from?)."""
    base, folder, truths, _lib = indexed
    for name, start, length in (("forest.avi", 4.5, 2.0), ("city.mkv", 0.5, 2.0), ("beach.mp4", 3.2, 1.5)):
        clip = tmp_path / f"part of {name}.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(start), "-t", str(length), "-i", folder / name,
                        "-c:v", "libx264", "-an", clip], check=True)
        code, out, err = run_cli(capsys, *base, "search", "--clip", clip, "-k", "3", "--json")
        assert code == 0, err
        result = json.loads(out)
        top = result["results"][0]
        assert result["query"] == str(clip) and top["path"] == str((folder / name).resolve())
        middle = start + length / 2
        assert top["start"] <= middle <= top["end"], (name, middle, top)
    (tmp_path / "notes.mp4").write_text("not a video")
    code, out, err = run_cli(capsys, *base, "search", "--clip", tmp_path / "notes.mp4")
    assert code == 2 and not out
    assert err.startswith(f"clipseek: {tmp_path / 'notes.mp4'} cannot be used as the query: not a video file"), err


def test_a_result_whose_file_is_gone_is_marked_until_the_next_index(indexed, capsys, tmp_path):
    base, folder, truths, _lib = indexed
    png = frame_png(folder / "beach.mp4", 4.2, truths["beach.mp4"].size, tmp_path / "beach.png")
    (folder / "beach.mp4").unlink()
    code, out, _ = run_cli(capsys, *base, "search", "--image", png, "-k", "10")
    lines = out.splitlines()
    assert code == 0 and str((folder / "beach.mp4").resolve()) in lines[0]
    assert lines[0].endswith("[not found]")
    results = [line for line in lines if line[:4].strip().rstrip(".").isdigit()]
    assert [line.endswith("[not found]") for line in results].count(True) == sum(
        str((folder / "beach.mp4").resolve()) in line for line in results)
    assert lines[-1].startswith("[not found]: moved or deleted") and "clipseek index" in lines[-1]
    code, out, _ = run_cli(capsys, *base, "search", "--image", png, "-k", "10", "--json")
    results = json.loads(out)["results"]
    gone = str((folder / "beach.mp4").resolve())
    assert code == 0 and results[0]["path"] == gone
    assert [r.get("missing", False) for r in results] == [r["path"] == gone for r in results]
    assert all(set(r) == {"path", "start", "end", "score", "thumbnail"} for r in results if r["path"] != gone)
    assert run_cli(capsys, *base, "index")[0] == 0
    code, out, _ = run_cli(capsys, *base, "search", "--image", png, "-k", "10")
    assert code == 0 and "[not found]" not in out and "beach.mp4" not in out


def test_text_search_shape_and_batch(indexed, capsys, tmp_path):
    base, folder, truths, _lib = indexed
    code, out, _ = run_cli(capsys, *base, "search", "a pink circle", "-k", "3", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["query"] == "a pink circle" and 1 <= len(result["results"]) <= 3
    scores = [r["score"] for r in result["results"]]
    assert scores == sorted(scores, reverse=True)
    for r in result["results"]:
        assert os.path.isabs(r["path"]) and 0 <= r["start"] < r["end"]
    queries = tmp_path / "queries.txt"
    queries.write_text("a green square\n\nsnow falling\na city at night\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, *base, "search", "--batch", queries, "--json")
    rows = json_lines(out)
    assert code == 0 and [r["query"] for r in rows] == ["a green square", "snow falling", "a city at night"]
    assert all(r["results"] for r in rows)


def test_moved_file_keeps_its_embeddings_and_deleted_file_leaves(indexed, capsys, tmp_path):
    base, folder, truths, lib = indexed
    (folder / "sub").mkdir()
    moved = folder / "sub" / "renamed forest.avi"
    os.replace(folder / "forest.avi", moved)
    (folder / "snow.mp4").unlink()
    code, out, _ = run_cli(capsys, *base, "index", "--json-progress")
    final = json_lines(out)[-1]
    assert code == 0 and final["files_total"] == 0, "a moved file must not be decoded or embedded again"
    assert final["removed"] == 1                                      # the deleted one; the moved one kept its place
    code, out, _ = run_cli(capsys, *base, "status", "--json")
    status = json.loads(out)
    assert status["files"]["indexed"] == len(truths) - 1
    code, out, _ = run_cli(capsys, *base, "status")
    line = next(line for line in out.splitlines() if line.startswith("moments"))
    shown = re.fullmatch(rf"moments  {status['segments']} from (\d+):(\d\d) of video", line)   # not "0.01 h"
    assert shown and abs(int(shown[1]) * 60 + int(shown[2]) - status["hours_indexed"] * 3600) <= 1
    png = frame_png(moved, 5.5, truths["forest.avi"].size, tmp_path / "moved.png")
    code, out, _ = run_cli(capsys, *base, "search", "--image", png, "-k", "10", "--json")
    paths = [r["path"] for r in json.loads(out)["results"]]
    assert paths[0] == str(moved.resolve())
    assert str((folder / "snow.mp4").resolve()) not in paths
    assert str((folder / "forest.avi").resolve()) not in paths


def test_a_relocated_folder_keeps_its_moments_at_its_new_place(indexed, capsys, tmp_path):
    """A folder moved to another drive (or a drive mounted elsewhere): pointed to it, the library decodes nothing."""
    base, folder, truths, lib = indexed
    (tmp_path / "new drive").mkdir()
    now = tmp_path / "new drive" / "My Videos"
    os.replace(folder, now)
    code, out, err = run_cli(capsys, *base, "index")
    assert code == 0 and (f"note: {folder.resolve()} cannot be reached (unplugged drive? moved or renamed?); its "
                          "files are kept as they were until it is back, or located at its new place") in err
    code, out, _ = run_cli(capsys, *base, "status")
    assert (f"folder   {folder.resolve()}: {len(truths)} indexed, 0 pending, 0 failed, 0 skipped (missing: unplugged, "
            "or moved? `clipseek relocate-folder`)") in out.splitlines()
    code, out, err = run_cli(capsys, *base, "relocate-folder", now, tmp_path)
    assert code == 2 and err.strip() == (f"clipseek: {now.resolve()} is not a folder of this library; its folders "
                                         f"are: {folder.resolve()}")
    (tmp_path / "empty").mkdir()                           # a wrong folder picked: its moments would be lost
    code, out, err = run_cli(capsys, *base, "relocate-folder", folder, tmp_path / "empty")
    assert code == 2 and err.strip() == (f"clipseek: {(tmp_path / 'empty').resolve()} holds 0 of the {len(truths)} "
                                         f"videos of {folder.resolve()} (by their names and sizes inside it); choose "
                                         f"the folder that holds them, or remove {folder.resolve()} from the library "
                                         f"and add {(tmp_path / 'empty').resolve()}")
    code, out, err = run_cli(capsys, *base, "relocate-folder", folder, now)
    assert code == 0 and out.strip() == (f"{folder.resolve()} is now {now.resolve()}: its {len(truths)} indexed "
                                         "videos keep their moments; run `clipseek index` to find what changed there")
    code, out, _ = run_cli(capsys, *base, "index", "--json-progress")
    assert code == 0 and json_lines(out)[-1]["files_total"] == 0, "nothing is decoded or embedded again"
    status = json.loads(run_cli(capsys, *base, "status", "--json")[1])
    assert [(f["path"], f["state"]) for f in status["folders"]] == [(str(now.resolve()), "ok")]
    assert status["files"]["indexed"] == len(truths)
    code, out, _ = run_cli(capsys, *base, "search", "anything", "--json", "-k", "50")
    found = [Path(r["path"]) for r in json.loads(out)["results"]]
    assert found and all(p.is_relative_to(now.resolve()) and p.is_file() for p in found)
    (tmp_path / "other").mkdir()
    assert run_cli(capsys, *base, "add-folder", tmp_path / "other")[0] == 0
    code, out, err = run_cli(capsys, *base, "relocate-folder", now, tmp_path / "other")
    assert code == 2 and err.strip() == (f"clipseek: {(tmp_path / 'other').resolve()} is already a folder of this "
                                         f"library; remove {now.resolve()} from the library if its videos are there "
                                         "now (its moments are found again when indexing)")


def test_a_wider_folder_takes_the_place_of_the_folders_inside_it_without_indexing_them_again(
        tmp_path, tiny_bundle, video_folder, video_set, capsys):
    folder, truths = video_folder
    everything = tmp_path / "All videos"
    everything.mkdir()
    inner = everything / "My Videos"
    os.replace(folder, inner)
    base = ["--library", tmp_path / "library", "--model", tiny_bundle]
    (inner / "raw" / "takes").mkdir(parents=True)                # left out by a path read from the library folder
    shutil.copy(video_set[0] / "snow.mp4", inner / "raw" / "takes" / "take 1.mp4")
    shutil.copy(video_set[0] / "snow.mp4", inner / "draft.mp4")      # left out as a file of the folder itself
    shutil.copy(video_set[0] / "snow.mp4", inner / "old take.mp4")   # left out by its path (`clipseek leave-out`)
    by_path = f"{inner.resolve().as_posix()}/old take.mp4"
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "settings.json").write_text(json.dumps({"exclude": ["@eaDir", "raw/takes",
                                                                                "/draft.mp4", by_path]}))
    assert run_cli(capsys, *base, "add-folder", inner)[0] == 0
    assert run_cli(capsys, *base, "index")[0] == 0
    make_video(everything / "new city.mkv", shots=[ShotSpec(2.0, shape="square", shape_color=(200, 200, 40))])

    code, out, err = run_cli(capsys, *base, "--device", "cpu", "add-folder", everything)
    assert code == 0 and out.startswith(f"added {everything.resolve()}")
    assert (f"takes the place of the library folder {inner.resolve()} inside it; its indexed videos are kept, and "
            "the paths left out there stay out (My Videos/raw/takes, My Videos/draft.mp4)") in err
    saved = json.loads((tmp_path / "library" / "settings.json").read_text())
    assert saved["exclude"] == ["@eaDir", "raw/takes", "/draft.mp4", by_path, "My Videos/raw/takes",
                                "My Videos/draft.mp4"]
    assert saved["device"] != "cpu"
    code, out, _ = run_cli(capsys, *base, "status", "--json")
    status = json.loads(out)
    assert [f["path"] for f in status["folders"]] == [str(everything.resolve())]
    assert status["files"]["indexed"] == len(truths)
    code, out, _ = run_cli(capsys, *base, "index", "--json-progress")
    final = json_lines(out)[-1]
    assert code == 0 and final["files_total"] == 1 and final["indexed"] == 1, "only the new file is indexed"
    code, out, _ = run_cli(capsys, *base, "search", "anything", "--folder", everything, "--json", "-k", "50")
    assert {Path(r["path"]).parent for r in json.loads(out)["results"]} == {everything.resolve(), inner.resolve()}

    code, out, err = run_cli(capsys, *base, "add-folder", inner)
    assert code != 0 and not out
    assert err.strip() == (f"clipseek: {inner.resolve()} is already in the library, as part of the folder "
                           f"{everything.resolve()}, and its videos are indexed with that folder's")


def test_changed_file_is_indexed_again(indexed, capsys, video_set):
    base, folder, truths, _lib = indexed
    root, _ = video_set
    target = folder / "beach.mp4"
    target.write_bytes((root / "city.mkv").read_bytes())
    os.utime(target, (1_900_000_000, 1_900_000_000))
    code, out, _ = run_cli(capsys, *base, "index", "--json-progress")
    final = json_lines(out)[-1]
    assert code == 0 and final["files_total"] == 1 and final["indexed"] == 1


def test_a_folder_inside_a_library_folder_can_be_searched_alone(indexed, capsys):
    base, folder, truths, lib = indexed
    (folder / "trip" / "day 1").mkdir(parents=True)
    for name in ("forest.avi", "snow.mp4"):
        os.replace(folder / name, folder / "trip" / "day 1" / name)
    (folder / "trip 2").mkdir()                  # a name that begins like the folder asked for is not inside it
    os.replace(folder / "city.mkv", folder / "trip 2" / "city.mkv")
    assert run_cli(capsys, *base, "index")[0] == 0
    code, out, _ = run_cli(capsys, *base, "search", "anything", "--folder", folder / "trip", "--json", "-k", "50")
    found = {Path(r["path"]).name for r in json.loads(out)["results"]}
    assert code == 0 and found == {"forest.avi", "snow.mp4"}
    code, out, _ = run_cli(capsys, *base, "search", "anything", "--folder", folder / "trip 2", "--folder",
                           folder / "trip" / "day 1" / "", "--json", "-k", "50")
    assert {Path(r["path"]).name for r in json.loads(out)["results"]} == {"forest.avi", "snow.mp4", "city.mkv"}
    code, out, _ = run_cli(capsys, *base, "search", "anything", "--folder", folder, "--folder", folder / "trip",
                           "--json", "-k", "50")
    assert {Path(r["path"]).name for r in json.loads(out)["results"]} == set(truths)   # the whole folder wins
    video = folder / "trip" / "day 1" / "forest.avi"
    code, out, _ = run_cli(capsys, *base, "search", "anything", "--video", video, "--json", "-k", "50")
    moments = json.loads(out)["results"]
    assert code == 0 and {r["path"] for r in moments} == {str(video.resolve())} and len(moments) > 1
    code, out, _ = run_cli(capsys, *base, "search", "anything", "--video", video, "--folder", folder / "trip 2",
                           "--json", "-k", "50")
    assert {Path(r["path"]).name for r in json.loads(out)["results"]} == {"forest.avi", "city.mkv"}


def test_a_video_or_folder_without_moments_searched_alone_says_why(indexed, capsys):
    base, folder, _truths, _lib = indexed
    (folder / "broken.mp4").write_bytes(b"not a video at all, only text")
    (folder / "empty folder").mkdir()
    assert run_cli(capsys, *base, "index")[0] == 0
    shutil.copy(folder / "city.mkv", folder / "copied since.mkv")
    for name, said in (("broken.mp4", "{} could not be indexed, so it has no moments: not a video file"),
                       ("copied since.mkv", "{} is not indexed yet, so it has no moments yet"),
                       ("no such.mp4", "there is no file or folder {}"),
                       ("no such folder", "there is no file or folder {}")):
        code, out, err = run_cli(capsys, *base, "search", "anything", "--video", folder / name)
        assert code == 2 and not out and err.startswith("clipseek: " + said.format((folder / name).resolve())), err
    code, out, err = run_cli(capsys, *base, "search", "anything", "--folder", folder / "empty folder", "--json")
    assert code == 0 and json.loads(out)["results"] == [] and not err    # there, and nothing in it: no moments
    code, out, err = run_cli(capsys, *base, "search", "anything", "--folder", folder / "empty folder",
                             "--folder", folder / "no such folder", "--json")
    assert code == 0 and json.loads(out)["results"] == []                # several places: no moments, no more


def test_filters_and_similar(indexed, capsys):
    base, folder, truths, lib = indexed
    outside = folder.parent / "elsewhere"
    code, out, _ = run_cli(capsys, *base, "search", "anything", "--folder", folder, "--json", "-k", "20")
    assert code == 0 and json.loads(out)["results"]
    code, out, err = run_cli(capsys, *base, "search", "anything", "--folder", outside, "--json")
    assert code == 2 and not out    # not in the library: said, rather than an empty result
    assert err.startswith(f"clipseek: {outside.resolve()} is not in this library; search in its folders, or in "
                          f"folders and videos inside them: {folder.resolve()}"), err
    target = (folder / "city.mkv").resolve()
    code, out, _ = run_cli(capsys, *base, "search", "--similar", f"{target}@1.0", "--json", "-k", "3")
    results = json.loads(out)["results"]
    assert code == 0 and results
    assert not any(r["path"] == str(target) and r["start"] <= 1.0 < r["end"] for r in results)
    other = (folder / "forest.avi").resolve()
    code, out, _ = run_cli(capsys, *base, "search", "--similar", f"{target}@1.0", "--similar", f"{other}@2.0",
                           "--json", "-k", "20")
    both = json.loads(out)
    assert code == 0 and both["query"] == f"{target}@1.0 {other}@2.0" and both["results"]
    assert not any((r["path"], r["start"] <= t < r["end"]) == (str(p), True)
                   for r in both["results"] for p, t in ((target, 1.0), (other, 2.0)))
    from engine.api import Library

    with Library.open(lib, model=base[3]) as library:        # several moments taken together
        first, second = library.search("anything", k=2)
        both = library.similar([first, second], k=50)
        assert both and {i for m in both for i in m.segment_ids}.isdisjoint({*first.segment_ids, *second.segment_ids})
        assert [(m.path, m.start) for m in library.similar([first, first], k=5)] == \
            [(m.path, m.start) for m in library.similar(first, k=5)]
    code, out, err = run_cli(capsys, *base, "search", "--similar", f"{target}@9999")
    assert code == 2 and not out
    assert re.fullmatch(rf"clipseek: {re.escape(str(target))} has no moment at 9999.0 s; "
                        r"its moments run from 0.0 to \d+\.\d s\n", err), err


def test_dates_and_lengths_narrow_a_search(tmp_path, tiny_bundle, video_folder, capsys):
    from datetime import datetime

    folder, truths = video_folder
    dates = {"beach.mp4": datetime(2021, 6, 15, 12), "forest.avi": datetime(2022, 2, 1, 12),
             "city.mkv": datetime(2023, 8, 20, 12), "snow.mp4": datetime(2023, 12, 31, 23, 30)}
    for name, when in dates.items():             # no recording date in these files: their last change counts
        os.utime(folder / name, (when.timestamp(), when.timestamp()))
    base = ["--library", tmp_path / "library", "--model", tiny_bundle]
    assert run_cli(capsys, *base, "add-folder", folder)[0] == 0
    assert run_cli(capsys, *base, "index")[0] == 0
    queries = tmp_path / "queries.txt"
    queries.write_text("anything\na red circle\n", encoding="utf-8")

    def found(*options) -> set[str]:
        code, out, err = run_cli(capsys, *base, "search", *(options or ("anything",)), "--json", "-k", "50")
        assert code == 0, err
        return {Path(r["path"]).name for line in json_lines(out) for r in line["results"]}

    assert found() == set(dates)
    assert found("anything", "--from", "2023-01-01") == {"city.mkv", "snow.mp4"}
    assert found("anything", "--from", "2022-01-01", "--to", "2022-12-31") == {"forest.avi"}
    assert found("anything", "--to", "2021-06-15") == {"beach.mp4"}               # to the end of that day
    assert found("anything", "--to", "2021-06-15T11:00") == set()
    assert found("anything", "--longer-than", "6.5") == {"forest.avi"}              # 7 s; the others 5 and 6
    assert found("anything", "--shorter-than", "5.5", "--per-video") == {"snow.mp4"}
    assert found("anything", "--longer-than", "5.5", "--shorter-than", "0:06.5", "--from", "2023-01-01") == \
        {"city.mkv"}
    city = (folder / "city.mkv").resolve()
    assert found("--similar", f"{city}@1.0", "--from", "2023-01-01") == {"city.mkv", "snow.mp4"}
    assert found("--batch", queries, "--shorter-than", "5.5") == {"snow.mp4"}
    code, out, err = run_cli(capsys, *base, "search", "anything", "--longer-than", "1h", "--shorter-than", "10m")
    assert (code, out) == (2, "")
    assert err == "clipseek: --longer-than 1:00:00 is longer than --shorter-than 10:00: no video can be both\n", err


def test_one_moment_per_video_through_the_command_line(indexed, capsys):
    base, folder, truths, _lib = indexed
    code, out, _ = run_cli(capsys, *base, "search", "anything", "--json", "-k", "50")
    every = json.loads(out)["results"]
    assert code == 0 and len(every) > len({r["path"] for r in every})     # several moments of some video
    target = (folder / "city.mkv").resolve()
    for query in (["anything"], ["--similar", f"{target}@1.0"]):
        code, out, _ = run_cli(capsys, *base, "search", *query, "--per-video", "--json", "-k", "50")
        paths = [r["path"] for r in json.loads(out)["results"]]
        assert code == 0 and sorted(paths) == sorted({str((folder / name).resolve()) for name in truths})
    code, out, _ = run_cli(capsys, *base, "search", "anything", "--per-video", "--json", "-k", "2")
    best_first = list(dict.fromkeys(r["path"] for r in every))[:2]
    assert code == 0 and [r["path"] for r in json.loads(out)["results"]] == best_first


def test_watch_says_what_each_run_changed_and_stops_on_ctrl_c(tmp_path, tiny_bundle, capsys):
    # `clipseek watch` drew a bar for the videos it indexed and said nothing when videos only left the library.
    import queue
    import signal
    import threading

    from engine.settings import Settings

    videos = tmp_path / "videos"
    videos.mkdir()
    for name, seed in (("one.mp4", 1), ("two.mp4", 2)):
        make_video(videos / name, shots=[ShotSpec(2.0)], seed=seed)
    lib = tmp_path / "lib"
    assert run_cli(capsys, "--library", lib, "--model", tiny_bundle, "add-folder", videos)[0] == 0
    (tmp_path / "more").mkdir()
    assert run_cli(capsys, "--library", lib, "--model", tiny_bundle, "add-folder", tmp_path / "more")[0] == 0
    settings = Settings.load(lib / "settings.json")
    settings.watch_debounce_seconds = 0.3
    settings.save(lib / "settings.json")
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    watch = subprocess.Popen([sys.executable, "-m", "engine.cli.main", "--library", str(lib), "--model",
                              str(tiny_bundle), "watch"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.rstrip("\n")) for line in watch.stdout], daemon=True).start()
    try:
        assert re.fullmatch(r"\d\d:\d\d:\d\d indexed 2, failed 0, skipped 0 \(.*\)", lines.get(timeout=120))
        (videos / "two.mp4").unlink()                 # looked for in that folder alone, which the line names
        assert re.fullmatch(rf"\d\d:\d\d:\d\d in {re.escape(str(videos.resolve()))}: 1 video deleted, moved away "
                            r"or left out has left the library", lines.get(timeout=60))
        watch.send_signal(signal.SIGINT)
        assert watch.wait(timeout=60) == 130
    finally:
        watch.kill()
    err = watch.stderr.read()
    assert err.startswith("watching 2 folder(s); Ctrl+C to stop\n") and "Traceback" not in err, err
    assert "clipseek: interrupted" in err, err


def test_a_rebuilt_search_index_is_said_once(tmp_path, tiny_bundle, capsys):
    # It was printed as a warning when it happened and again as a note at the end of `clipseek index`.
    videos = tmp_path / "videos"
    videos.mkdir()
    make_video(videos / "one.mp4", shots=[ShotSpec(2.0)])
    lib = tmp_path / "lib"
    assert run_cli(capsys, "--library", lib, "--model", tiny_bundle, "add-folder", videos)[0] == 0
    assert run_cli(capsys, "--library", lib, "--model", tiny_bundle, "index")[0] == 0
    (lib / "vectors" / "index.bin").write_bytes(b"\0" * 100)
    r = subprocess.run([sys.executable, "-m", "engine.cli.main", "--library", str(lib), "--model", str(tiny_bundle),
                        "index"], capture_output=True, text=True, env=dict(os.environ, HF_HUB_OFFLINE="1"), timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("The search index was rebuilt from the catalog because index.bin has 100 bytes") == 1, \
        r.stderr
    assert r.stdout == "up to date: no new or changed videos to index\n"


def test_errors_are_one_sentence_on_stderr(tmp_path, tiny_bundle):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    lib = empty_library(tmp_path / "lib", tiny_bundle)

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "engine.cli.main", *map(str, args)],
                              capture_output=True, text=True, env=env, timeout=120)

    r = cli("--library", lib, "--model", tiny_bundle, "search", "   ")
    assert r.returncode != 0 and "Traceback" not in r.stderr and r.stderr.startswith("clipseek: ")
    r = cli("--library", lib, "--model", tiny_bundle, "search", "")   # an empty query, not a missing one
    assert r.returncode != 0 and r.stderr.startswith("clipseek: type a few words"), r.stderr
    r = cli("--library", lib, "--model", tiny_bundle, "search", "--image", "")
    assert r.returncode != 0 and r.stderr.startswith("clipseek: --image needs a PATH"), r.stderr
    broken = tmp_path / "broken-bundle"
    broken.mkdir()
    (broken / "bundle.json").write_text("{not json", encoding="utf-8")
    r = cli("--library", lib, "--model", broken, "search", "a cat")
    assert r.returncode != 0 and "Traceback" not in r.stderr and "bundle.json" in r.stderr
    r = cli("--library", lib, "--model", tiny_bundle, "add-folder", tmp_path / "does-not-exist")
    assert r.returncode != 0 and "Traceback" not in r.stderr and "not a folder" in r.stderr


@pytest.mark.parametrize("command", [["status"], ["search", "a cat"], ["problems"], ["retry"], ["index"], ["watch"],
                                     ["leave-out", "videos/broken.mp4"],
                                     ["remove-folder", "videos"], ["model", "use", "other", "--yes"]],
                         ids=lambda command: command[0] if command[0] != "model" else "model-use")
@pytest.mark.parametrize("where", ["missing", "videos"])
def test_a_library_path_that_holds_no_library_is_one_sentence_and_stays_untouched(tmp_path, tiny_bundle, capsys,
                                                                                   command, where):
    """A mistyped --library used to become a new, empty library; a folder of videos gained a catalog."""
    target = tmp_path / "libary" if where == "missing" else tmp_path / "videos"
    if where == "videos":
        target.mkdir()
        (target / "holiday.mp4").write_bytes(b"not read")
    before = sorted(p.name for p in target.iterdir()) if target.exists() else None
    code, out, err = run_cli(capsys, "--library", target, "--model", tiny_bundle, *command)
    assert code == 2 and out == "", out
    assert err == (f"clipseek: there is no ClipSeek library in {target}; check the path, or start a library there "
                   f"with `clipseek --library {target} add-folder FOLDER`\n"), err
    assert (sorted(p.name for p in target.iterdir()) if target.exists() else None) == before


def test_add_folder_starts_a_library_where_there_was_none(tmp_path, tiny_bundle, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    library = tmp_path / "new" / "library"
    assert run_cli(capsys, "--library", library, "--model", tiny_bundle, "add-folder", videos)[0] == 0
    code, out, _err = run_cli(capsys, "--library", library, "--model", tiny_bundle, "status")
    assert code == 0 and f"folder   {videos}: 0 indexed, 0 pending" in out, out


def _status_with_device(tmp_path, tiny_bundle, capsys, device: str) -> tuple[list[str], dict]:
    """`clipseek status` of an empty library whose settings say ``device``: its lines, and its --json."""
    library = empty_library(tmp_path / "library", tiny_bundle)
    settings = json.loads((library / "settings.json").read_text()) if (library / "settings.json").exists() else {}
    (library / "settings.json").write_text(json.dumps({**settings, "device": device}), encoding="utf-8")
    code, out, _err = run_cli(capsys, "--library", library, "--model", tiny_bundle, "status")
    assert code == 0, out
    code, as_json, _err = run_cli(capsys, "--library", library, "--model", tiny_bundle, "status", "--json")
    assert code == 0, as_json
    return out.splitlines(), json.loads(as_json)


@pytest.mark.parametrize("device, gpu, expected", [
    ("auto", False, "device   auto: the CPU (no NVIDIA GPU with onnxruntime-gpu found); 3 index workers"),
    ("auto", True, "device   auto: the NVIDIA GPU (onnxruntime-gpu and the NVIDIA driver found); 2 index workers"),
    ("gpu", False, "device   gpu: the CPU (no NVIDIA GPU with onnxruntime-gpu found); 3 index workers"),
    ("cpu", True, "device   cpu (set in the library's settings); 3 index workers"),
])
def test_status_tells_where_the_model_will_run_without_loading_it(tmp_path, tiny_bundle, capsys, monkeypatch,
                                                                  device, gpu, expected):
    import engine.api.library as library_module
    import engine.runtime.gpu as gpu_module

    monkeypatch.setattr(library_module, "gpu_likely", lambda: gpu)
    monkeypatch.setattr(gpu_module, "gpu_likely", lambda: gpu)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    lines, status = _status_with_device(tmp_path, tiny_bundle, capsys, device)
    assert expected in lines, lines
    assert "copy     none yet: a copy of the catalog is kept after indexing, at most once a day" in lines
    assert (status["catalog_copy"], status["catalog_on_postgres"], status["demo"]) == (None, False, False)
    assert (status["device"], status["gpu_found"], status["providers"]) == (device, gpu, [])
    assert status["index_workers"] == int(expected.split("; ")[1].split()[0])


@pytest.mark.parametrize("gpu", [False, True])
def test_device_gpu_on_the_command_line_says_when_the_model_will_run_on_the_cpu(tmp_path, tiny_bundle, capsys,
                                                                               monkeypatch, gpu):
    import engine.runtime.gpu as gpu_module

    monkeypatch.setattr(gpu_module, "gpu_likely", lambda: gpu)
    library = empty_library(tmp_path / "library", tiny_bundle)
    code, out, err = run_cli(capsys, "--library", library, "--model", tiny_bundle, "--device", "gpu", "search", "red")
    assert code == 0 and out.startswith("no moments"), out
    note = "note: --device gpu, but no NVIDIA GPU with onnxruntime-gpu is found here; the model runs on the CPU\n"
    assert (note in err) is not gpu, err


def test_a_demonstration_model_says_it_finds_nothing_in_your_own_videos(tmp_path, tiny_bundle, capsys):
    mine = tmp_path / "my videos"
    mine.mkdir()
    builtin = ["--library", tmp_path / "library"]                         # the built-in model: the shapes demo
    code, out, err = run_cli(capsys, *builtin, "add-folder", mine)
    assert code == 0 and out.startswith("added ")
    assert err.startswith("note: the library's model, clipseek-shapes, is a demonstration trained only on the "
                          "synthetic shapes world: it will not find moments in your own videos. Install a "
                          "pretrained CLIP (`clipseek model install openclip:ViT-B-32/laion2b_s34b_b79k`"), err
    code, out, _ = run_cli(capsys, *builtin, "status")
    assert "; a demonstration trained only on the synthetic shapes world)" in out.splitlines()[1]
    code, out, _ = run_cli(capsys, *builtin, "status", "--json")
    assert json.loads(out)["model_trained_only_on"] == "shapes"

    other = ["--library", tmp_path / "other", "--model", tiny_bundle]     # not trained on the shapes world
    code, out, err = run_cli(capsys, *other, "add-folder", mine)
    assert code == 0 and err == ""
    code, out, _ = run_cli(capsys, *other, "status", "--json")
    assert json.loads(out)["model_trained_only_on"] is None


def test_a_file_that_keeps_failing_can_be_left_out_of_the_library(tmp_path, tiny_bundle, capsys):
    folder = tmp_path / "videos"
    folder.mkdir()
    make_video(folder / "good.mp4", shots=[ShotSpec(2.0, shape="square")])
    # The same name in a folder inside; a name that reads as a pattern ('[1]' would match '1').
    for bad in (folder / "broken [1].mp4", folder / "old" / "broken [1].mp4", folder / "broken 1.mp4"):
        bad.parent.mkdir(parents=True, exist_ok=True)
        bad.write_bytes(b"not a video" * 100)
    base = ["--library", tmp_path / "library", "--model", tiny_bundle]
    assert run_cli(capsys, *base, "add-folder", folder)[0] == 0
    assert run_cli(capsys, *base, "index")[0] == 0
    assert len(run_cli(capsys, *base, "problems")[1].splitlines()) == 3

    code, out, _ = run_cli(capsys, *base, "leave-out", folder / "broken [1].mp4")
    pattern = f"{folder.resolve().as_posix()}/broken [[]1].mp4"
    assert code == 0 and out.splitlines()[0] == f"left out {pattern}"
    assert json.loads((tmp_path / "library" / "settings.json").read_text())["exclude"][-1] == pattern
    assert run_cli(capsys, *base, "index")[0] == 0
    code, out, _ = run_cli(capsys, *base, "problems")
    reason = "not a video file (contents not recognised as a video container)"
    assert out.splitlines() == [f"failed   {folder.resolve() / 'broken 1.mp4'}: {reason}",     # the others stay
                                f"failed   {folder.resolve() / 'old' / 'broken [1].mp4'}: {reason}"]
    status = json.loads(run_cli(capsys, *base, "status", "--json")[1])
    assert (status["files"]["indexed"], status["files"]["failed"]) == (1, 2)

    code, out, _ = run_cli(capsys, *base, "leave-out", folder / "broken [1].mp4")
    assert code == 0 and out.startswith("already left out")
    code, _out, err = run_cli(capsys, *base, "leave-out", tmp_path / "elsewhere.mp4")
    assert code == 2 and err == f"clipseek: {tmp_path / 'elsewhere.mp4'} is not inside a folder of this library\n"
    code, _out, err = run_cli(capsys, *base, "leave-out", folder)
    assert code == 2 and err == f"clipseek: {folder} is a folder of this library; remove it from the library instead\n"
    # A mistyped name leaves nothing out; a file the library knows may be gone from its place (an unplugged drive).
    settings = (tmp_path / "library" / "settings.json").read_text()
    code, _out, err = run_cli(capsys, *base, "leave-out", folder / "broken 1.mp4", folder / "brokn 1.mp4")
    assert code == 2 and err == f"clipseek: {folder / 'brokn 1.mp4'} does not exist; nothing was left out\n"
    assert (tmp_path / "library" / "settings.json").read_text() == settings
    (folder / "broken 1.mp4").unlink()
    code, out, _ = run_cli(capsys, *base, "leave-out", folder / "broken 1.mp4")
    assert code == 0 and out.splitlines()[0] == f"left out {folder.resolve().as_posix()}/broken 1.mp4"


def test_index_can_look_in_one_library_folder_alone(tmp_path, tiny_bundle, capsys):
    folders = [tmp_path / "phone", tmp_path / "nas"]
    base = ["--library", tmp_path / "library", "--model", tiny_bundle]
    for seed, folder in enumerate(folders):
        folder.mkdir()
        make_video(folder / "first.mp4", shots=[ShotSpec(2.0)], seed=seed)
        assert run_cli(capsys, *base, "add-folder", folder)[0] == 0
    assert run_cli(capsys, *base, "index")[0] == 0
    for seed, folder in enumerate(folders):
        make_video(folder / "second.mp4", shots=[ShotSpec(2.0, shape="square")], seed=10 + seed)
    (folders[1] / "first.mp4").unlink()

    code, out, _ = run_cli(capsys, *base, "index", "--folder", folders[0])
    assert code == 0 and out.startswith("indexed 1, failed 0, skipped 0 ("), out
    status = json.loads(run_cli(capsys, *base, "status", "--json")[1])
    assert {Path(f["path"]).name: f["indexed"] for f in status["folders"]} == {"phone": 2, "nas": 1}
    code, out, _ = run_cli(capsys, *base, "index")           # then every folder: the other's changes too
    assert code == 0 and out.startswith("indexed 1, failed 0, skipped 0 (") and out.rstrip().endswith(
        "; 1 video deleted, moved away or left out has left the library"), out
    code, _out, err = run_cli(capsys, *base, "index", "--folder", tmp_path)
    assert code == 2 and err.startswith(f"clipseek: {tmp_path} is not a folder of this library; its folders are: ")


def test_a_file_left_out_of_one_folder_stays_in_another_that_holds_the_same_path(tmp_path, tiny_bundle, capsys):
    # Two memory cards copied as two library folders both hold DCIM/100CANON/MVI_0001.mp4: leaving out one
    # left out both.
    cards = [tmp_path / "Camera 2019", tmp_path / "Camera 2020"]
    for seed, card in enumerate(cards):
        (card / "DCIM" / "100CANON").mkdir(parents=True)
        make_video(card / "DCIM" / "100CANON" / "MVI_0001.mp4", shots=[ShotSpec(2.0)], seed=seed)
    base = ["--library", tmp_path / "library", "--model", tiny_bundle]
    for card in cards:
        assert run_cli(capsys, *base, "add-folder", card)[0] == 0
    assert run_cli(capsys, *base, "index")[0] == 0
    code, out, _ = run_cli(capsys, *base, "leave-out", cards[0] / "DCIM" / "100CANON" / "MVI_0001.mp4")
    assert code == 0 and out.splitlines()[0] == f"left out {cards[0].resolve().as_posix()}/DCIM/100CANON/MVI_0001.mp4"

    def indexed_videos() -> set[str]:
        assert run_cli(capsys, *base, "index")[0] == 0
        code, out, _ = run_cli(capsys, *base, "search", "a red circle", "--json")
        assert code == 0
        return {r["path"] for r in json.loads(out)["results"]}
    assert indexed_videos() == {str(cards[1].resolve() / "DCIM" / "100CANON" / "MVI_0001.mp4")}
    # The card's folder renamed and located: what was left out of it stays out.
    moved = tmp_path / "Camera 2019 (backup)"
    os.replace(cards[0], moved)
    assert run_cli(capsys, *base, "relocate-folder", cards[0], moved)[0] == 0
    exclude = json.loads((tmp_path / "library" / "settings.json").read_text())["exclude"]
    assert exclude[-1] == f"{moved.resolve().as_posix()}/DCIM/100CANON/MVI_0001.mp4"
    assert indexed_videos() == {str(cards[1].resolve() / "DCIM" / "100CANON" / "MVI_0001.mp4")}


@pytest.mark.parametrize("device, driver, expected, key", [
    ("auto", True, "decoding the NVIDIA GPU (NVDEC) for files that need more than their keyframes, else the CPU", "cuda"),
    ("gpu", True, "decoding the NVIDIA GPU (NVDEC) for files that need more than their keyframes, else the CPU", "cuda"),
    ("cpu", True, "decoding the CPU (set in the library's settings)", "cpu"),
    ("auto", False, "decoding the CPU (no NVIDIA driver, or PyAV without CUDA)", "cpu"),
])
def test_status_tells_where_video_will_be_decoded(tmp_path, tiny_bundle, capsys, monkeypatch, device, driver,
                                                  expected, key):
    import engine.media.hw_decode as hw_decode

    monkeypatch.setattr(hw_decode, "cuda_decoding_possible", lambda: driver)
    lines, status = _status_with_device(tmp_path, tiny_bundle, capsys, device)
    assert expected in lines, lines
    assert status["decoding"] == key


def test_a_name_that_is_not_utf8_costs_that_file_only(tmp_path, tiny_bundle, video_set, capsys):
    root, _ = video_set
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(root / "snow.mp4", folder / "good.mp4")
    bad = os.fsdecode(os.fsencode(folder) + b"/bad\xffname.mp4")
    shutil.copy(root / "snow.mp4", bad)
    os.utime(bad, (1_600_000_000, 1_600_000_000))      # other bytes' times: not taken for a move of good.mp4
    base = ["--library", tmp_path / "library", "--model", tiny_bundle]
    assert run_cli(capsys, *base, "add-folder", folder)[0] == 0
    for expected in ("indexed 1, failed 0, skipped 1", "up to date: no new or changed videos"):   # every run goes on
        code, out, err = run_cli(capsys, *base, "index")
        assert code == 0 and out.startswith(expected), (out, err)
    code, out, _ = run_cli(capsys, *base, "problems", "--json")
    [problem] = json.loads(out)
    assert problem["status"] == "skipped" and problem["path"] == str(folder / "bad\\xffname.mp4")
    assert "name that is not valid UTF-8" in problem["reason"]

    odd_folder = os.fsdecode(os.fsencode(tmp_path) + b"/dir\xfe")
    os.mkdir(odd_folder)
    code, _, err = run_cli(capsys, *base, "add-folder", odd_folder)
    assert code == 2 and err == (f"clipseek: {tmp_path}/dir\\xfe has a name that is not valid UTF-8, so the library "
                                 "cannot store it; rename it (or the folder holding it) and add it again\n")
    code, _, err = run_cli(capsys, *base, "search", "--similar", f"{bad}@1")
    assert code == 2 and err == f"clipseek: {folder}/bad\\xffname.mp4 is not in this library (or not indexed yet)\n"


@pytest.mark.parametrize("settings, command", [
    ([], ["status"]),
    ({"sample_fps": "abc"}, ["search", "a cat"]),
    ({"max_segment_seconds": None}, ["problems"]),
    ({"workers": "x"}, ["index"]),
    ({"thumbnail_width": 0}, ["index"]),
    ({"shot_threshold": "hi"}, ["index"]),
    ({"file_timeout_seconds": -1}, ["index"]),
], ids=["not-an-object", "text-for-a-number", "null", "workers-text", "zero-width", "threshold-text",
        "negative-timeout"])
def test_a_wrong_settings_file_is_one_sentence_and_stays(tmp_path, tiny_bundle, capsys, settings, command):
    lib = tmp_path / "lib"
    lib.mkdir()
    path = lib / "settings.json"
    path.write_text(json.dumps(settings), encoding="utf-8")
    code, out, err = run_cli(capsys, "--library", lib, "--model", tiny_bundle, *command)
    assert code == 2 and err.startswith(f"clipseek: {path}") and len(err.splitlines()) == 1, err
    name = next(iter(settings), None)
    assert (name is None or f"{name} must be" in err) and "unexpected" not in err, err
    assert path.read_text(encoding="utf-8") == json.dumps(settings)


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_index_refuses_fewer_than_one_worker(tmp_path, tiny_bundle, capsys, workers):
    code, _out, err = run_cli(capsys, "--library", tmp_path / "lib", "--model", tiny_bundle, "index",
                              "--workers", workers)
    assert code == 2 and err == f"clipseek: --workers must be at least 1, not {workers}; leave it out for " \
                                 "one worker per two cores (two with an NVIDIA GPU)\n", err


def test_index_caps_workers_at_what_the_computer_can_use(tmp_path, tiny_bundle, capsys, monkeypatch):
    import engine.indexer.pool as pool
    from engine.settings import max_local_workers

    started: list[int] = []
    monkeypatch.setattr(pool, "prestart_workers", lambda count, _threads: started.append(count))   # no forks
    code, out, err = run_cli(capsys, "--library", empty_library(tmp_path / "lib", tiny_bundle), "--model", tiny_bundle, "index",
                             "--workers", "100000")
    assert code == 0, err
    assert out == "nothing to index: the library has no folders yet; add one with `clipseek add-folder DIR`\n"
    assert started == [max_local_workers()]
    assert err.startswith(f"note: --workers 100000 is more than this computer can use; indexing with "
                          f"{max_local_workers()} workers"), err


@pytest.mark.parametrize("k", [0, 1001])
def test_a_result_count_outside_what_search_takes_is_one_sentence(tmp_path, tiny_bundle, capsys, k):
    lib = empty_library(tmp_path / "lib", tiny_bundle)
    code, out, err = run_cli(capsys, "--library", lib, "--model", tiny_bundle, "search", "a cat", "-k", k)
    assert code == 2 and not out and err == f"clipseek: -k must be from 1 to 1000, not {k}\n", err


def test_a_batch_file_that_is_not_text_is_one_sentence(tmp_path, tiny_bundle, capsys):
    video_like = tmp_path / "clip.mp4"
    video_like.write_bytes(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00\xff\xd8\xff\xe0" * 64)
    code, out, err = run_cli(capsys, "--library", empty_library(tmp_path / "lib", tiny_bundle), "--model",
                             tiny_bundle, "search", "--batch", video_like)
    assert code == 2 and out == "", out
    assert err == f"clipseek: the batch file {video_like} is not UTF-8 text; save it as UTF-8 text, one query " \
                  "per line\n", err


@pytest.mark.parametrize("value", ["nan", "inf", "high"])
def test_a_minimum_score_that_is_no_finite_number_is_refused(tmp_path, tiny_bundle, capsys, value):
    with pytest.raises(SystemExit) as stopped:
        run_cli(capsys, "--library", tmp_path / "lib", "--model", tiny_bundle, "search", "a cat", "--min-score", value)
    assert stopped.value.code == 2
    assert f"--min-score: '{value}' is not a" in capsys.readouterr().err


def test_shapes_generate_into_a_file_is_one_sentence(tmp_path, capsys):
    target = tmp_path / "taken.txt"
    target.write_text("mine")
    code, _out, err = run_cli(capsys, "shapes", "generate", target)
    assert code == 2 and err == f"clipseek: {target} is a file; give a folder to write the videos and " \
                                 "annotations.json into\n", err
    assert target.read_text() == "mine"


@pytest.mark.parametrize("args, option", [(["--library", "", "status"], "--library"),
                                           (["--model", " ", "status"], "--model"),
                                           (["index", "--ray", ""], "--ray")])
def test_an_empty_library_model_or_ray_address_is_refused_not_taken_for_the_default(capsys, args, option):
    with pytest.raises(SystemExit) as stopped:
        run_cli(capsys, *args)
    assert stopped.value.code == 2
    assert f"argument {option}: an empty " in capsys.readouterr().err


def test_add_folder_with_an_empty_name_is_refused(tmp_path, tiny_bundle, capsys):
    code, _out, err = run_cli(capsys, "--library", tmp_path / "lib", "--model", tiny_bundle, "add-folder", "")
    assert code == 2 and err == "clipseek: no folder given: name the folder of videos to add\n", err


@pytest.mark.parametrize("spec", ["clip.mp4@-5", "clip.mp4@nan", "clip.mp4@inf", "@3", "clip.mp4@soon"])
def test_similar_with_a_time_that_is_no_time_in_a_file_is_one_sentence(tmp_path, tiny_bundle, capsys, spec):
    code, _out, err = run_cli(capsys, "--library", empty_library(tmp_path / "lib", tiny_bundle), "--model",
                              tiny_bundle, "search", "--similar", spec)
    assert code == 2 and err == ("clipseek: --similar takes PATH@SECONDS with seconds from the start of the file, "
                                 f"e.g. clip.mp4@12.5, not {spec!r}\n"), err


def test_a_file_name_with_a_newline_stays_on_its_result_line(tmp_path, tiny_bundle, video_set, capsys):
    root, _ = video_set
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(root / "snow.mp4", folder / "two\nlines.mp4")
    base = ["--library", tmp_path / "library", "--model", tiny_bundle]
    assert run_cli(capsys, *base, "add-folder", folder)[0] == 0
    assert run_cli(capsys, *base, "index")[0] == 0
    code, out, _ = run_cli(capsys, *base, "search", "snow", "-k", "3")
    lines = out.splitlines()
    assert code == 0 and lines and all(line.endswith("two\\nlines.mp4") for line in lines), out
    code, out, _ = run_cli(capsys, *base, "search", "snow", "-k", "1", "--json")
    assert json.loads(out)["results"][0]["path"] == str(folder / "two\nlines.mp4")   # JSON keeps the name as it is


def test_videos_the_settings_leave_out_are_never_opened_and_leave_when_named(tmp_path, tiny_bundle, capsys):
    folder = tmp_path / "share"
    (folder / "@eaDir" / "trip.mp4").mkdir(parents=True)        # a NAS's low-resolution copy of trip.mp4
    (folder / "@eaDir" / "trip.mp4" / "SYNOPHOTO_FILM_M.mp4").write_bytes(b"not a video")
    (folder / "drafts").mkdir()
    (folder / "drafts" / "take1.mp4").write_bytes(b"not a video either")
    lib = tmp_path / "library"
    base = ["--library", lib, "--model", tiny_bundle]
    assert run_cli(capsys, *base, "add-folder", folder)[0] == 0

    def files() -> dict:
        code, out, _ = run_cli(capsys, *base, "status", "--json")
        assert code == 0
        return {status: n for status, n in json.loads(out)["files"].items() if n}

    assert run_cli(capsys, *base, "index")[0] == 0
    assert files() == {"failed": 1}                                # drafts/take1.mp4 only: @eaDir is left out
    settings = json.loads((lib / "settings.json").read_text()) if (lib / "settings.json").exists() else {}
    (lib / "settings.json").write_text(json.dumps({**settings, "exclude": ["@eaDir", "drafts"]}))
    assert run_cli(capsys, *base, "index")[0] == 0
    assert files() == {}
