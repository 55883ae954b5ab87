"""The built Linux archive, checked as a user meets it (installer/check_archive.sh).

`make test` (CI) builds the cpu archive first (dist/clipseek-VERSION-linux-x86_64-cpu.tar.gz) and sets
CLIPSEEK_REQUIRE_ARCHIVE=1, so a missing archive fails there. Run alone, the tests skip unless an archive
exists: build one with `installer/build.sh cpu`, or point CLIPSEEK_INSTALLER_ARCHIVE at one (a gpu
archive, say: by default only the cpu ones in dist/ are checked, to keep the suite short).
"""
from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHECK = REPO / "installer" / "check_archive.sh"

pytestmark = pytest.mark.slow


def built_archives() -> list[Path]:
    chosen = os.environ.get("CLIPSEEK_INSTALLER_ARCHIVE")
    if chosen:
        return [Path(chosen)]
    return sorted((REPO / "dist").glob("clipseek-*-linux-x86_64-cpu.tar.gz"))


def build_info(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        for member in tar:                  # build.sh packs it first: no need to read the rest
            if member.name.endswith("/BUILD-INFO.json"):
                return json.load(tar.extractfile(member))
    raise AssertionError(f"{archive} has no BUILD-INFO.json")


# What must not be in a bundle: training code, unused Qt parts, the build machine's system libraries.
FORBIDDEN_PARTS = ("/torch/", "/open_clip/", "/engine/model/", "libQt6WebEngine", "libQt63D", "libqgtk3", "libQt6Pdf",
                   "libqtvirtualkeyboard", "/_internal/libstdc++.so", "/_internal/libfontconfig.so",
                   "/_internal/libglib-2.0.so")


@pytest.fixture(params=built_archives() or [None], ids=lambda p: p.name if p else "none")
def archive(request) -> Path:
    if request.param is None:
        reason = "no built archive in dist/; build one with installer/build.sh cpu"
        if os.environ.get("CLIPSEEK_REQUIRE_ARCHIVE") == "1":
            pytest.fail(f"{reason} (CLIPSEEK_REQUIRE_ARCHIVE=1: `make test` builds it first)")
        pytest.skip(reason)
    return request.param


def test_archive_runs_its_self_test_in_a_clean_environment_and_installs(archive, request):
    model_args: list[str] = []
    if not build_info(archive)["builtin_models"]:
        # Built while assets/models was empty: give the self-test a small exported bundle instead.
        model_args = ["--model", str(request.getfixturevalue("tiny_bundle"))]
    result = subprocess.run(["bash", str(CHECK), str(archive), *model_args], capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-test: ok" in result.stdout and "PASS" in result.stdout


def test_archive_leaves_out_what_the_application_does_not_use(archive):
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    found = sorted(n for n in names if any(part in n for part in FORBIDDEN_PARTS))
    assert found == []
    with tarfile.open(archive) as tar:
        links = {m.name: m.linkname for m in tar.getmembers() if m.issym()}
    present = set(names)
    dangling = sorted(name for name, target in links.items()
                      if os.path.normpath(os.path.join(os.path.dirname(name), target)) not in present)
    assert dangling == []                     # links to what was left out go too
    assert any(n.endswith("/_internal/PySide6/Qt/plugins/platforms/libqxcb.so") for n in names)


def test_archive_states_a_portable_build(archive):
    info = build_info(archive)
    # hnswlib built for a generic x86-64 level, never -march=native: no wider vectors than that level has.
    allowed = {"x86-64": {"none", "sse"}, "x86-64-v2": {"none", "sse"}, "x86-64-v3": {"none", "sse", "avx"}}
    assert info["hnswlib"]["vector_isa"] in allowed[info["hnswlib"]["march"]]
    major, minor = (int(x) for x in info["min_glibc"].split(".")[:2])
    assert (major, minor) >= (2, 17)
    if info["flavour"] == "cpu":
        assert os.path.getsize(archive) <= 250 * 1000 * 1000
