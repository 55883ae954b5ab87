"""bundle.json: what a model bundle holds, how to read it, and how to check it.

A bundle is a folder written only by the exporter (engine/model/export.py) and read only by
the runtime. bundle.json is written last, so a folder without it is a partial export.
The fingerprint is a sha256 over the graph files, the tokenizer and the caption bank; the
catalog stores it next to every embedding so that two models' embeddings never mix.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import BundleError
from engine.runtime.file_digests import sha256_files

BUNDLE_FORMAT = "clipseek-bundle"
BUNDLE_VERSION = 1
BUNDLE_JSON = "bundle.json"
GRAPHS = ("frame_encoder", "clip_encoder", "text_encoder", "reranker")
PRECISIONS = ("fp32", "int8")
RESIZES = ("center_crop", "squash")
# bundle.json's sizes: each at least this (a tokenizer's context holds a start and an end token)
SIZES = {"embed_dim": 1, "frames_per_clip": 1, "clip_tokens": 1, "phrase_tokens": 1, "image_size": 1,
         "context_length": 2}
# where each size shows in the graphs' tensors: (graph, tensor, axis)
SIZE_AXES = {
    "image_size": [("frame_encoder", "pixels", 2), ("frame_encoder", "pixels", 3)],
    "embed_dim": [("frame_encoder", "frame_features", 1), ("clip_encoder", "clip_vector", 1),
                  ("text_encoder", "text_vector", 1)],
    "frames_per_clip": [("clip_encoder", "frame_features", 1), ("clip_encoder", "frame_tokens", 1)],
    "clip_tokens": [("clip_encoder", "clip_tokens", 1)],
    "phrase_tokens": [("text_encoder", "phrase_tokens", 1)],
    "context_length": [("text_encoder", "token_ids", 1)],
}
DEFAULT_FILES = {
    "frame_encoder": "frame_encoder.onnx",
    "clip_encoder": "clip_encoder.onnx",
    "text_encoder": "text_encoder.onnx",
    "reranker": "reranker.onnx",
    "tokenizer": "tokenizer.json",
}
CAPTION_FILES = {"caption_bank": "caption_bank.npy", "captions": "captions.json"}
# Graph input and output names are a contract (docs/architecture.md).
GRAPH_IO: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "frame_encoder": (("pixels",), ("frame_features",)),
    "clip_encoder": (("frame_features", "frame_mask"), ("clip_vector", "clip_tokens", "frame_tokens")),
    "text_encoder": (("token_ids",), ("text_vector", "word_tokens", "phrase_tokens", "word_mask")),
    "reranker": (("text_vector", "word_tokens", "phrase_tokens", "word_mask", "clip_tokens", "frame_tokens",
                  "frame_mask"), ("scores",)),
}
# The name of a dynamic text-length axis: the text encoder takes token ids of any length up to the
# context length (see ExportSpec.variable_text_length).
TEXT_LENGTH_AXIS = "L"
RE_EXPORT = "re-export it (`clipseek model export`) or import a good copy (`clipseek model import PATH`)"


SYNTHETIC_WORLDS = ("shapes",)   # training data a model can be trained on alone (engine.shapes)


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str                    # numpy dtype name: "float32", "int64", "bool"
    shape: tuple[int | str, ...]  # ints are fixed sizes; "N"/"B" are dynamic batch axes, "L" a text length

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TensorSpec":
        return cls(name=str(data["name"]), dtype=str(data["dtype"]), shape=tuple(data["shape"]))


@dataclass(frozen=True)
class GraphSpec:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "GraphSpec":
        return cls(inputs=tuple(TensorSpec.from_json(t) for t in data["inputs"]),
                   outputs=tuple(TensorSpec.from_json(t) for t in data["outputs"]))

    def input(self, name: str) -> TensorSpec:
        return next(t for t in self.inputs if t.name == name)


@dataclass(frozen=True)
class BundleInfo:
    name: str
    version: int
    backbone: str                       # open_clip model name or "custom:<config>"
    embed_dim: int                      # D
    frames_per_clip: int                # T
    clip_tokens: int                    # K
    phrase_tokens: int                  # P
    image_size: int                     # S
    context_length: int                 # L
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    precision: str                      # "fp32" or "int8"
    fingerprint: str                    # sha256 hex over the fingerprinted files
    files: dict[str, str]               # role -> file name inside the bundle
    graphs: dict[str, GraphSpec]
    config: dict[str, Any] = field(default_factory=dict)
    created_by: str = ""
    resize: str = "center_crop"         # how frames become S×S: "center_crop" (CLIP) or "squash"

    @property
    def trained_only_on(self) -> str | None:
        """The synthetic world ("shapes") a model trained from scratch saw and nothing else: a demonstration that
        finds nothing in real video. None for a pretrained backbone (open_clip weights), whatever its heads saw."""
        if not self.backbone.startswith("custom:"):
            return None
        training = self.config.get("training")
        run = training.get("config") if isinstance(training, dict) else None
        data = run.get("data") if isinstance(run, dict) else None
        kind = data.get("kind") if isinstance(data, dict) else None
        return kind if kind in SYNTHETIC_WORLDS else None

    @property
    def has_caption_bank(self) -> bool:
        return "caption_bank" in self.files

    @property
    def variable_text_length(self) -> bool:
        """The text encoder (and the reranker) take token ids cut to the longest text of a batch."""
        return _text_length_axis(self.graphs.get("text_encoder"), "token_ids") == TEXT_LENGTH_AXIS

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data = {"format": BUNDLE_FORMAT, **data}
        data["mean"], data["std"] = list(self.mean), list(self.std)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "BundleInfo":
        return cls(
            name=str(data["name"]), version=int(data["version"]), backbone=str(data["backbone"]),
            embed_dim=int(data["embed_dim"]), frames_per_clip=int(data["frames_per_clip"]),
            clip_tokens=int(data["clip_tokens"]), phrase_tokens=int(data["phrase_tokens"]),
            image_size=int(data["image_size"]), context_length=int(data["context_length"]),
            mean=tuple(float(v) for v in data["mean"]), std=tuple(float(v) for v in data["std"]),  # type: ignore
            precision=str(data["precision"]), fingerprint=str(data["fingerprint"]),
            files={str(k): str(v) for k, v in data["files"].items()},
            graphs={str(k): GraphSpec.from_json(v) for k, v in data["graphs"].items()},
            config=dict(data.get("config", {})), created_by=str(data.get("created_by", "")),
            resize=str(data.get("resize", "center_crop")))


def is_bundle_name(name: str) -> bool:
    """A bundle name doubles as its folder name under the models folder."""
    return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*", name)) and ".." not in name


def fingerprinted_roles(files: dict[str, str]) -> list[str]:
    return [role for role in (*GRAPHS, "tokenizer", *CAPTION_FILES) if role in files]


def compute_fingerprint(bundle_dir: Path, files: dict[str, str], remembered: bool = False) -> str:
    """sha256 over (role, sha256 of file) for the graphs, tokenizer and caption bank, in a fixed order.
    ``remembered``: the digests of files unchanged since they were last hashed are not computed again
    (file_digests)."""
    roles = fingerprinted_roles(files)
    digests = sha256_files([Path(bundle_dir) / files[role] for role in roles], remembered=remembered)
    total = hashlib.sha256()
    for role, digest in zip(roles, digests):
        total.update(f"{role}\0{digest}\n".encode())
    return total.hexdigest()


def read_bundle_json(bundle_dir: Path) -> dict[str, Any]:
    path = Path(bundle_dir) / BUNDLE_JSON
    if not Path(bundle_dir).is_dir():
        raise BundleError(f"{bundle_dir}: no such model bundle folder; list bundles with `clipseek model list`")
    if not path.is_file():
        raise BundleError(f"{path} is missing, so {bundle_dir} is not a complete bundle; {RE_EXPORT}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{path}: unreadable json ({exc}); {RE_EXPORT}") from exc
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{path}: not a ClipSeek bundle description (format is not {BUNDLE_FORMAT!r}); {RE_EXPORT}")
    version = data.get("version")
    if version != BUNDLE_VERSION:
        raise BundleError(f"{path}: bundle version {version!r} is unknown to this ClipSeek (it reads version "
                          f"{BUNDLE_VERSION}); export the bundle with this version of ClipSeek")
    return data


def open_bundle(bundle_dir: Path) -> BundleInfo:
    """Read and check bundle.json and that every file it names is there (no hashing)."""
    info = _read_info(Path(bundle_dir))
    problems = _structure_problems(Path(bundle_dir), info)
    if problems:
        raise BundleError(f"{bundle_dir}: " + "; ".join(problems) + f"; {RE_EXPORT}")
    return info


def verify(bundle_dir: Path, remembered: bool = False) -> list[str]:
    """Everything wrong with a bundle (empty list: it is good). Hashes every file; with ``remembered`` only those
    changed since they were last hashed (what loading a model does; `clipseek model verify` reads every byte)."""
    bundle_dir = Path(bundle_dir)
    try:
        info = _read_info(bundle_dir)
    except BundleError as exc:
        return [str(exc)]
    problems = [f"{bundle_dir}: {p}" for p in _structure_problems(bundle_dir, info)]
    if problems:
        return problems
    actual = compute_fingerprint(bundle_dir, info.files, remembered)
    if actual != info.fingerprint:
        return [f"{bundle_dir}: fingerprint {actual[:12]} != bundle.json {info.fingerprint[:12]}: a file was "
                f"changed or damaged after export; {RE_EXPORT}"]
    return []


def check_bundle(bundle_dir: Path) -> BundleInfo:
    """open_bundle plus the fingerprint check; raises BundleError listing the problems."""
    problems = verify(bundle_dir)
    if problems:
        raise BundleError("; ".join(problems))
    return open_bundle(bundle_dir)


def write_bundle_json(bundle_dir: Path, info: BundleInfo) -> Path:
    from engine.util.atomic import atomic_write_text

    path = Path(bundle_dir) / BUNDLE_JSON
    atomic_write_text(path, json.dumps(info.to_json(), indent=2))
    return path


def _read_info(bundle_dir: Path) -> BundleInfo:
    data = read_bundle_json(bundle_dir)
    try:
        return BundleInfo.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"{bundle_dir / BUNDLE_JSON}: missing or malformed field "
                          f"({type(exc).__name__}: {exc}); {RE_EXPORT}") from exc


def _structure_problems(bundle_dir: Path, info: BundleInfo) -> list[str]:
    problems = []
    if info.precision not in PRECISIONS:
        problems.append(f"precision {info.precision!r} is not one of {', '.join(PRECISIONS)}")
    for role in (*GRAPHS, "tokenizer"):
        if role not in info.files:
            problems.append(f"bundle.json names no {role} file")
    if ("caption_bank" in info.files) != ("captions" in info.files):
        problems.append("a caption bank needs both caption_bank and captions files")
    for role, name in info.files.items():
        file = bundle_dir / name
        if Path(name).name != name:
            problems.append(f"file name {name!r} of {role} must be a plain name inside the bundle")
        elif not file.is_file():
            problems.append(f"{file} ({role}) is missing")
    for graph, (inputs, outputs) in GRAPH_IO.items():
        spec = info.graphs.get(graph)
        if spec is None:
            problems.append(f"bundle.json describes no {graph} graph")
            continue
        got = (tuple(t.name for t in spec.inputs), tuple(t.name for t in spec.outputs))
        if got != (inputs, outputs):
            problems.append(f"{graph} has inputs {got[0]} and outputs {got[1]}, expected {inputs} and {outputs}")
    if info.variable_text_length and _text_length_axis(info.graphs.get("reranker"), "word_tokens") != TEXT_LENGTH_AXIS:
        problems.append("the text encoder takes texts of any length but the reranker a fixed number of word tokens")
    return problems + _value_problems(info)


def _value_problems(info: BundleInfo) -> list[str]:
    """Values that would fail file by file at indexing, or make vectors of NaN: bundle.json's own fields are
    not fingerprinted, so they are checked here, and against the sizes its graph descriptions state."""
    problems = []
    for name, least in SIZES.items():
        value = getattr(info, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            problems.append(f"{name} must be a whole number of at least {least}, not {value!r}")
            continue
        for graph, tensor, axis in SIZE_AXES[name]:
            stated = _axis(info.graphs.get(graph), tensor, axis)
            if isinstance(stated, int) and stated != value:
                problems.append(f"{name} is {value} but the {graph}'s {tensor} has {stated}")
                break
    for name, positive in (("mean", False), ("std", True)):
        values = getattr(info, name)
        if (len(values) != 3 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)
                or (positive and min(values) <= 0)):
            kind = "positive numbers" if positive else "numbers"
            problems.append(f"{name} must be three {kind} (red, green, blue), not {list(values)!r}")
    if info.resize not in RESIZES:
        problems.append(f"resize {info.resize!r} is not one of {', '.join(RESIZES)}")
    return problems


def _axis(spec: GraphSpec | None, tensor: str, axis: int) -> int | str | None:
    if spec is None:
        return None
    for t in (*spec.inputs, *spec.outputs):
        if t.name == tensor and len(t.shape) > axis:
            return t.shape[axis]
    return None


def _text_length_axis(spec: GraphSpec | None, tensor: str) -> int | str | None:
    try:
        return spec.input(tensor).shape[1] if spec is not None else None
    except (StopIteration, IndexError):
        return None
