"""Training and evaluation data: annotation files, frame sampling with a pixel cache, and batches.

An annotation file is JSON in the MSR-VTT style. Either a list of entries (or ``{"videos": [...]}``):

    [{"video": "clips/a.mp4", "captions": ["a dog runs", "a brown dog"]},       # whole video, many captions
     {"video": "long.mp4", "caption": "a cat jumps", "start": 3.0, "end": 7.5},  # one moment of a video
     {"video": "long.mp4", "moments": [{"start": 0, "end": 4, "caption": "..."}]},
     {"frames": "frames/b.npy", "captions": ["..."]},                            # pre-extracted uint8 [n,H,W,3]
     {"frames": "frames/c/", "captions": ["..."], "split": "test"}]              # a folder of images, name order

or the MSR-VTT release layout ``{"videos": [{"video_id": "video0", "split": "train"}], "sentences":
[{"video_id": "video0", "caption": "..."}]}`` with the files at ``<video_root>/<video_id>.mp4`` (``video_root``
is a top-level key, default: the annotation file's folder). Relative paths are read from the file's folder.

Every clip becomes T frames of S x S RGB pixels: frames are sampled with ``engine.media.sample_frames`` at
``fps`` (the same sampler indexing uses), T of them picked uniformly (CLIP4Clip's ``np.linspace``), each
resized and centre-cropped to S. A clip with fewer than T frames is padded and masked. The pixels of each
clip are cached as uint8 ``.npy`` keyed by file identity and sampling settings, so a second epoch or a
second run never decodes again.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from engine.errors import ClipSeekError
from engine.runtime.model import fit_frame
from engine.util.atomic import atomic_write_bytes

CACHE_VERSION = 1
DECODE_MIN_SHORT_SIDE = 224            # what the indexer decodes at (it also cuts thumbnails from these frames)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class DataError(ClipSeekError):
    """Training or evaluation data is missing or malformed."""


@dataclass(frozen=True)
class ClipRecord:
    """One annotated clip: a video file (or pre-extracted frames), an optional time range, its captions."""
    name: str
    captions: tuple[str, ...]
    video: Path | None = None          # sampled with engine.media
    frames: Path | None = None         # .npy [n,H,W,3] uint8, or a folder of images
    start: float | None = None         # seconds; None = from the beginning
    end: float | None = None           # seconds; None = to the end
    split: str | None = None


@dataclass
class ClipSet:
    """Clips ready for the model: fixed T frames of S x S pixels each, with captions."""
    pixels: np.ndarray                 # [N, T, S, S, 3] uint8 RGB
    frame_mask: np.ndarray             # [N, T] bool; False marks padding
    captions: list[list[str]]          # per clip, at least one
    names: list[str] = field(default_factory=list)
    # [N] bool, where the data knows: played backwards, the clip no longer fits its caption ("moving left",
    # "A, then B"); None where it does not know (annotation files), which is taken as False for every clip
    order_matters: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not self.names:
            self.names = [f"clip{i}" for i in range(len(self.captions))]
        n = len(self.captions)
        if self.pixels.shape[0] != n or self.frame_mask.shape[0] != n or len(self.names) != n:
            raise DataError(f"clip set parts disagree: {self.pixels.shape[0]} pixel clips, "
                            f"{self.frame_mask.shape[0]} masks, {n} caption lists, {len(self.names)} names")
        if self.order_matters is not None and self.order_matters.shape != (n,):
            raise DataError(f"clip set parts disagree: order_matters has shape {self.order_matters.shape}, "
                            f"expected ({n},)")
        empty = [self.names[i] for i, c in enumerate(self.captions) if not c]
        if empty:
            raise DataError(f"clips without a caption: {', '.join(empty[:5])}; every clip needs at least one")

    def __len__(self) -> int:
        return len(self.captions)

    @property
    def frames_per_clip(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.pixels.shape[2])

    def caption_table(self) -> tuple[list[str], np.ndarray]:
        """Every caption once per clip it belongs to, and the clip index of each: the evaluation layout."""
        texts = [c for caps in self.captions for c in caps]
        owner = np.asarray([i for i, caps in enumerate(self.captions) for _ in caps], dtype=np.int64)
        return texts, owner

    def subset(self, indices: Iterable[int]) -> ClipSet:
        idx = np.asarray(list(indices), dtype=np.int64)
        return ClipSet(self.pixels[idx], self.frame_mask[idx], [self.captions[i] for i in idx],
                       [self.names[i] for i in idx],
                       None if self.order_matters is None else self.order_matters[idx])

    @staticmethod
    def concat(parts: list[ClipSet]) -> ClipSet:
        order = None
        if any(p.order_matters is not None for p in parts):
            order = np.concatenate([p.order_matters if p.order_matters is not None else np.zeros(len(p), bool)
                                    for p in parts])
        return ClipSet(np.concatenate([p.pixels for p in parts]), np.concatenate([p.frame_mask for p in parts]),
                       [c for p in parts for c in p.captions], [n for p in parts for n in p.names], order)


# ---------------------------------------------------------------- annotation files

def load_annotations(path: Path, split: str | None = None) -> list[ClipRecord]:
    """Read an annotation file (module docstring); keep only entries of ``split`` when given."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"{path}: annotation file not found") from exc
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not readable as JSON ({exc})") from exc
    root = path.parent
    if isinstance(data, dict) and "sentences" in data:
        records = _msrvtt_records(data, root, path)
    else:
        entries = data.get("videos") if isinstance(data, dict) else data
        if not isinstance(entries, list):
            raise DataError(f"{path}: expected a list of videos or {{\"videos\": [...]}}, got {type(data).__name__}")
        records = [r for i, entry in enumerate(entries) for r in _entry_records(entry, i, root, path)]
    if split is not None:
        records = [r for r in records if r.split == split]
    if not records:
        raise DataError(f"{path}: no clips{f' in split {split!r}' if split else ''}; check the file's entries")
    return records


def _entry_records(entry: dict, index: int, root: Path, source: Path) -> list[ClipRecord]:
    if not isinstance(entry, dict):
        raise DataError(f"{source}: entry {index} is {type(entry).__name__}, expected an object")
    video = _resolve(root, entry.get("video") or entry.get("path"))
    frames = _resolve(root, entry.get("frames"))
    if (video is None) == (frames is None):
        raise DataError(f"{source}: entry {index} needs exactly one of \"video\" (or \"path\") and \"frames\"")
    name = str(entry.get("id") or entry.get("name") or (video or frames).stem)
    split = entry.get("split")
    records = []
    captions = _captions(entry)
    if captions:
        records.append(ClipRecord(name, captions, video, frames, _seconds(entry.get("start")),
                                  _seconds(entry.get("end")), split))
    for m, moment in enumerate(entry.get("moments") or []):
        moment_captions = _captions(moment)
        if not moment_captions:
            raise DataError(f"{source}: entry {index} moment {m} has no caption")
        records.append(ClipRecord(f"{name}#{m}", moment_captions, video, frames, _seconds(moment.get("start")),
                                  _seconds(moment.get("end")), moment.get("split", split)))
    if not records:
        raise DataError(f"{source}: entry {index} ({name}) has neither captions nor moments")
    return records


def _msrvtt_records(data: dict, root: Path, source: Path) -> list[ClipRecord]:
    video_root = _resolve(root, data.get("video_root")) or root
    by_video: dict[str, list[str]] = {}
    for sentence in data["sentences"]:
        by_video.setdefault(str(sentence["video_id"]), []).append(str(sentence["caption"]))
    records = []
    for video in data.get("videos") or [{"video_id": v} for v in by_video]:
        vid = str(video["video_id"])
        if vid not in by_video:
            raise DataError(f"{source}: video {vid} has no sentence")
        records.append(ClipRecord(vid, tuple(by_video[vid]), video=video_root / f"{vid}.mp4",
                                  start=_seconds(video.get("start time")), end=_seconds(video.get("end time")),
                                  split=video.get("split")))
    return records


def _resolve(root: Path, value: str | None) -> Path | None:
    if not value:
        return None
    p = Path(value).expanduser()
    return p if p.is_absolute() else root / p


def _captions(entry: dict) -> tuple[str, ...]:
    raw = entry.get("captions")
    if raw is None:
        raw = [entry["caption"]] if entry.get("caption") else []
    if isinstance(raw, str):
        raw = [raw]
    return tuple(str(c).strip() for c in raw if str(c).strip())


def _seconds(value: object) -> float | None:
    return None if value is None else float(value)


# ---------------------------------------------------------------- frames -> clip pixels

def pick_uniform(n_available: int, frames_per_clip: int) -> np.ndarray:
    """Indices of T frames spread evenly over ``n_available`` (all of them, in order, when fewer)."""
    if n_available <= frames_per_clip:
        return np.arange(n_available)
    return np.linspace(0, n_available - 1, frames_per_clip).round().astype(np.int64)


def square_frame(rgb: np.ndarray, size: int, resize: str = "center_crop") -> np.ndarray:
    """The runtime's preprocessing (engine/runtime/model.py ``preprocess_frames``), before normalisation."""
    return np.ascontiguousarray(fit_frame(rgb, size, resize)[..., :3])


def clip_pixels(frames: list[np.ndarray], frames_per_clip: int, size: int,
                resize: str = "center_crop") -> tuple[np.ndarray, np.ndarray]:
    """T uniformly picked frames as ([T,S,S,3] uint8, [T] bool mask); padding frames are black and masked."""
    if not frames:
        raise DataError("a clip has no frame; check its time range against the video's duration")
    chosen = [square_frame(frames[i], size, resize) for i in pick_uniform(len(frames), frames_per_clip)]
    pixels = np.zeros((frames_per_clip, size, size, 3), np.uint8)
    pixels[:len(chosen)] = np.stack(chosen)
    mask = np.zeros(frames_per_clip, bool)
    mask[:len(chosen)] = True
    return pixels, mask


@dataclass(frozen=True)
class Sampling:
    """How clips are turned into pixels; part of every cache key."""
    fps: float = 2.0                   # frames per second taken from the video (as indexing does)
    frames_per_clip: int = 12          # T
    image_size: int = 224              # S
    resize: str = "center_crop"        # how a frame becomes S×S (engine.runtime.model.fit_frame)


class PixelCache:
    """uint8 ``.npy`` per clip: the real frames only ([n<=T, S, S, 3]); the mask is implied by n."""

    def __init__(self, folder: Path | None):
        self.folder = Path(folder) if folder else None

    def key(self, record: ClipRecord, sampling: Sampling) -> str | None:
        if self.folder is None:
            return None
        source = record.video or record.frames
        try:
            st = source.stat()
        except OSError as exc:
            raise DataError(f"{source}: not found ({exc.strerror}); fix the path in the annotation file") from exc
        ident = {"v": CACHE_VERSION, "path": str(source.resolve()), "size": st.st_size, "mtime": st.st_mtime_ns,
                 "start": record.start, "end": record.end, "fps": sampling.fps,
                 "T": sampling.frames_per_clip, "S": sampling.image_size}
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]

    def get(self, key: str | None) -> np.ndarray | None:
        if key is None:
            return None
        path = self.folder / f"{key}.npy"
        if not path.exists():
            return None
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            path.unlink(missing_ok=True)   # a torn cache entry is rebuilt, never trusted
            return None

    def put(self, key: str | None, frames: np.ndarray) -> None:
        if key is None:
            return
        buffer = io.BytesIO()
        np.save(buffer, frames, allow_pickle=False)
        atomic_write_bytes(self.folder / f"{key}.npy", buffer.getvalue())


def load_clips(records: list[ClipRecord], sampling: Sampling, cache_dir: Path | None = None,
               progress=None) -> ClipSet:
    """Pixels of every record, from the cache or by sampling; a video with many moments is decoded once."""
    cache = PixelCache(cache_dir)
    T, S = sampling.frames_per_clip, sampling.image_size
    pixels = np.zeros((len(records), T, S, S, 3), np.uint8)
    mask = np.zeros((len(records), T), bool)
    keys = [cache.key(r, sampling) for r in records]
    missing: dict[Path, list[int]] = {}
    for i, (record, key) in enumerate(zip(records, keys)):
        cached = cache.get(key)
        if cached is not None and cached.shape[1:] == (S, S, 3) and 0 < len(cached) <= T:
            pixels[i, :len(cached)] = cached
            mask[i, :len(cached)] = True
        else:
            missing.setdefault(record.video or record.frames, []).append(i)
    for done, (source, indices) in enumerate(missing.items()):
        timed = _read_source(records[indices[0]], sampling)
        for i in indices:
            record = records[i]
            inside = [rgb for t, rgb in timed
                      if (record.start is None or t >= record.start) and (record.end is None or t < record.end)]
            if not inside:
                raise DataError(f"{source}: no frame between {record.start} and {record.end} s for clip "
                                f"{record.name}; check its time range")
            clip, clip_mask = clip_pixels(inside, T, S, sampling.resize)
            pixels[i], mask[i] = clip, clip_mask
            cache.put(keys[i], clip[clip_mask])
        if progress is not None:
            progress(done + 1, len(missing))
    return ClipSet(pixels, mask, [list(r.captions) for r in records], [r.name for r in records])


def _read_source(record: ClipRecord, sampling: Sampling) -> list[tuple[float, np.ndarray]]:
    """(time, rgb) pairs of a whole source: sampled video frames, or pre-extracted frames at ``fps``."""
    if record.video is not None:
        from engine.media import sample_frames  # the indexer's sampler: training sees what indexing sees

        if not record.video.exists():
            raise DataError(f"{record.video}: video not found; fix the path in the annotation file")
        # The same decode size as the indexer (engine/indexer/embed_file.py): max(S, 224) on the short side.
        short_side = max(sampling.image_size, DECODE_MIN_SHORT_SIDE)
        return [(f.time, f.rgb) for f in sample_frames(record.video, sampling.fps, short_side)]
    frames = _read_frames(record.frames)
    return [(i / sampling.fps, rgb) for i, rgb in enumerate(frames)]


def _read_frames(path: Path) -> list[np.ndarray]:
    if not path.exists():
        raise DataError(f"{path}: frames not found; fix the path in the annotation file")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        frames = []
        for f in files:
            bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if bgr is None:
                raise DataError(f"{f}: not a readable image")
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        return frames
    array = np.load(path, allow_pickle=False)
    if array.ndim != 4 or array.shape[-1] != 3 or array.dtype != np.uint8:
        raise DataError(f"{path}: frames must be uint8 [n, H, W, 3] RGB, got {array.dtype} {list(array.shape)}")
    return list(array)


# ---------------------------------------------------------------- temporal order pairs

def compose_order_pairs(single: ClipSet, n_pairs: int, rng: np.random.Generator,
                        joiner: str = ", then ") -> ClipSet:
    """Pairs of clips built from the same frames in the two orders: "A, then B" and "B, then A".

    Each of A and B gives T/2 of its frames; the second clip of a pair shows B's half, then A's half. Both
    clips hold exactly the same frames, so any order-blind model (mean pooling) scores them identically.
    Clips 2k and 2k+1 of the result are one pair. A and B never share a caption.
    """
    T = single.frames_per_clip
    half = T // 2
    if half < 1 or len(single) < 2:
        raise DataError("order pairs need at least two clips of at least two frames")
    pixels = np.zeros((2 * n_pairs,) + single.pixels.shape[1:], np.uint8)
    mask = np.zeros((2 * n_pairs, T), bool)
    captions, names = [], []
    for k in range(n_pairs):
        while True:
            a, b = rng.choice(len(single), size=2, replace=False)
            cap_a, cap_b = single.captions[a][0], single.captions[b][0]
            if cap_a != cap_b:
                break
        part_a, part_b = _half_clip(single, a, half), _half_clip(single, b, T - half)
        for j, (first, second, cap) in enumerate(((part_a, part_b, cap_a + joiner + cap_b),
                                                  (part_b, part_a, cap_b + joiner + cap_a))):
            frames = np.concatenate([first, second])
            pixels[2 * k + j, :len(frames)] = frames
            mask[2 * k + j, :len(frames)] = True
            captions.append([cap])
            names.append(f"order{k}{'ab'[j]}")
    # backwards, "A, then B" shows B first: order always matters
    return ClipSet(pixels, mask, captions, names, np.ones(2 * n_pairs, bool))


def _half_clip(clips: ClipSet, index: int, count: int) -> np.ndarray:
    real = clips.pixels[index][clips.frame_mask[index]]
    return real[pick_uniform(len(real), count)]


# ---------------------------------------------------------------- batches

def caption_neighbours(captions: list[list[str]], max_word_difference: int = 3) -> list[np.ndarray]:
    """For each clip, the clips whose (first) caption is a different sentence within a few words of it.

    Captions are compared as bags of words (case and punctuation ignored): the distance is the number of words in one and not the other,
    counted with multiplicity. Within 3 words, "a big red circle moving left" has as neighbours the same
    object moving right, growing or staying still, the small one, the blue one, the square...; "A, then B"
    has "B, then A" (distance 0, a different sentence). These are the negatives a model must tell apart by
    one attribute, which random batches of a small vocabulary rarely contain.
    """
    firsts = [caps[0] for caps in captions]
    unique = sorted(set(firsts))
    row = {c: i for i, c in enumerate(unique)}
    words = {c: re.findall(r"[\w']+", c.lower()) for c in unique}
    vocabulary = sorted({w for ws in words.values() for w in ws})
    column = {w: j for j, w in enumerate(vocabulary)}
    counts = np.zeros((len(unique), len(vocabulary)), np.int16)
    for i, caption in enumerate(unique):
        for word in words[caption]:
            counts[i, column[word]] += 1
    clips_of: list[list[int]] = [[] for _ in unique]
    for clip, caption in enumerate(firsts):
        clips_of[row[caption]].append(clip)
    near_captions: list[np.ndarray] = []
    for chunk in iterate_chunks(len(unique), 256):
        distance = np.abs(counts[chunk, None, :] - counts[None, :, :]).sum(axis=2)
        for offset, d in enumerate(distance):
            near = np.flatnonzero(d <= max_word_difference)
            near_captions.append(near[near != chunk.start + offset])
    by_caption = [np.asarray(sorted(c for j in near for c in clips_of[j]), np.int64) for near in near_captions]
    return [by_caption[row[caption]] for caption in firsts]


@dataclass(frozen=True)
class BatchPlan:
    """Which clips and which of their captions make up each step; a pure function of (seed, step).

    Epoch e visits the clips in the order of a permutation drawn from (seed, e); a batch drops clips whose
    chosen caption already appears in it, so identical captions are never each other's negatives.
    With ``neighbours`` and ``hard_groups`` > 0, the first ``hard_groups`` clips of each batch bring
    ``group_size - 1`` of their caption neighbours along (hard negatives), in place of the batch's last clips.
    """
    n_clips: int
    batch_size: int
    seed: int
    neighbours: list[np.ndarray] | None = None
    hard_groups: int = 0
    group_size: int = 4

    @property
    def steps_per_epoch(self) -> int:
        return max(1, self.n_clips // self.batch_size)

    def batch(self, step: int, captions: list[list[str]]) -> tuple[np.ndarray, list[int]]:
        """(clip indices, caption index within each clip) for global ``step``."""
        epoch, within = divmod(step, self.steps_per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(self.n_clips)
        chosen = order[within * self.batch_size:(within + 1) * self.batch_size]
        if self.neighbours is not None and self.hard_groups > 0:
            chosen = self._with_hard_groups(chosen, np.random.default_rng([self.seed, epoch, within, 2]))
        pick_rng = np.random.default_rng([self.seed, epoch, within, 1])
        seen: set[str] = set()
        clips, caption_index = [], []
        for clip in chosen:
            j = int(pick_rng.integers(len(captions[clip])))
            text = captions[clip][j]
            if text in seen:
                continue
            seen.add(text)
            clips.append(int(clip))
            caption_index.append(j)
        return np.asarray(clips, dtype=np.int64), caption_index

    def _with_hard_groups(self, chosen: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        groups = []
        for anchor in chosen[:self.hard_groups]:
            near = self.neighbours[anchor]
            take = min(self.group_size - 1, len(near))
            groups.append(np.concatenate([[anchor], rng.choice(near, size=take, replace=False)]).astype(np.int64))
        grouped = np.concatenate(groups)
        rest = chosen[self.hard_groups:]
        rest = rest[~np.isin(rest, grouped)][:max(0, len(chosen) - len(grouped))]
        return np.concatenate([grouped, rest])[:len(chosen)]


def iterate_chunks(n: int, chunk: int) -> Iterator[slice]:
    for start in range(0, n, chunk):
        yield slice(start, min(n, start + chunk))
