"""Facts about a built Linux bundle, for BUILD-INFO.json and the README: size, minimum glibc, CPU needs.

Usage: python installer/bundle_report.py APP_DIR --flavour cpu --version 0.1.0 --hnswlib-march x86-64
                                        [--out BUILD-INFO.json]

- min_glibc: the highest GLIBC_x.y symbol version any bundled ELF file (libraries and the program)
  requires; the bundle runs on a Linux whose glibc is at least that. min_libstdcxx likewise for the
  system's libstdc++ (the bundle uses the system's, not a copy).
- hnswlib: the widest vector registers its compiled module uses (objdump). Built for a generic
  x86-64 it must use none wider than xmm (SSE); ymm means AVX/AVX2 and zmm AVX-512, which would
  crash CPUs without them. The build fails if hnswlib uses more than its -march allows.
Needs binutils (readelf, objdump).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
GLIBC_VERSION = re.compile(rb"\bGLIBC_(\d+)\.(\d+)(?:\.(\d+))?")
GLIBCXX_VERSION = re.compile(rb"\bGLIBCXX_(\d+)\.(\d+)(?:\.(\d+))?")
# The widest registers each -march may use in hnswlib's code.
ALLOWED_ISA = {"x86-64": "sse", "x86-64-v2": "sse", "x86-64-v3": "avx", "x86-64-v4": "avx512"}
ISA_ORDER = ("none", "sse", "avx", "avx512")


@dataclass(frozen=True)
class GlibcNeed:
    version: str        # "2.28"
    file: str           # the bundled file that needs it (relative to the bundle)


def elf_files(app_dir: Path) -> list[Path]:
    out = []
    for path in sorted(app_dir.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as f:
                if f.read(4) == ELF_MAGIC:
                    out.append(path)
    return out


def glibc_needs(path: Path, pattern: re.Pattern = GLIBC_VERSION) -> tuple[int, ...] | None:
    """The highest GLIBC_ (or, with GLIBCXX_VERSION, libstdc++) version ``path`` requires, or None."""
    result = subprocess.run(["readelf", "-V", "-W", str(path)], capture_output=True, check=False)
    needed = result.stdout.split(b"Version needs section", 1)
    if len(needed) < 2:
        return None
    versions = [tuple(int(x) for x in m.groups() if x is not None) for m in pattern.finditer(needed[1])]
    return max(versions) if versions else None


def min_glibc(app_dir: Path, pattern: re.Pattern = GLIBC_VERSION) -> GlibcNeed:
    best: tuple[tuple[int, ...], str] = ((0,), "")
    for path in elf_files(app_dir):
        need = glibc_needs(path, pattern)
        if need is not None and need > best[0]:
            best = (need, str(path.relative_to(app_dir)))
    return GlibcNeed(".".join(map(str, best[0])), best[1])


def vector_isa(library: Path) -> str:
    """The widest SIMD registers the machine code of ``library`` names: none, sse, avx or avx512."""
    text = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(library)], capture_output=True,
                          check=True, text=True).stdout
    if re.search(r"%zmm\d|%k[1-7]\b", text):
        return "avx512"
    # ymm registers, or any VEX-encoded instruction (vmovups %xmm..., vfmadd...), need AVX.
    if re.search(r"%ymm\d", text) or re.search(r"\t(?!verr|verw)v[a-z0-9]+\s", text):
        return "avx"
    if re.search(r"%xmm\d", text):
        return "sse"
    return "none"


def find_hnswlib(app_dir: Path) -> Path:
    found = sorted(app_dir.rglob("hnswlib*.so"))
    if not found:
        raise SystemExit(f"no hnswlib module in {app_dir}; the bundle cannot search")
    return found[0]


def directory_size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def report(app_dir: Path, flavour: str, version: str, march: str) -> dict:
    glibc = min_glibc(app_dir)
    # libstdc++ comes from the system (see SYSTEM_LIBRARIES in clipseek.spec): it must be this new.
    glibcxx = min_glibc(app_dir, GLIBCXX_VERSION)
    hnsw = find_hnswlib(app_dir)
    isa = vector_isa(hnsw)
    allowed = ALLOWED_ISA.get(march, "avx512")
    if ISA_ORDER.index(isa) > ISA_ORDER.index(allowed):
        raise SystemExit(f"{hnsw.name} uses {isa} instructions but was to be built for -march={march} "
                         f"(at most {allowed}); a cached wheel built with -march=native may have been reused")
    models = sorted(p.parent.name for p in app_dir.rglob("assets/models/*/bundle.json"))
    return {
        "name": "ClipSeek",
        "version": version,
        "flavour": flavour,
        "platform": "linux-x86_64",
        "min_glibc": glibc.version,
        "min_glibc_needed_by": glibc.file,
        "min_libstdcxx": f"GLIBCXX_{glibcxx.version}",
        "min_libstdcxx_needed_by": glibcxx.file,
        "hnswlib": {"file": str(hnsw.relative_to(app_dir)), "march": march, "vector_isa": isa},
        "builtin_models": models,
        "unpacked_bytes": directory_size(app_dir),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app_dir", type=Path)
    parser.add_argument("--flavour", required=True, choices=("cpu", "gpu"))
    parser.add_argument("--version", required=True)
    parser.add_argument("--hnswlib-march", default="x86-64")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    info = report(args.app_dir, args.flavour, args.version, args.hnswlib_march)
    text = json.dumps(info, indent=2) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
