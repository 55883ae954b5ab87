"""Which model bundles exist and which one a library uses.

Bundles live in two places: the built-in ones shipped in assets/models (read-only)
and the user's models folder (imported or installed). A library remembers the name of
the model it was indexed with.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from engine.errors import BundleError, ModelInstallError
from engine.paths import builtin_models_dir, models_dir
from engine.runtime.bundle import BUNDLE_JSON, BundleInfo, open_bundle

DEFAULT_BUILTIN = "clipseek-shapes"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    path: str
    size_bytes: int
    fingerprint: str
    precision: str
    builtin: bool
    active: bool = False


class ModelRegistry:
    def __init__(self, user_dir: Path | None = None, builtin_dir: Path | None = None) -> None:
        self.user_dir = Path(user_dir) if user_dir else models_dir()
        self.builtin_dir = Path(builtin_dir) if builtin_dir else builtin_models_dir()

    def read_info(self, bundle_dir: Path) -> BundleInfo:
        return open_bundle(Path(bundle_dir))

    def _candidates(self) -> list[tuple[Path, bool]]:
        found = []
        for root, builtin in ((self.builtin_dir, True), (self.user_dir, False)):
            if root.is_dir():
                found.extend((p, builtin) for p in sorted(root.iterdir()) if (p / BUNDLE_JSON).is_file())
        return found

    def entries(self, active: str | None = None) -> list[ModelEntry]:
        out = []
        for path, builtin in self._candidates():
            try:
                info = open_bundle(path)
            except BundleError:
                continue
            size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
            out.append(ModelEntry(info.name, str(path), size, info.fingerprint, info.precision, builtin,
                                  active == info.fingerprint))
        return out

    def resolve(self, model: str | Path | None, remembered: str | None) -> Path:
        """A bundle folder for ``model`` (a folder, or a bundle name), else the remembered or default one."""
        if model is not None:
            as_path = Path(model).expanduser()
            if as_path.is_dir():
                open_bundle(as_path)
                return as_path.resolve()
            found = self._by_name(str(model))
            if found is None:
                names = ", ".join(sorted({e.name for e in self.entries()})) or "none installed"
                raise BundleError(f"no model bundle named or at {model!r}; known models: {names}. "
                                  "Import one with `clipseek model import PATH`")
            return found
        for name in (remembered, DEFAULT_BUILTIN):
            if name:
                found = self._by_name(name)
                if found is not None:
                    return found
        entries = self.entries()
        if entries:
            return Path(entries[0].path)
        raise BundleError("no model is installed: import a bundle with `clipseek model import PATH`, export one "
                          "with `clipseek model export ViT-B-32 --pretrained TAG --out DIR`, or pass --model DIR")

    def _by_name(self, name: str) -> Path | None:
        for path, _builtin in self._candidates():
            if path.name == name:
                return path
        for e in self.entries():
            if e.name == name:
                return Path(e.path)
        return None

    def import_bundle(self, source: Path) -> ModelEntry:
        from engine.runtime.store import import_bundle

        path = Path(import_bundle(Path(source), self.user_dir))
        info = open_bundle(path)
        return next(e for e in self.entries() if e.path == str(path) or e.fingerprint == info.fingerprint)

    def install(self, spec: str, progress: Callable[[str], None] | None = None) -> ModelEntry:
        try:
            from engine.model.install import install
        except ImportError as exc:
            raise ModelInstallError("installing a pretrained model needs the training tools (torch, open_clip): "
                                    "`pip install 'clipseek[train]'`, or import a ready bundle with "
                                    "`clipseek model import PATH`") from exc
        path = Path(install(spec, self.user_dir, progress=progress))
        info = open_bundle(path)
        return next(e for e in self.entries() if e.fingerprint == info.fingerprint)
