"""Where bundles live on this machine: list, verify, import (from a folder or an archive), resolve.

Bundles are kept one per folder under ``default_models_dir()`` (the user data folder, or
``$CLIPSEEK_DATA_DIR/models``). An import is checked completely before it is moved into place;
archive entries that would land outside the target folder are refused.
"""
from __future__ import annotations

import os
import re
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from platformdirs import user_data_dir

from engine.errors import BundleError
from engine.runtime.bundle import BUNDLE_JSON, BundleInfo, is_bundle_name, open_bundle, verify

DATA_DIR_ENV = "CLIPSEEK_DATA_DIR"
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")


@dataclass(frozen=True)
class BundleEntry:
    path: Path
    info: BundleInfo | None     # None when bundle.json cannot be read
    problems: tuple[str, ...]   # from open_bundle (no hashing); empty when it looks complete

    @property
    def ok(self) -> bool:
        return not self.problems


def default_data_dir() -> Path:
    override = os.environ.get(DATA_DIR_ENV)
    return Path(override) if override else Path(user_data_dir("ClipSeek", appauthor=False))


def default_models_dir() -> Path:
    return default_data_dir() / "models"


def list_bundles(models_dir: Path | None = None) -> list[BundleEntry]:
    """Every folder of ``models_dir`` that holds a bundle.json, readable or not, by name."""
    models_dir = Path(models_dir) if models_dir else default_models_dir()
    if not models_dir.is_dir():
        return []
    entries = []
    for folder in sorted(p for p in models_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (folder / BUNDLE_JSON).exists():
            continue
        try:
            entries.append(BundleEntry(folder, open_bundle(folder), ()))
        except BundleError as exc:
            entries.append(BundleEntry(folder, None, (str(exc),)))
    return entries


def verify_bundle(bundle_dir: Path) -> list[str]:
    """Everything wrong with a bundle, hashing every file (empty: good)."""
    return verify(Path(bundle_dir))


def resolve_bundle(spec: str | Path, models_dir: Path | None = None) -> Path:
    """A ``--model`` value: a bundle folder path, or the name of a bundle in ``models_dir``."""
    path = Path(spec).expanduser()
    if (path / BUNDLE_JSON).exists():
        return path
    models_dir = Path(models_dir) if models_dir else default_models_dir()
    by_name = models_dir / str(spec)
    if is_bundle_name(str(spec)) and (by_name / BUNDLE_JSON).exists():
        return by_name
    known = ", ".join(e.path.name for e in list_bundles(models_dir)) or "none"
    raise BundleError(f"no model bundle {str(spec)!r} (not a bundle folder, and not a name in {models_dir}; "
                      f"installed: {known}); import one with `clipseek model import PATH`")


def import_bundle(source: Path | str, models_dir: Path | None = None, replace: bool = False) -> Path:
    """Copy a bundle folder or archive into ``models_dir/<bundle name>`` after verifying it."""
    source = Path(source).expanduser()
    models_dir = Path(models_dir) if models_dir else default_models_dir()
    models_dir.mkdir(parents=True, exist_ok=True)
    if not source.exists():
        raise BundleError(f"{source}: no such folder or archive to import")
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=models_dir))
    try:
        if source.is_dir():
            root = staging / "bundle"
            shutil.copytree(source, root, symlinks=True)
            _refuse_links(root, source)
        elif _is_archive(source):
            _extract(source, staging / "unpacked")
            root = _find_root(staging / "unpacked", source)
        else:
            raise BundleError(f"{source}: not a folder or a {', '.join(ARCHIVE_SUFFIXES)} archive")
        problems = verify(root)
        if problems:   # named as the user knows them, not by the staging copy's path
            shown = str(source) if source.is_dir() else f"{source}:"
            raise BundleError(f"{source} was not imported: "
                              + "; ".join(problem.replace(str(root), shown) for problem in problems))
        info = open_bundle(root)
        if not is_bundle_name(info.name):
            raise BundleError(f"{source}: bundle name {info.name!r} cannot be a folder name; re-export with --name")
        target = models_dir / info.name
        if target.exists():
            if not replace and _same_bundle(target, info):
                return target
            if not replace:
                raise BundleError(f"{target} already holds another bundle named {info.name!r}; remove it first "
                                  "or import with replace")
            shutil.rmtree(target)
        root.rename(target)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _same_bundle(folder: Path, info: BundleInfo) -> bool:
    try:
        return open_bundle(folder).fingerprint == info.fingerprint
    except BundleError:
        return False


def _is_archive(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _find_root(unpacked: Path, source: Path) -> Path:
    """bundle.json at the archive's top, or inside its single top folder."""
    if (unpacked / BUNDLE_JSON).exists():
        return unpacked
    children = [p for p in unpacked.iterdir()] if unpacked.is_dir() else []
    if len(children) == 1 and children[0].is_dir() and (children[0] / BUNDLE_JSON).exists():
        return children[0]
    raise BundleError(f"{source}: no {BUNDLE_JSON} at the top of the archive or in its single top folder; "
                      "this is not a model bundle archive")


def _safe_member_path(name: str, source: Path) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
        raise BundleError(f"{source}: archive entry {name!r} would be written outside the bundle folder; "
                          "refusing this archive")
    return path


def _extract(source: Path, dest: Path) -> None:
    dest.mkdir()
    try:
        if source.name.lower().endswith(".zip"):
            _extract_zip(source, dest)
        else:
            _extract_tar(source, dest)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        # tarfile lists every compression it tried, one per line: the first line says enough
        why = str(exc).splitlines()[0].rstrip(":") if str(exc) else type(exc).__name__
        raise BundleError(f"{source}: not a readable .tar.gz or .zip model archive ({why}); download or copy it "
                          "again") from exc


def _extract_zip(source: Path, dest: Path) -> None:
    with zipfile.ZipFile(source) as archive:
        for member in archive.infolist():
            rel = _safe_member_path(member.filename, source)
            mode = member.external_attr >> 16
            if (mode & 0o170000) == 0o120000:
                raise BundleError(f"{source}: archive entry {member.filename!r} is a symbolic link; "
                                  "refusing this archive")
            target = dest.joinpath(*rel.parts)
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)


def _extract_tar(source: Path, dest: Path) -> None:
    with tarfile.open(source) as archive:
        for member in archive.getmembers():
            rel = _safe_member_path(member.name, source)
            if not (member.isfile() or member.isdir()):
                raise BundleError(f"{source}: archive entry {member.name!r} is a link or device, not a file; "
                                  "refusing this archive")
            target = dest.joinpath(*rel.parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            src = archive.extractfile(member)
            if src is None:
                raise BundleError(f"{source}: archive entry {member.name!r} cannot be read")
            with src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)


def _refuse_links(root: Path, source: Path) -> None:
    for path in root.rglob("*"):
        if path.is_symlink():
            raise BundleError(f"{source}: {path.relative_to(root)} is a symbolic link; a bundle holds plain files "
                              "only, copy the real files in")
