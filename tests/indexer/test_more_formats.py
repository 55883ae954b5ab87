"""Videos from professional cameras, DV tapes and older camcorders are found, indexed and searchable: real files
encoded by the tests in each container, through the engine's Library."""
from __future__ import annotations

from pathlib import Path

from tests.videogen import ShotSpec, make_video

SHOTS = [ShotSpec(1.5, background=(200, 40, 40)), ShotSpec(1.5, background=(40, 70, 200), shape="square")]
PAL = {"size": (720, 576), "fps": 25}


def test_mxf_dv_and_mod_files_are_indexed(tmp_path, tiny_bundle):
    from engine.api import Library

    folder = tmp_path / "archive"
    folder.mkdir()
    made = [
        make_video(folder / "C0001.MXF", codec="mpeg2", shots=SHOTS, encoder_args=["-f", "mxf"], **PAL),
        make_video(folder / "tape.dv", codec="mpeg2", shots=SHOTS,
                   encoder_args=["-c:v", "dvvideo", "-pix_fmt", "yuv420p", "-f", "dv"], **PAL),
        make_video(folder / "MOV001.MOD", codec="mpeg2", shots=SHOTS, encoder_args=["-f", "vob"], **PAL),
    ]
    with Library.open(tmp_path / "library", model=tiny_bundle) as library:
        library.add_folder(folder)
        progress = library.index()
        assert (progress.indexed, progress.failed, progress.skipped) == (3, 0, 0), library.problems()
        for video in made:
            moments = library.search("a blue square", k=5, folders=[str(video.path)])
            assert moments and Path(moments[0].path) == video.path
            assert max(m.end for m in moments) <= video.duration + 0.1
