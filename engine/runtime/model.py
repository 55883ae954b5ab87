"""A loaded bundle: one encoder per graph, each owning its pre- and post-processing.

    model = load_model(bundle_dir, device="auto")
    model.encode_frames(frames_rgb_uint8)            # [N,D]
    model.encode_clips(frame_features, frame_mask)   # ClipEmbedding
    model.encode_text(["a dog on a beach"])          # TextEmbedding
    model.rerank(query, clip_tokens, frame_tokens, frame_mask)  # [N]
"""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from engine.errors import BundleError
from engine.runtime.bundle import GRAPHS, BundleInfo, open_bundle, verify
from engine.runtime.sessions import GraphRunner, OrtRunner
from engine.runtime.tokenizer import Tokenizer

FRAME_BATCH = 32
CLIP_BATCH = 256
TEXT_BATCH = 64
RERANK_BATCH = 512


@dataclass(frozen=True)
class ClipEmbedding:
    vector: np.ndarray        # [B,D] L2-normalised: the ANN vector
    clip_tokens: np.ndarray   # [B,K,D]
    frame_tokens: np.ndarray  # [B,T,D]


@dataclass(frozen=True)
class TextEmbedding:
    vector: np.ndarray         # [N,D] L2-normalised stage-1 query
    word_tokens: np.ndarray    # [N,L,D]
    phrase_tokens: np.ndarray  # [N,P,D]
    word_mask: np.ndarray      # [N,L] 1 = a real token, 0 = padding

    def __len__(self) -> int:
        return int(self.vector.shape[0])

    def row(self, i: int) -> "TextEmbedding":
        return TextEmbedding(self.vector[i:i + 1], self.word_tokens[i:i + 1], self.phrase_tokens[i:i + 1],
                             self.word_mask[i:i + 1])


RESIZE_MODES = ("center_crop", "squash")


def preprocess_frames(frames: np.ndarray | Sequence[np.ndarray], size: int,
                      mean: Sequence[float], std: Sequence[float], resize: str = "center_crop") -> np.ndarray:
    """RGB uint8 frames [N,H,W,3] (or a list of differently sized ones) -> float32 [N,3,S,S].

    ``resize`` "center_crop": shortest side to S (bicubic), centre crop S×S — open_clip's eval transform,
    what pretrained CLIP expects. "squash": the whole frame to S×S, so nothing at the sides is lost (the
    built-in shapes model is trained this way). Then /255, (x-mean)/std.
    """
    out = np.empty((len(frames), 3, size, size), dtype=np.float32)
    m = np.asarray(mean, dtype=np.float32).reshape(1, 1, 3)
    s = np.asarray(std, dtype=np.float32).reshape(1, 1, 3)
    for i, frame in enumerate(frames):
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frame {i}: expected an RGB uint8 array [H,W,3], got {frame.dtype} {frame.shape}")
        crop = fit_frame(frame, size, resize)
        out[i] = ((crop.astype(np.float32) / 255.0 - m) / s).transpose(2, 0, 1)
    return out


def fit_frame(frame: np.ndarray, size: int, resize: str = "center_crop") -> np.ndarray:
    """One RGB uint8 frame to [S,S,3] uint8 by ``resize`` (see preprocess_frames)."""
    if resize == "squash":
        if frame.shape[:2] == (size, size):
            return frame
        return cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA)
    if resize != "center_crop":
        raise ValueError(f"unknown resize mode {resize!r}; choose one of {', '.join(RESIZE_MODES)}")
    return _resize_center_crop(frame, size)


def _resize_center_crop(frame: np.ndarray, size: int) -> np.ndarray:
    h, w = frame.shape[:2]
    if (h, w) != (size, size):
        # torchvision's Resize(int): the short side becomes `size`, the long one int(size * long / short)
        if h <= w:
            new_h, new_w = size, max(size, int(size * w / h))
        else:
            new_h, new_w = max(size, int(size * h / w)), size
        frame = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_CUBIC)
        h, w = new_h, new_w
    top = int(round((h - size) / 2.0))
    left = int(round((w - size) / 2.0))
    return frame[top:top + size, left:left + size]


class _Graph:
    """A runner plus input casting to the dtypes the graph declares."""

    def __init__(self, runner: GraphRunner):
        self.runner = runner
        self.dtypes = runner.inputs()

    def __call__(self, **feeds: np.ndarray) -> dict[str, np.ndarray]:
        return self.runner.run({k: np.ascontiguousarray(v, dtype=self.dtypes[k]) for k, v in feeds.items()})


class FrameEncoder:
    def __init__(self, runner: GraphRunner, info: BundleInfo):
        self.graph = _Graph(runner)
        self.info = info

    def preprocess(self, frames: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        return preprocess_frames(frames, self.info.image_size, self.info.mean, self.info.std, self.info.resize)

    def __call__(self, frames: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        parts = [self.graph(pixels=self.preprocess(frames[i:i + FRAME_BATCH]))["frame_features"]
                 for i in range(0, len(frames), FRAME_BATCH)]
        return np.concatenate(parts) if parts else np.zeros((0, self.info.embed_dim), np.float32)


class ClipEncoder:
    def __init__(self, runner: GraphRunner, info: BundleInfo):
        self.graph = _Graph(runner)
        self.info = info

    def __call__(self, frame_features: np.ndarray, frame_mask: np.ndarray) -> ClipEmbedding:
        t, d = self.info.frames_per_clip, self.info.embed_dim
        if frame_features.ndim != 3 or frame_features.shape[1:] != (t, d) or frame_mask.shape != frame_features.shape[:2]:
            raise ValueError(f"encode_clips expects frame_features [B,{t},{d}] and frame_mask [B,{t}], "
                             f"got {frame_features.shape} and {frame_mask.shape}")
        parts = [self.graph(frame_features=frame_features[i:i + CLIP_BATCH], frame_mask=frame_mask[i:i + CLIP_BATCH])
                 for i in range(0, len(frame_features), CLIP_BATCH)]
        if not parts:
            k = self.info.clip_tokens
            return ClipEmbedding(np.zeros((0, d), np.float32), np.zeros((0, k, d), np.float32),
                                 np.zeros((0, t, d), np.float32))
        return ClipEmbedding(*(np.concatenate([p[name] for p in parts])
                               for name in ("clip_vector", "clip_tokens", "frame_tokens")))


class TextEncoder:
    """Texts -> TextEmbedding. A bundle with a variable text length gets token ids only as long as the
    longest text of the batch (a 6-word query runs 8 positions of ViT-B-32's 77); its word tokens and
    mask are then that long too."""

    def __init__(self, runner: GraphRunner, tokenizer: Tokenizer, variable_length: bool = False):
        self.graph = _Graph(runner)
        self.tokenizer = tokenizer
        self.variable_length = variable_length

    def __call__(self, texts: Sequence[str]) -> TextEmbedding:
        if isinstance(texts, str):
            texts = [texts]
        if not texts:
            raise ValueError("encode_text needs at least one text")
        parts = [self.graph(token_ids=self.tokenizer.encode(list(texts[i:i + TEXT_BATCH]),
                                                            pad_to_longest=self.variable_length))
                 for i in range(0, len(texts), TEXT_BATCH)]
        width = max(p["word_tokens"].shape[1] for p in parts)
        return TextEmbedding(
            vector=np.concatenate([p["text_vector"] for p in parts]),
            word_tokens=np.concatenate([_pad_axis1(p["word_tokens"], width) for p in parts]),
            phrase_tokens=np.concatenate([p["phrase_tokens"] for p in parts]),
            word_mask=np.concatenate([_pad_axis1(p["word_mask"], width) for p in parts]))


def _pad_axis1(x: np.ndarray, width: int) -> np.ndarray:
    """Zero-pad word tokens or mask to ``width`` positions (batches of different lengths joined)."""
    if x.shape[1] == width:
        return x
    pad = [(0, 0)] * x.ndim
    pad[1] = (0, width - x.shape[1])
    return np.pad(x, pad)


class Reranker:
    def __init__(self, runner: GraphRunner, info: BundleInfo):
        self.graph = _Graph(runner)
        self.info = info

    def __call__(self, query: TextEmbedding, clip_tokens: np.ndarray, frame_tokens: np.ndarray,
                 frame_mask: np.ndarray) -> np.ndarray:
        if len(query) != 1:
            raise ValueError(f"rerank scores one query at a time (use query.row(i)); got {len(query)} rows")
        n = len(clip_tokens)
        if not (len(frame_tokens) == len(frame_mask) == n):
            raise ValueError(f"rerank: clip_tokens, frame_tokens and frame_mask disagree on N "
                             f"({n}, {len(frame_tokens)}, {len(frame_mask)})")
        scores = [self.graph(text_vector=query.vector, word_tokens=query.word_tokens,
                             phrase_tokens=query.phrase_tokens, word_mask=query.word_mask,
                             clip_tokens=clip_tokens[i:i + RERANK_BATCH], frame_tokens=frame_tokens[i:i + RERANK_BATCH],
                             frame_mask=frame_mask[i:i + RERANK_BATCH])["scores"]
                  for i in range(0, n, RERANK_BATCH)]
        return np.concatenate(scores).astype(np.float32) if scores else np.zeros((0,), np.float32)


class _LoadOnUse:
    """A graph opened the first time it is used (a searching Library's frame encoder: only a search
    by image needs it, and leaving it out makes a library ready to search sooner)."""

    def __init__(self, load: Callable[[], Callable]):
        self._load = load
        self._encoder: Callable | None = None
        self._lock = threading.Lock()

    def __call__(self, *args, **kwargs):
        with self._lock:
            if self._encoder is None:
                self._encoder = self._load()
        return self._encoder(*args, **kwargs)


class _NotLoaded:
    """Stands for a graph that load_model was asked to leave out."""

    def __init__(self, bundle_dir: Path, graph: str):
        self.bundle_dir = bundle_dir
        self.graph = graph

    def __call__(self, *args, **kwargs):
        raise BundleError(f"{self.bundle_dir}: the {self.graph} graph was not loaded (load_model(..., graphs=...) "
                          f"left it out); load the model with it to use it")


class Model:
    """A bundle ready to run; see docs/architecture.md "Runtime model API"."""

    def __init__(self, bundle_dir: Path, info: BundleInfo, runners: dict[str, GraphRunner], tokenizer: Tokenizer | None,
                 open_later: Callable[[str], GraphRunner] | None = None):
        self.bundle_dir = Path(bundle_dir)
        self.info = info
        self._runners = runners

        def make(graph: str, build):
            if graph in runners:
                return build(runners[graph])
            if open_later is not None:
                return _LoadOnUse(lambda: build(self._runners.setdefault(graph, open_later(graph))))
            return _NotLoaded(self.bundle_dir, graph)

        self.frame_encoder = make("frame_encoder", lambda r: FrameEncoder(r, info))
        self.clip_encoder = make("clip_encoder", lambda r: ClipEncoder(r, info))
        self.text_encoder = make("text_encoder", lambda r: TextEncoder(r, tokenizer, info.variable_text_length))
        self.reranker = make("reranker", lambda r: Reranker(r, info))
        self.tokenizer = tokenizer

    @property
    def providers(self) -> list[str]:
        """Providers onnxruntime really uses (the frame encoder's, the heaviest graph, when loaded)."""
        runner = self._runners.get("frame_encoder") or next(iter(self._runners.values()))
        return runner.providers

    def preprocess(self, frames: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        return preprocess_frames(frames, self.info.image_size, self.info.mean, self.info.std, self.info.resize)

    def encode_frames(self, frames: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        return self.frame_encoder(frames)

    def encode_clips(self, frame_features: np.ndarray, frame_mask: np.ndarray) -> ClipEmbedding:
        return self.clip_encoder(frame_features, frame_mask)

    def encode_text(self, texts: Sequence[str]) -> TextEmbedding:
        return self.text_encoder(texts)

    def rerank(self, query: TextEmbedding, clip_tokens: np.ndarray, frame_tokens: np.ndarray,
               frame_mask: np.ndarray) -> np.ndarray:
        return self.reranker(query, clip_tokens, frame_tokens, frame_mask)

    def caption_bank(self) -> tuple[np.ndarray, list[str]] | None:
        """The VTC caption bank (embeddings [M,D], captions), or None when the bundle has none."""
        if not self.info.has_caption_bank:
            return None
        embeddings = np.load(self.bundle_dir / self.info.files["caption_bank"], allow_pickle=False)
        captions = json.loads((self.bundle_dir / self.info.files["captions"]).read_text(encoding="utf-8"))
        return embeddings.astype(np.float32), [str(c) for c in captions]


RunnerFactory = Callable[[Path, str], GraphRunner]


def load_model(bundle_dir: Path | str, device: str = "auto", verify_fingerprint: bool = True,
               intra_threads: int = 0, runner_factory: RunnerFactory | None = None,
               graphs: Sequence[str] = GRAPHS, others_on_use: bool = False) -> Model:
    """Open a bundle completely or not at all: BundleError on any problem.

    ``verify_fingerprint`` checks the fingerprint, hashing the files changed since they were last hashed
    (file_digests; a fifth of a second for ViT-B-32 int8 when all are, while the sessions build);
    ``runner_factory(path, device)`` replaces onnxruntime in tests. ``graphs`` loads only
    those (indexing workers never need the text encoder, a second of start-up each); the
    others raise BundleError when used, or with ``others_on_use`` are opened when first used.
    """
    bundle_dir = Path(bundle_dir)
    unknown = [g for g in graphs if g not in GRAPHS]
    if unknown or not graphs:
        raise ValueError(f"graphs must be some of {', '.join(GRAPHS)}, not {list(graphs)}")
    info = open_bundle(bundle_dir)
    int8 = info.precision == "int8"
    make = runner_factory or (lambda path, dev: OrtRunner(path, dev, intra_threads=intra_threads, int8=int8))
    wanted = [graph for graph in GRAPHS if graph in graphs]
    # The sessions build on a thread (onnxruntime builds them without the GIL) while this one hashes the
    # files and reads the tokenizer: ViT-B-32's text graphs are ready about 0.25 s sooner. A damaged file is
    # reported as the fingerprint mismatch it is, whatever onnxruntime made of it.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="clipseek-load") as loader:
        building = loader.submit(_open_sessions, bundle_dir, info, wanted, make, device)
        problems = verify(bundle_dir, remembered=True) if verify_fingerprint else []
        # Only text needs the tokenizer (a tenth of a second): indexing workers never read it.
        needs_tokenizer = "text_encoder" in wanted or others_on_use
        tokenizer = None if problems or not needs_tokenizer else Tokenizer(bundle_dir / info.files["tokenizer"],
                                                                           info.context_length)
        try:
            runners = building.result()
        except Exception:
            if problems:
                raise BundleError("; ".join(problems)) from None
            raise
    if problems:
        raise BundleError("; ".join(problems))
    for graph, runner in runners.items():
        _check_io(bundle_dir, info, graph, runner)

    def open_later(graph: str) -> GraphRunner:
        return _check_io(bundle_dir, info, graph, make(bundle_dir / info.files[graph], device))

    return Model(bundle_dir, info, runners, tokenizer, open_later if others_on_use else None)


def _open_sessions(bundle_dir: Path, info: BundleInfo, wanted: Sequence[str], make: RunnerFactory,
                   device: str) -> dict[str, GraphRunner]:
    """The smallest graph first, alone: it settles whether the GPU works (and says so once). The others
    in parallel: onnxruntime builds sessions without the GIL, ViT-B-32's in 0.5 s instead of 1.2 s."""
    wanted = sorted(wanted, key=lambda graph: (bundle_dir / info.files[graph]).stat().st_size)
    runners = {wanted[0]: make(bundle_dir / info.files[wanted[0]], device)}
    if len(wanted) > 1:
        with ThreadPoolExecutor(max_workers=len(wanted) - 1, thread_name_prefix="clipseek-load") as pool:
            pending = {graph: pool.submit(make, bundle_dir / info.files[graph], device) for graph in wanted[1:]}
        runners.update({graph: future.result() for graph, future in pending.items()})
    return {graph: runners[graph] for graph in GRAPHS if graph in runners}


def _check_io(bundle_dir: Path, info: BundleInfo, graph: str, runner: GraphRunner) -> GraphRunner:
    spec = info.graphs[graph]
    got = (tuple(runner.inputs()), tuple(runner.outputs()))
    want = (tuple(t.name for t in spec.inputs), tuple(t.name for t in spec.outputs))
    if (sorted(got[0]), sorted(got[1])) != (sorted(want[0]), sorted(want[1])):
        raise BundleError(f"{bundle_dir / info.files[graph]}: graph inputs/outputs {got} differ from "
                          f"bundle.json {want}; re-export the bundle")
    return runner
