"""The build's helpers: flavour requirements from pyproject.toml, and the bundle report's ELF checks."""
from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"installer_{name}", REPO / "installer" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


requirements = load("requirements")
bundle_report = load("bundle_report")


def names(lines: list[str]) -> set[str]:
    return {requirements.project_name(line) for line in lines}


def test_cpu_flavour_has_plain_onnxruntime_and_no_training_packages():
    cpu = names(requirements.runtime_requirements("cpu"))
    assert "onnxruntime" in cpu and "onnxruntime-gpu" not in cpu
    assert not cpu & {"torch", "torchvision", "open-clip-torch", "onnx"}
    assert "hnswlib" not in cpu                    # compiled from source by build.sh instead
    assert {"pyside6-essentials", "av", "opencv-python-headless", "sqlalchemy"} <= cpu


def test_gpu_flavour_swaps_in_onnxruntime_gpu_without_a_platform_marker():
    gpu = requirements.runtime_requirements("gpu")
    line = next(r for r in gpu if requirements.project_name(r) == "onnxruntime-gpu")
    assert ";" not in line and "onnxruntime" not in names(gpu)


def test_unknown_flavour_is_refused():
    with pytest.raises(SystemExit, match="cpu, gpu"):
        requirements.runtime_requirements("rocm")


def test_hnswlib_is_the_source_built_requirement():
    assert names(requirements.source_requirements()) == {"hnswlib"}


needs_binutils = pytest.mark.skipif(not (shutil.which("readelf") and shutil.which("objdump")),
                                    reason="needs binutils")


@needs_binutils
def test_min_glibc_is_the_highest_version_any_bundled_file_needs(tmp_path):
    python = Path(sys.executable).resolve()
    shutil.copy(python, tmp_path / "program")
    (tmp_path / "notes.txt").write_text("not an ELF file")
    need = bundle_report.min_glibc(tmp_path)
    assert need.file == "program"
    assert tuple(int(x) for x in need.version.split(".")) == bundle_report.glibc_needs(python) >= (2, 2)


@needs_binutils
def test_vector_isa_sees_avx_in_code_built_for_it(tmp_path):
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("needs a C compiler")
    source = tmp_path / "dot.c"
    source.write_text("float dot(const float *a, const float *b, int n) {\n"
                      "  float s = 0; for (int i = 0; i < n; i++) s += a[i] * b[i]; return s; }\n")
    import subprocess

    found = {}
    for march in ("x86-64", "x86-64-v3"):
        lib = tmp_path / f"dot-{march}.so"
        subprocess.run([compiler, "-O3", "-ffast-math", f"-march={march}", "-shared", "-fPIC", str(source),
                        "-o", str(lib)], check=True)
        found[march] = bundle_report.vector_isa(lib)
    assert found == {"x86-64": "sse", "x86-64-v3": "avx"}
