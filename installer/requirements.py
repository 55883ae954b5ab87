"""Print the runtime requirements of one bundle flavour, one per line, derived from pyproject.toml.

Usage: python installer/requirements.py cpu|gpu

The bundle is built from the same dependency list as the package, with two changes: the
onnxruntime package is the flavour's (plain ``onnxruntime`` for cpu, ``onnxruntime-gpu`` for gpu),
and hnswlib is left out because build.sh compiles it from source for a generic x86-64 CPU.
"""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
ONNXRUNTIME = {"cpu": "onnxruntime", "gpu": "onnxruntime-gpu"}
BUILT_FROM_SOURCE = {"hnswlib"}


def project_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def runtime_requirements(flavour: str, pyproject: Path = PYPROJECT) -> list[str]:
    if flavour not in ONNXRUNTIME:
        raise SystemExit(f"unknown flavour {flavour!r}; choose one of: {', '.join(ONNXRUNTIME)}")
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    out: list[str] = []
    onnx_spec = None
    for dep in deps:
        name = project_name(dep)
        if name in BUILT_FROM_SOURCE:
            continue
        if name in ("onnxruntime", "onnxruntime-gpu"):
            # Keep the version bound, drop the platform marker: the flavour decides the package.
            spec = dep.split(";", 1)[0].strip()[len(name):]
            onnx_spec = onnx_spec or spec
            continue
        out.append(dep)
    out.append(ONNXRUNTIME[flavour] + (onnx_spec or ""))
    return out


def source_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [d for d in deps if project_name(d) in BUILT_FROM_SOURCE]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: requirements.py cpu|gpu|source")
    lines = source_requirements() if sys.argv[1] == "source" else runtime_requirements(sys.argv[1])
    print("\n".join(lines))
