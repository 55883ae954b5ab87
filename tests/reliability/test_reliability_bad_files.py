"""Bad files: every one ends with a clear per-file status and reason, the rest is indexed, nothing dies.

The corpus (reliability_corpus.py) holds 15 files of 14 bad or unusual kinds beside a good one,
plus entries named like videos that are no regular files (a FIFO, a link to a device, a dangling
link, a link to itself), a directory named like a video and a symlink loop. Around the index
run the test deletes a queued file and keeps another one growing as a copy would.
A file or folder without read permission needs a process that permission checks apply to: tests
run as root, so those cases run the CLI without the capabilities that let root read anything
(``setpriv --bounding-set=-dac_override,-dac_read_search``).
"""
from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import pytest

from engine.api.library import Library
from engine.cli.main import main as cli_main
from engine.settings import Settings
from reliability_corpus import EXPECTED, LONG_SPARSE_SECONDS, NOT_FILES, make_bad_corpus
from reliability_helpers import REPO, cli_env, without_permission_override
from videogen import ShotSpec, make_video

pytestmark = pytest.mark.slow


class GrowingCopy:
    """Writes ``source`` into ``target`` a little at a time, like a slow copy, until told to finish."""

    def __init__(self, source: Path, target: Path) -> None:
        self.data = source.read_bytes()
        self.target = target
        self.written = len(self.data) // 4
        target.write_bytes(self.data[:self.written])
        self._finish = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with open(self.target, "ab") as fh:
            while not self._finish.wait(0.05) and self.written < len(self.data) - 1000:
                fh.write(self.data[self.written:self.written + 200])
                fh.flush()
                self.written += 200

    def finish(self) -> None:
        self._finish.set()
        self._thread.join()
        with open(self.target, "ab") as fh:
            fh.write(self.data[self.written:])


def problems_json(library: Path, bundle: Path, capsys) -> dict[str, dict]:
    capsys.readouterr()
    assert cli_main(["--library", str(library), "--model", str(bundle), "problems", "--json"]) == 0
    return {Path(p["path"]).name: p for p in json.loads(capsys.readouterr().out)}


def test_bad_files_end_with_a_status_and_a_reason(tmp_path, tiny_bundle, capsys):
    corpus = make_bad_corpus(tmp_path / "corpus")
    make_video(corpus / "doomed.mp4", size=(160, 120), fps=10, shots=[ShotSpec(2.0)])
    source = make_video(tmp_path / "source.mp4", size=(160, 120), fps=10, seed=9, shots=[ShotSpec(3.0)]).path
    copy = GrowingCopy(source, corpus / "copying.mp4")

    def on_event(name, _payload):
        if name == "index_started":       # after the scan, before any worker opened a file
            (corpus / "doomed.mp4").unlink()
            copy.finish()

    with Library.open(tmp_path / "library", model=tiny_bundle, settings=Settings(workers=2)) as lib:
        lib.add_folder(corpus)
        lib.subscribe(on_event)
        final = lib.index()
        assert final.state == "done"
        rows = {os.path.relpath(f.path, corpus): f for f in lib.catalog.files()}
        problems = {os.path.relpath(p.path, corpus): p for p in lib.problems()}

        for name, expect in EXPECTED.items():
            row = rows[name]
            assert row.status == expect.status, (name, row.status, row.error)
            if expect.status == "indexed":
                assert lib.catalog.segments_of_file(row.id), name
                assert name not in problems
            else:
                assert expect.reason in problems[name].reason, (name, problems[name].reason)
                assert str(corpus / name) in problems[name].reason      # the reason names the file
                assert "Traceback" not in problems[name].reason
        assert rows["doomed.mp4"].status == "failed" and "file not found" in rows["doomed.mp4"].error
        assert rows["copying.mp4"].status == "skipped" and "still being copied" in rows["copying.mp4"].error
        assert not [p for p in rows if p.split(os.sep)[0] in NOT_FILES], sorted(rows)
        assert rows["rotated.mp4"].rotation in (90, 270)
        sparse = lib.catalog.segments_of_file(rows["long_sparse.mp4"].id)
        assert rows["long_sparse.mp4"].duration == pytest.approx(LONG_SPARSE_SECONDS, rel=0.01)
        assert sparse[-1].end == pytest.approx(LONG_SPARSE_SECONDS, rel=0.02)
        assert final.indexed == sum(e.status == "indexed" for e in EXPECTED.values())
        assert final.failed == sum(e.status == "failed" for e in EXPECTED.values()) + 1   # + doomed
        assert final.skipped == sum(e.status == "skipped" for e in EXPECTED.values()) + 1   # + copying

        # What `clipseek problems --json` prints is the same list.
        listed = problems_json(tmp_path / "library", tiny_bundle, capsys)
        assert set(listed) == {Path(p).name for p in problems}
        assert listed["copying.mp4"]["status"] == "skipped" and listed["empty.mp4"]["status"] == "failed"
        # Its plain lines name each file once: "failed   PATH: why", not "PATH: PATH: why".
        assert cli_main(["--library", str(tmp_path / "library"), "--model", str(tiny_bundle), "problems"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == len(problems) and not [line for line in lines if f"{corpus}/" in line.split(": ", 1)[1]
                                                     and "a link to" not in line], lines
        empty = str(corpus / "empty.mp4")
        assert f"failed   {empty}: {problems['empty.mp4'].reason[len(empty) + 2:]}" in lines, lines

        # Next run: the finished copy is indexed, the deleted file has left the library.
        again = lib.index()
        rows = {os.path.relpath(f.path, corpus): f for f in lib.catalog.files()}
        assert rows["copying.mp4"].status == "indexed" and "doomed.mp4" not in rows
        assert again.indexed == 1 and again.failed == 0


def test_a_file_without_read_permission_fails_with_that_reason(tmp_path, tiny_bundle):
    import subprocess

    folder = tmp_path / "videos"
    folder.mkdir()
    make_video(folder / "ok.mp4", size=(160, 120), fps=10, shots=[ShotSpec(2.0)])
    secret = make_video(folder / "secret.mp4", size=(160, 120), fps=10, seed=3, shots=[ShotSpec(2.0)]).path
    secret.chmod(0)
    library = tmp_path / "library"
    base = [sys.executable, "-m", "engine.cli.main", "--library", str(library), "--model", str(tiny_bundle)]
    prefix = without_permission_override()
    try:
        for args in (["add-folder", str(folder)], ["index", "--workers", "1"]):
            done = subprocess.run(prefix + base + args, capture_output=True, text=True, env=cli_env(), cwd=REPO,
                                  timeout=120)
            assert done.returncode == 0, done.stderr
        # The scan found it unreadable, before any worker: the summary counts it all the same.
        assert done.stdout.startswith("indexed 1, failed 1, skipped 0"), done.stdout
        done = subprocess.run(base + ["problems", "--json"], capture_output=True, text=True, env=cli_env(),
                              cwd=REPO, timeout=60)
    finally:
        secret.chmod(0o644)
    listed = json.loads(done.stdout)
    assert [(Path(p["path"]).name, p["status"]) for p in listed] == [("secret.mp4", "failed")]
    assert "Permission denied" in listed[0]["reason"] and "cannot be read" in listed[0]["reason"]


def test_a_subfolder_that_cannot_be_read_keeps_its_files_and_says_so(tmp_path, tiny_bundle):
    import subprocess

    folder = tmp_path / "videos"
    (folder / "sub").mkdir(parents=True)
    make_video(folder / "ok.mp4", size=(160, 120), fps=10, shots=[ShotSpec(1.0)])
    make_video(folder / "sub" / "insub.mp4", size=(160, 120), fps=10, seed=3, shots=[ShotSpec(1.0)])
    library = tmp_path / "library"
    base = [sys.executable, "-m", "engine.cli.main", "--library", str(library), "--model", str(tiny_bundle)]

    def cli(*args, prefix=()):
        return subprocess.run([*prefix, *base, *args], capture_output=True, text=True, env=cli_env(), cwd=REPO,
                              timeout=120)
    assert cli("add-folder", folder).returncode == 0
    assert cli("index", "--workers", "1").returncode == 0
    before = json.loads(cli("status", "--json").stdout)
    assert before["files"]["indexed"] == 2
    prefix = without_permission_override()
    (folder / "sub").chmod(0)
    try:
        done = cli("index", "--workers", "1", prefix=prefix)
    finally:
        (folder / "sub").chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert f"note: {folder / 'sub'} cannot be read (Permission denied); its files are kept as they were" in done.stderr
    after = json.loads(cli("status", "--json").stdout)
    assert after["files"]["indexed"] == 2 and after["segments"] == before["segments"]
