"""Symmetry augmentation of shapes-world batches: a batch seen in a mirror, or played backwards.

A check of one explanation for direction-of-motion misses: that the model remembers which way each training clip
moves from its looks (background, colours, start place) instead of reading the motion. A batch flipped left to
right, with "left" and "right" swapped in its captions, or played backwards with every move turned round
(``engine.shapes.language``), shows the same pictures under the other direction word, so only the motion itself
can tell the two apart. A full-length trial gave no gain (benchmarks/RESULTS.md, "Mirrored and backwards
batches"), so the shipped configs leave it off. ``tests/shapes/test_symmetry.py`` checks that the world's own
pixel checks read the flipped and reversed frames as exactly the rewritten captions.

A batch is mirrored as a whole, so its captions stay distinct (the rewrite is one-to-one). Played backwards are
only the clips whose every event keeps its size: growing and shrinking have no backwards caption, and those
clips stay forward; their captions name a size change, which no backwards caption does, so no two captions of
a batch can become equal. Every choice is drawn from (seed, step), so a resumed run sees the same batches.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.shapes.language import mirror_caption, reverse_caption

MIRRORED, REVERSED = 1, 2              # bits of a clip's variant code


@dataclass(frozen=True)
class BatchVariant:
    """How one batch is shown: ``codes`` [B] holds each clip's variant bits (0 = as rendered)."""
    mirrored: bool
    codes: np.ndarray

    @property
    def reversed(self) -> np.ndarray:
        return (self.codes & REVERSED) > 0


class SymmetryAugmenter:
    """Draws each step's variant and rewrites its captions; pixels and frame order follow in ``apply``."""

    def __init__(self, captions: list[str], mirror_probability: float, reverse_probability: float, seed: int):
        self.mirror_probability, self.reverse_probability, self.seed = mirror_probability, reverse_probability, seed
        self._mirror = {c: mirror_caption(c) for c in captions}
        mirrored = list(self._mirror.values())
        self._reverse = {c: reverse_caption(c) for c in set(captions) | set(mirrored)}

    def variants(self) -> list[str]:
        """Every caption a batch can be rewritten to that is not already a training caption."""
        texts = set(self._mirror.values()) | {r for r in self._reverse.values() if r is not None}
        return sorted(texts - set(self._mirror))

    def draw(self, step: int, captions: list[str]) -> tuple[BatchVariant, list[str]]:
        """The variant of batch ``step`` and its captions as the clips will show them."""
        rng = np.random.default_rng([self.seed, step, 3])
        mirrored = bool(rng.random() < self.mirror_probability)
        backwards = bool(rng.random() < self.reverse_probability)
        texts = [self._mirror[c] if mirrored else c for c in captions]
        codes = np.full(len(texts), MIRRORED if mirrored else 0, np.int64)
        if backwards:
            for i, text in enumerate(texts):
                turned = self._reverse[text]
                if turned is not None:
                    texts[i] = turned
                    codes[i] |= REVERSED
        return BatchVariant(mirrored, codes), texts

    @staticmethod
    def apply(pixels: np.ndarray, mask: np.ndarray, variant: BatchVariant) -> np.ndarray:
        """[B,T,S,S,3] pixels as the variant shows them; a clip's valid frames come first and are reversed."""
        out = pixels[:, :, :, ::-1] if variant.mirrored else pixels
        out = np.array(out)
        for i in np.flatnonzero(variant.reversed):
            n = int(mask[i].sum())
            out[i, :n] = out[i, :n][::-1]
        return out
