"""manifest.json: what index.bin holds and how far into the catalog's change log it is synced."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from engine.util.atomic import atomic_write_text

MANIFEST_VERSION = 1


class ManifestProblem(Exception):
    """The manifest cannot be trusted; the message says why (shown in the rebuild notice)."""


@dataclass(frozen=True)
class Manifest:
    fingerprint: str          # model whose vectors the index holds
    dim: int
    count: int                # live (not deleted) elements
    synced_through: int       # last catalog change seq applied to the saved index
    index_bytes: int          # size of the index.bin this manifest describes
    max_elements: int
    space: str = "ip"
    M: int = 16
    ef_construction: int = 200
    version: int = MANIFEST_VERSION

    def save(self, path: Path) -> None:
        atomic_write_text(path, json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> "Manifest":
        if not path.exists():
            raise ManifestProblem(f"{path.name} is missing")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ManifestProblem(f"{path.name} is unreadable ({exc})") from exc
        if not isinstance(data, dict):
            raise ManifestProblem(f"{path.name} is not a JSON object")
        if data.get("version") != MANIFEST_VERSION:
            raise ManifestProblem(f"{path.name} has version {data.get('version')!r}, "
                                  f"expected {MANIFEST_VERSION}")
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in data]
        if missing:
            raise ManifestProblem(f"{path.name} lacks {', '.join(missing)}")
        try:
            manifest = cls(**{n: data[n] for n in names})
        except TypeError as exc:
            raise ManifestProblem(f"{path.name}: {exc}") from exc
        for name in ("dim", "count", "synced_through", "index_bytes", "max_elements", "M", "ef_construction"):
            value = getattr(manifest, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ManifestProblem(f"{path.name}: {name} = {value!r} is not a count")
        if not isinstance(manifest.fingerprint, str):
            raise ManifestProblem(f"{path.name}: fingerprint is not a string")
        return manifest
